"""CIM objects: profile items kept as XML bytes, keyed by (noun, key), findable by name.

The store never parses the XML. The caller extracts the key (the mRID or, for an item without
one, a name key), the item's element name and its Names, and hands them over with the bytes.

Every statement is built once, below, and executed with a parameter dict. A single object is
read together with its names in one query (a LEFT JOIN, one row per name: objects carry few
names); a list reads the names of all its objects in a second query, so that LIMIT counts
objects, not names. Writes hand back
what they wrote without reading it again: an insert knows every value, an update takes the row
from UPDATE ... RETURNING (SQLite 3.35+, PostgreSQL; a plain read after the UPDATE otherwise).
"""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache

from sqlalchemy import Connection, Integer, and_, bindparam, delete, insert, or_, select, update

from .db import DriverStatement, per_dialect
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


_KEY = (cim_object.c.noun == bindparam("k_noun"), cim_object.c.key == bindparam("k_key"))

# A duplicate (noun, key) inserts nothing instead of raising: no savepoint is needed to keep the
# caller's transaction usable (one duplicate item must not abort a multi-item request).
_INSERT = per_dialect(lambda insert: insert(cim_object).on_conflict_do_nothing(
    index_elements=[cim_object.c.noun, cim_object.c.key]))
_INSERT_NAMES = insert(cim_object_name)
# Run for every object a create stores (a MeterReadings create stores each reading value as one):
# on the DBAPI cursor (see DriverStatement). On PostgreSQL RETURNING hands back the new id, and no
# row when the key existed; SQLite's cursor has lastrowid and rowcount.
_INSERT_RUN = DriverStatement({"sqlite": _INSERT["sqlite"],
                               "postgresql": _INSERT["postgresql"].returning(cim_object.c.id)})
_INSERT_NAMES_RUN = DriverStatement({"sqlite": _INSERT_NAMES, "postgresql": _INSERT_NAMES})
_DELETE_NAMES = delete(cim_object_name).where(cim_object_name.c.object_id == bindparam("object_id"))
_NAMES = (select(cim_object_name.c.name, cim_object_name.c.name_type)
          .where(cim_object_name.c.object_id == bindparam("object_id")).order_by(cim_object_name.c.id))
_NAMES_OF_MANY = (select(cim_object_name.c.object_id, cim_object_name.c.name, cim_object_name.c.name_type)
                  .where(cim_object_name.c.object_id.in_(bindparam("object_ids", expanding=True)))
                  .order_by(cim_object_name.c.id))
_WITH_NAMES = (select(cim_object, cim_object_name.c.name.label("name_"),
                      cim_object_name.c.name_type.label("name_type_"))
               .select_from(cim_object.outerjoin(cim_object_name, cim_object_name.c.object_id == cim_object.c.id))
               .where(*_KEY).order_by(cim_object_name.c.id))
_BY_NAME = (select(cim_object).where(cim_object.c.noun == bindparam("noun"), cim_object.c.id.in_(
    select(cim_object_name.c.object_id).where(cim_object_name.c.name == bindparam("name")))).order_by(cim_object.c.key))
_BY_NAME_AND_TYPE = (select(cim_object).where(cim_object.c.noun == bindparam("noun"), cim_object.c.id.in_(
    select(cim_object_name.c.object_id).where(cim_object_name.c.name == bindparam("name"),
                                              cim_object_name.c.name_type == bindparam("name_type"))))
                     .order_by(cim_object.c.key))
_DELETE = delete(cim_object).where(*_KEY)
_ID = select(cim_object.c.id).where(*_KEY)
_ROW = select(cim_object).where(*_KEY)
# The SET clause is completed by the parameters (xml, item_type, status, updated_at).
_BUMP = update(cim_object).where(*_KEY).values(version=cim_object.c.version + 1)
_BUMP_RETURNING = _BUMP.returning(*cim_object.c)


def get_object(conn: Connection, noun: str, key: str) -> StoredObject | None:
    rows = conn.execute(_WITH_NAMES, {"k_noun": noun, "k_key": key}).all()
    if not rows:
        return None
    names = tuple((row.name_, row.name_type_) for row in rows if row.name_ is not None)
    return _stored(rows[0], names)


