"""CIM objects: profile items kept as XML bytes, keyed by (noun, key), findable by name.

The store never parses the XML. The caller extracts the key (the mRID or, for an item without
one, a name key), the item's element name and its Names, and hands them over with the bytes.
"""
from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from .errors import DuplicateObject, UnknownObject
from .schema import OBJECT_STATUSES, cim_object, cim_object_name, require_aware

# (name, name_type); name_type None when the Name carries no NameType.
ObjectName = tuple[str, str | None]


@dataclass(frozen=True)
class StoredObject:
    noun: str
    key: str
    item_type: str
    xml: bytes
    version: int
    status: str
    created_at: datetime
    updated_at: datetime
    names: tuple[ObjectName, ...] = ()


def get_object(conn: Connection, noun: str, key: str) -> StoredObject | None:
    found = _load(conn, select(cim_object).where(cim_object.c.noun == noun, cim_object.c.key == key))
    return found[0] if found else None


def find_by_name(conn: Connection, noun: str, name: str, name_type: str | None) -> list[StoredObject]:
    """Objects of a noun carrying this name; any name type unless one is given."""
    matching_ids = select(cim_object_name.c.object_id).where(cim_object_name.c.name == name)
    if name_type is not None:
        matching_ids = matching_ids.where(cim_object_name.c.name_type == name_type)
    query = (select(cim_object).where(cim_object.c.noun == noun, cim_object.c.id.in_(matching_ids))
             .order_by(cim_object.c.key))
    return _load(conn, query)


def insert_object(conn: Connection, noun: str, key: str, item_type: str, xml: bytes,
                  names: Iterable[ObjectName], now: datetime) -> StoredObject:
    row = {"noun": noun, "key": key, "item_type": item_type, "xml": bytes(xml), "version": 1,
           "status": "active", "created_at": now, "updated_at": now}
    try:
        # A savepoint: one duplicate item must not abort the rest of a multi-item request.
        with conn.begin_nested():
            object_id = conn.execute(insert(cim_object).values(row)).inserted_primary_key[0]
            _replace_names(conn, object_id, names)
    except IntegrityError:
        if _object_id(conn, noun, key) is not None:
            raise DuplicateObject(noun, key) from None
        raise
    return _require(conn, noun, key)


def update_object(conn: Connection, noun: str, key: str, xml: bytes, names: Iterable[ObjectName] | None,
                  item_type: str | None, now: datetime) -> StoredObject:
    changes = {"xml": bytes(xml)}
    if item_type is not None:
        changes["item_type"] = item_type
    object_id = _bump(conn, noun, key, now, changes)
    if names is not None:
        _replace_names(conn, object_id, names)
    return _require(conn, noun, key)


def set_status(conn: Connection, noun: str, key: str, status: str, now: datetime) -> StoredObject:
    if status not in OBJECT_STATUSES:
        raise ValueError(f"status must be one of {OBJECT_STATUSES}, not {status!r}")
    _bump(conn, noun, key, now, {"status": status})
    return _require(conn, noun, key)


def delete_object(conn: Connection, noun: str, key: str) -> bool:
    # Names go with the object through ON DELETE CASCADE.
    result = conn.execute(delete(cim_object).where(cim_object.c.noun == noun, cim_object.c.key == key))
    return result.rowcount > 0


def list_objects(conn: Connection, noun: str, *, keys: Sequence[str] | None, since: datetime | None,
                 until: datetime | None, limit: int | None) -> list[StoredObject]:
    """Objects ordered by key; since <= updated_at < until when those bounds are given."""
    if keys is not None and len(keys) == 0:
        return []  # asked for no keys: not the same as not filtering by key
    query = select(cim_object).where(cim_object.c.noun == noun).order_by(cim_object.c.key)
    if keys is not None:
        query = query.where(cim_object.c.key.in_(list(keys)))
    if since is not None:
        query = query.where(cim_object.c.updated_at >= require_aware(since, "since"))
    if until is not None:
        query = query.where(cim_object.c.updated_at < require_aware(until, "until"))
    if limit is not None:
        query = query.limit(limit)
    return _load(conn, query)


def _bump(conn: Connection, noun: str, key: str, now: datetime, changes: dict) -> int:
    """Apply changes and raise the version in one statement, so concurrent changes never share one."""
    result = conn.execute(
        update(cim_object).where(cim_object.c.noun == noun, cim_object.c.key == key)
        .values(version=cim_object.c.version + 1, updated_at=now, **changes))
    if result.rowcount == 0:
        raise UnknownObject(noun, key)
    return _object_id(conn, noun, key)


def _replace_names(conn: Connection, object_id: int, names: Iterable[ObjectName]) -> None:
    conn.execute(delete(cim_object_name).where(cim_object_name.c.object_id == object_id))
    rows = [{"object_id": object_id, "name": name, "name_type": name_type}
            for name, name_type in dict.fromkeys(_checked_names(names))]
    if rows:
        conn.execute(insert(cim_object_name), rows)


def _checked_names(names: Iterable[ObjectName]) -> list[ObjectName]:
    checked = []
    for name, name_type in names:
        if not name:
            raise ValueError("an object name must be a non-empty string")
        checked.append((name, name_type or None))
    return checked


def _object_id(conn: Connection, noun: str, key: str) -> int | None:
    query = select(cim_object.c.id).where(cim_object.c.noun == noun, cim_object.c.key == key)
    return conn.execute(query).scalar()


def _require(conn: Connection, noun: str, key: str) -> StoredObject:
    stored = get_object(conn, noun, key)
    if stored is None:
        raise UnknownObject(noun, key)
    return stored


def _load(conn: Connection, query) -> list[StoredObject]:
    rows = [row._mapping for row in conn.execute(query)]
    names = _names_of(conn, [row["id"] for row in rows])
    return [_stored(row, names.get(row["id"], ())) for row in rows]


def _names_of(conn: Connection, object_ids: list[int]) -> dict[int, tuple[ObjectName, ...]]:
    """The names of many objects in one query, not one query per object."""
    if not object_ids:
        return {}
    query = (select(cim_object_name.c.object_id, cim_object_name.c.name, cim_object_name.c.name_type)
             .where(cim_object_name.c.object_id.in_(object_ids)).order_by(cim_object_name.c.id))
    names: dict[int, list[ObjectName]] = {}
    for object_id, name, name_type in conn.execute(query):
        names.setdefault(object_id, []).append((name, name_type))
    return {object_id: tuple(found) for object_id, found in names.items()}


def _stored(row, names: tuple[ObjectName, ...]) -> StoredObject:
    return StoredObject(
        noun=row["noun"], key=row["key"], item_type=row["item_type"], xml=bytes(row["xml"]),
        version=row["version"], status=row["status"], created_at=row["created_at"],
        updated_at=row["updated_at"], names=names)
