"""Storage layer: typed SQLAlchemy schema, packaged Alembic migrations and fast
repositories for bars, reference data, imports and run outputs, on an embedded SQLite
file or PostgreSQL (``open_store``)."""

from alphapulse.store.imports import ImportSummary
from alphapulse.store.store import Store, open_store

__all__ = ["ImportSummary", "Store", "open_store"]
