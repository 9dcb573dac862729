"""Comptoir: a multi-tenant retrieval-augmented chat server for businesses."""

__version__ = "0.1.0"