def find_by_name(conn: Connection, noun: str, name: str, name_type: str | None) -> list[StoredObject]:
    """Objects of a noun carrying this name; any name type unless one is given."""
    if name_type is None:
        return _load(conn, _BY_NAME, {"noun": noun, "name": name})
    return _load(conn, _BY_NAME_AND_TYPE, {"noun": noun, "name": name, "name_type": name_type})


def insert_object(conn: Connection, noun: str, key: str, item_type: str, xml: bytes,
                  names: Iterable[ObjectName], now: datetime) -> StoredObject:
    try:
        names = _unique_names(names)
    except ValueError:
        # A duplicate is reported before bad names, as when the insert came first.
        if _object_id(conn, noun, key) is not None:
            raise DuplicateObject(noun, key) from None
        raise
    row = {"noun": noun, "key": key, "item_type": item_type, "xml": bytes(xml), "version": 1,
           "status": "active", "created_at": now, "updated_at": now}
    cursor = _INSERT_RUN.run(conn, row)
    if conn.dialect.name == "sqlite":
        object_id = cursor.lastrowid if cursor.rowcount == 1 else None
    else:
        inserted = cursor.fetchone()
        object_id = inserted[0] if inserted is not None else None
    if object_id is None:
        raise DuplicateObject(noun, key)
    _insert_names(conn, object_id, names)
    # What was written, as a read would return it: timestamps come back in UTC.
    stamped = require_aware(now, "a stored datetime").astimezone(timezone.utc)
    return StoredObject(noun=str(noun), key=str(key), item_type=str(item_type), xml=row["xml"], version=1,
                        status="active", created_at=stamped, updated_at=stamped, names=names)


def update_object(conn: Connection, noun: str, key: str, xml: bytes, names: Iterable[ObjectName] | None,
                  item_type: str | None, now: datetime) -> StoredObject:
    changes = {"xml": bytes(xml)}
    if item_type is not None:
        changes["item_type"] = item_type
    if names is None:
        return _bump(conn, noun, key, now, changes)
    try:
        names = _unique_names(names)
    except ValueError:
        if _object_id(conn, noun, key) is None:  # an unknown object is reported before bad names
            raise UnknownObject(noun, key) from None
        raise
    row = _bump_row(conn, noun, key, now, changes)
    conn.execute(_DELETE_NAMES, {"object_id": row.id})
    _insert_names(conn, row.id, names)
    return _stored(row, names)


def set_status(conn: Connection, noun: str, key: str, status: str, now: datetime) -> StoredObject:
    if status not in OBJECT_STATUSES:
        raise ValueError(f"status must be one of {OBJECT_STATUSES}, not {status!r}")
    return _bump(conn, noun, key, now, {"status": status})


def delete_object(conn: Connection, noun: str, key: str) -> bool:
    # Names go with the object through ON DELETE CASCADE.
    return conn.execute(_DELETE, {"k_noun": noun, "k_key": key}).rowcount > 0


def list_objects(conn: Connection, noun: str, *, keys: Sequence[str] | None, since: datetime | None,
                 until: datetime | None, limit: int | None) -> list[StoredObject]:
    """Objects ordered by key; since <= updated_at < until when those bounds are given."""
    if keys is not None and len(keys) == 0:
        return []  # asked for no keys: not the same as not filtering by key
    params = {"noun": noun, "keys": None if keys is None else list(keys), "limit": limit,
              "since": None if since is None else require_aware(since, "since"),
              "until": None if until is None else require_aware(until, "until")}
    query = _list_query(*(params[name] is not None for name in ("keys", "since", "until", "limit")))
    return _load(conn, query, params)


def iter_objects(conn: Connection, noun: str, names: Sequence[ObjectName] | None, batch: int) -> Iterator[StoredObject]:
    """Objects of a noun, each once, in key order, with their names: those carrying any of `names`
    ((name, name type) pairs; a type of None matches any type), or all when `names` is None.

    One query, its rows streamed (a server-side cursor on PostgreSQL; SQLite's cursor steps
    through the result as it is read) and taken `batch` at a time, their names read per batch:
    a caller may go through more objects than it could hold. Read it to the end, or drop it,
    inside the unit of work that made it."""
    # (options of this statement only: Connection.execution_options would set them for the connection)
    result = conn.execute(_iter_query(names), {"noun": noun},
                          execution_options={"stream_results": True, "max_row_buffer": batch})
    try:
        for rows in result.partitions(batch):
            found = _names_of(conn, [row.id for row in rows])
            for row in rows:
                yield _stored(row, found.get(row.id, ()))
    finally:
        result.close()


