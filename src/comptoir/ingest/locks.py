"""The company's write lock, shared by every writer of its documents and what is derived from them."""

# Writes of one company are serialised: the check-then-replace of a document stays race-free, and the
# term statistics of concurrent ingestions never deadlock on each other.
LOCK_COMPANY = "SELECT pg_advisory_xact_lock(hashtextextended('comptoir.documents:' || %s, 0))"
