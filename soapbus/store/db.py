"""Engine construction: one Engine per Store, tuned for SQLite or PostgreSQL.

SQLite needs three things to behave like a server database under several worker threads:
WAL (readers never block the writer), a busy timeout (writers queue instead of failing), and
foreign keys switched on per connection. It also needs SQLAlchemy, not the sqlite3 driver, to
emit BEGIN: the driver's legacy mode skips BEGIN before SELECT and SAVEPOINT, which breaks
savepoints inside a transaction. A unit of work begins with BEGIN IMMEDIATE, taking the write
lock up front: a deferred transaction that reads and then writes fails at once with "database
is locked" when another writer got in between, whereas an immediate one waits its turn.
"""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import URL, make_url

# Connection execution option: the transaction about to begin will write.
WRITE_OPTION = "soapbus_store_write"

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def make_store_engine(url: str, *, schema: str | None, busy_timeout: float) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is a PostgreSQL option; SQLite stores are isolated by their file")
        return _sqlite_engine(parsed, busy_timeout)
    if backend == "postgresql":
        return _postgresql_engine(parsed, schema)
    raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")


def check_schema_name(schema: str) -> str:
    # The name ends up in CREATE/DROP SCHEMA, so only plain identifiers are accepted.
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema must be a plain SQL identifier of at most 63 characters: {schema!r}")
    return schema


def _postgresql_engine(url: URL, schema: str | None) -> Engine:
    # pre_ping: a worker that outlives a database restart gets a fresh connection, not an error.
    engine = create_engine(url, pool_pre_ping=True)
    if schema is not None:
        engine = engine.execution_options(schema_translate_map={None: check_schema_name(schema)})
    return engine


def _sqlite_engine(url: URL, busy_timeout: float) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        # Each pooled connection would see its own empty database: nothing is shared between threads.
        raise ValueError("an in-memory SQLite database cannot be shared between threads; give a file path")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout})
    _install_sqlite_hooks(engine, busy_timeout_ms=int(busy_timeout * 1000))
    return engine


def _install_sqlite_hooks(engine: Engine, *, busy_timeout_ms: int) -> None:
    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, see _begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        writes = connection.get_execution_options().get(WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")
