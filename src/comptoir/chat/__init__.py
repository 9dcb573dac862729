"""Chat: grounded answers through named, timed stages (see ``pipeline``)."""
