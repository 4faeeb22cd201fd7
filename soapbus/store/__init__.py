"""Persistence for soapbus: message journal, idempotency claims, CIM objects, replay memory,
the transactional outbox (guaranteed delivery), event subscriptions and request routes.

SQLAlchemy Core over SQLite (the default) or PostgreSQL, the same code for both. Synchronous
and thread-safe: share one Store per process, open one unit of work per request.
"""
from .availability import Availability
from .errors import (DuplicateObject, DuplicateRoute, DuplicateSubscription, StoreError, StoreUnavailable,
                     UnknownClaim, UnknownObject)
from .inspection import JournalQuery
from .journal import JOURNAL_KINDS, JournalEntry
from .migrations import SchemaNotCurrent, SchemaState, Standing, Upgrade, UpgradeRefused
from .objects import ObjectName, StoredObject
from .outbox import OutboxItem, Settlement
from .routing import Route, Subscription
from .schema import DELIVERY_STYLES, DIRECTIONS, OBJECT_STATUSES, OUTBOX_KINDS, OUTBOX_STATUSES, metadata
from .store import Clock, Store, UnitOfWork, utc_now

__all__ = [
    "Store", "UnitOfWork", "Clock", "utc_now", "JournalEntry", "JournalQuery", "StoredObject", "ObjectName",
    "OutboxItem", "Settlement", "Subscription", "Route",
    "Availability", "StoreError", "StoreUnavailable", "DuplicateObject", "UnknownObject", "UnknownClaim",
    "DuplicateSubscription", "DuplicateRoute",
    "SchemaNotCurrent", "SchemaState", "Standing", "Upgrade", "UpgradeRefused",
    "JOURNAL_KINDS", "DIRECTIONS", "OBJECT_STATUSES", "OUTBOX_KINDS", "OUTBOX_STATUSES", "DELIVERY_STYLES",
    "metadata",
]