def _iter_query(names: Sequence[ObjectName] | None):
    query = select(cim_object).where(cim_object.c.noun == bindparam("noun"))
    if names is not None:
        by_type: dict[str | None, list[str]] = {}
        for name, name_type in names:
            by_type.setdefault(name_type, []).append(name)
        carrying = or_(*(cim_object_name.c.name.in_(group) if name_type is None
                         else and_(cim_object_name.c.name_type == name_type, cim_object_name.c.name.in_(group))
                         for name_type, group in by_type.items()))
        query = query.where(cim_object.c.id.in_(select(cim_object_name.c.object_id).where(carrying)))
    return query.order_by(cim_object.c.key)


@lru_cache(maxsize=None)
def _list_query(by_keys: bool, since: bool, until: bool, limited: bool):
    """One prebuilt query per combination of filters (16 at most)."""
    query = select(cim_object).where(cim_object.c.noun == bindparam("noun")).order_by(cim_object.c.key)
    if by_keys:
        query = query.where(cim_object.c.key.in_(bindparam("keys", expanding=True)))
    if since:
        query = query.where(cim_object.c.updated_at >= bindparam("since"))
    if until:
        query = query.where(cim_object.c.updated_at < bindparam("until"))
    if limited:
        query = query.limit(bindparam("limit", type_=Integer))
    return query


def _bump(conn: Connection, noun: str, key: str, now: datetime, changes: dict) -> StoredObject:
    row = _bump_row(conn, noun, key, now, changes)
    return _stored(row, _names_of_one(conn, row.id))


def _bump_row(conn: Connection, noun: str, key: str, now: datetime, changes: dict):
    """Apply changes and raise the version in one statement, so concurrent changes never share
    one; returns the changed row."""
    params = {"k_noun": noun, "k_key": key, "updated_at": now, **changes}
    if conn.dialect.update_returning:
        row = conn.execute(_BUMP_RETURNING, params).first()
    else:
        row = conn.execute(_BUMP, params).rowcount and _row(conn, noun, key)
    if not row:
        raise UnknownObject(noun, key)
    return row


def _row(conn: Connection, noun: str, key: str):
    return conn.execute(_ROW, {"k_noun": noun, "k_key": key}).first()


def _insert_names(conn: Connection, object_id: int, names: tuple[ObjectName, ...]) -> None:
    if names:
        _INSERT_NAMES_RUN.run_many(conn, [{"object_id": object_id, "name": name, "name_type": name_type}
                                          for name, name_type in names])


def _unique_names(names: Iterable[ObjectName]) -> tuple[ObjectName, ...]:
    """The names as stored and read back: checked, NameType '' as None, repeats dropped."""
    checked = []
    for name, name_type in names:
        if not name:
            raise ValueError("an object name must be a non-empty string")
        checked.append((str(name), str(name_type) if name_type else None))  # plain str, as read back
    return tuple(dict.fromkeys(checked))


def _object_id(conn: Connection, noun: str, key: str) -> int | None:
    return conn.execute(_ID, {"k_noun": noun, "k_key": key}).scalar()


def _load(conn: Connection, query, params: dict | None = None) -> list[StoredObject]:
    rows = conn.execute(query, params).all()
    names = _names_of(conn, [row.id for row in rows])
    return [_stored(row, names.get(row.id, ())) for row in rows]


def _names_of_one(conn: Connection, object_id: int) -> tuple[ObjectName, ...]:
    return tuple(tuple(row) for row in conn.execute(_NAMES, {"object_id": object_id}))


def _names_of(conn: Connection, object_ids: list[int]) -> dict[int, tuple[ObjectName, ...]]:
    """The names of many objects in one query, not one query per object."""
    if not object_ids:
        return {}
    names: dict[int, list[ObjectName]] = {}
    for object_id, name, name_type in conn.execute(_NAMES_OF_MANY, {"object_ids": object_ids}):
        names.setdefault(object_id, []).append((name, name_type))
    return {object_id: tuple(found) for object_id, found in names.items()}


def _stored(row, names: tuple[ObjectName, ...]) -> StoredObject:
    return StoredObject(
        noun=row.noun, key=row.key, item_type=row.item_type, xml=bytes(row.xml), version=row.version,
        status=row.status, created_at=row.created_at, updated_at=row.updated_at, names=names)
