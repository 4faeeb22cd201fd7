"""Persistence for soapbus: message journal, idempotency claims, CIM objects, replay memory.

SQLAlchemy Core over SQLite (the default) or PostgreSQL, the same code for both. Synchronous
and thread-safe: share one Store per process, open one unit of work per request.
"""
from .errors import DuplicateObject, StoreError, UnknownClaim, UnknownObject
from .journal import JOURNAL_KINDS, JournalEntry
from .objects import ObjectName, StoredObject
from .schema import DIRECTIONS, OBJECT_STATUSES, metadata
from .store import Clock, Store, UnitOfWork, utc_now

__all__ = [
    "Store", "UnitOfWork", "Clock", "utc_now", "JournalEntry", "StoredObject", "ObjectName",
    "StoreError", "DuplicateObject", "UnknownObject", "UnknownClaim",
    "JOURNAL_KINDS", "DIRECTIONS", "OBJECT_STATUSES", "metadata",
]
