"""Background ingestion jobs: stored in PostgreSQL, run by workers in `serve` or `comptoir worker`."""
