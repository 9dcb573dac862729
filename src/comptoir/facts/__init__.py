"""Company facts: offers, delivery zones, contacts, hours and payment methods learned from documents."""
