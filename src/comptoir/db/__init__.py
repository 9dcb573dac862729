"""Database: the embedded server, migrations, the pool and tenant-scoped transactions."""
