"""Engine construction: one Engine per Store, tuned for SQLite or PostgreSQL.

SQLite needs three things to behave like a server database under several worker threads:
WAL (readers never block the writer), a busy timeout (writers queue instead of failing), and
foreign keys switched on per connection. It also needs SQLAlchemy, not the sqlite3 driver, to
emit BEGIN: the driver's legacy mode skips BEGIN before SELECT and SAVEPOINT, which breaks
savepoints inside a transaction. A unit of work begins with BEGIN IMMEDIATE, taking the write
lock up front: a deferred transaction that reads and then writes fails at once with "database
is locked" when another writer got in between, whereas an immediate one waits its turn.

Durability on SQLite: connections run WAL with synchronous=NORMAL unless the Store is opened
with durable_fsync=True (synchronous=FULL). Under WAL + NORMAL a commit appends to the WAL file
without waiting for an fsync; the WAL is synced at checkpoints. The database never corrupts in
either mode, and a committed transaction survives a crash of the process (the WAL is in the
operating system's page cache, which outlives the process). Only an operating-system crash or a
power loss can lose the transactions committed since the last checkpoint, and then they vanish
whole, never in part. FULL fsyncs the WAL on every commit, which closes that window at the cost
of one fsync per unit of work (most of the commit time on ordinary disks). Choose FULL when a
reply, once sent, must survive a power cut on the same machine. PostgreSQL ignores the option:
its commits are durable as the server is configured (synchronous_commit).
"""
from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL, make_url
from sqlalchemy.sql import Insert

from .availability import unavailable_reason
from .errors import StoreUnavailable

try:
    import fcntl
except ImportError:  # not POSIX: writers of different processes are ordered by SQLite's busy timeout alone
    fcntl = None

# Connection execution option: the transaction about to begin will write.
WRITE_OPTION = "soapbus_store_write"
# Connection execution option: the connection runs single statements, each its own transaction.
SINGLE_STATEMENT_OPTION = "soapbus_store_single_statement"

# Seconds a PostgreSQL connection attempt may take (unless the URL sets connect_timeout): an
# unreachable host must cost a worker thread seconds, not the operating system's TCP timeout.
PG_CONNECT_TIMEOUT = 10

# INSERT ... ON CONFLICT (claims, objects, replay memory) arrived in SQLite 3.24 (2018).
MIN_SQLITE_VERSION = (3, 24, 0)

_SCHEMA_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def make_store_engine(url: str, *, schema: str | None, busy_timeout: float,
                      durable_fsync: bool = False) -> Engine:
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        if schema is not None:
            raise ValueError("schema is a PostgreSQL option; SQLite stores are isolated by their file")
        engine = _sqlite_engine(parsed, busy_timeout, durable_fsync)
    elif backend == "postgresql":
        engine = _postgresql_engine(parsed, schema)
    else:
        raise ValueError(f"unsupported database {backend!r}: use sqlite:/// or postgresql+psycopg://")
    _raise_unavailable_as_such(engine)
    return engine


def _raise_unavailable_as_such(engine: Engine) -> None:
    """Errors that mean the database cannot serve now surface as StoreUnavailable, wherever
    they happen: in the store's own statements and in a handler's work inside a unit of work,
    so that no layer mistakes an outage for a bug of its own (see soapbus.store.availability)."""

    @event.listens_for(engine, "handle_error")
    def _translate(context) -> StoreUnavailable | None:
        if context.is_pre_ping:
            return None  # the pool answers a failed ping by connecting afresh
        reason = unavailable_reason(context.original_exception, disconnect=context.is_disconnect)
        return StoreUnavailable(reason) if reason is not None else None


def per_dialect(build: Callable[[Callable[..., Insert]], Insert]) -> dict[str, Insert]:
    """One statement per supported dialect, built once, from that dialect's insert() (the one
    that knows ON CONFLICT); look it up with connection.dialect.name when executing.

    The result's rowcount tells whether a row went in: SQLAlchemy keeps an INSERT's rowcount
    only when asked (preserve_rowcount), as PostgreSQL's INSERT also returns the new id."""
    return {name: build(insert).execution_options(preserve_rowcount=True)
            for name, insert in (("sqlite", sqlite.insert), ("postgresql", postgresql.insert))}


def single_statement_engine(engine: Engine) -> Engine:
    """The engine for reads that are one statement each: no BEGIN/ROLLBACK around them.

    One SELECT is atomic and sees one snapshot on its own, so wrapping it in a transaction only
    costs round trips. PostgreSQL runs it in autocommit; on SQLite the begin hook below emits no
    BEGIN (the driver, with isolation_level None, then leaves the statement to SQLite's own
    autocommit). Not for several statements that must see the same data.
    """
    if engine.dialect.name == "sqlite":
        return engine.execution_options(**{SINGLE_STATEMENT_OPTION: True})
    return engine.execution_options(isolation_level="AUTOCOMMIT")


def check_schema_name(schema: str) -> str:
    # The name ends up in CREATE/DROP SCHEMA, so only plain identifiers are accepted.
    if not _SCHEMA_NAME.match(schema):
        raise ValueError(f"schema must be a plain SQL identifier of at most 63 characters: {schema!r}")
    return schema


def _postgresql_engine(url: URL, schema: str | None) -> Engine:
    # pre_ping: a worker that outlives a database restart gets a fresh connection, not an error.
    connect_args = {} if "connect_timeout" in url.query else {"connect_timeout": PG_CONNECT_TIMEOUT}
    engine = create_engine(url, pool_pre_ping=True, connect_args=connect_args)
    if schema is not None:
        engine = engine.execution_options(schema_translate_map={None: check_schema_name(schema)})
    return engine


def _sqlite_engine(url: URL, busy_timeout: float, durable_fsync: bool) -> Engine:
    database = url.database or ""
    if database in ("", ":memory:") or database.startswith("file::memory:"):
        # Each pooled connection would see its own empty database: nothing is shared between threads.
        raise ValueError("an in-memory SQLite database cannot be shared between threads; give a file path")
    Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": busy_timeout})
    version = getattr(engine.dialect.loaded_dbapi, "sqlite_version_info", None)
    if version is not None and version < MIN_SQLITE_VERSION:
        needed, found = ('.'.join(map(str, v)) for v in (MIN_SQLITE_VERSION, version))
        raise ValueError(f"SQLite {needed} or newer is needed (INSERT ... ON CONFLICT); "
                         f"this Python's sqlite3 module uses {found}")
    _install_sqlite_hooks(engine, busy_timeout_ms=int(busy_timeout * 1000),
                          synchronous="FULL" if durable_fsync else "NORMAL")
    return engine


def _install_sqlite_hooks(engine: Engine, *, busy_timeout_ms: int, synchronous: str) -> None:
    @event.listens_for(engine, "connect")
    def _configure_connection(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # SQLAlchemy emits BEGIN itself, see _begin
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA journal_mode=WAL")
            # Safe only together with WAL; see the module docstring for what NORMAL gives up.
            cursor.execute(f"PRAGMA synchronous={synchronous}")
            cursor.execute(f"PRAGMA busy_timeout={busy_timeout_ms}")
            cursor.execute("PRAGMA foreign_keys=ON")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(connection) -> None:
        options = connection.get_execution_options()
        if options.get(SINGLE_STATEMENT_OPTION, False):
            return
        connection.exec_driver_sql("BEGIN IMMEDIATE" if options.get(WRITE_OPTION, False) else "BEGIN")


class WriterTurns:
    """SQLite: writers take turns on a lock that wakes the next one as soon as the last commits.

    SQLite admits one write transaction at a time and makes the others wait in its busy
    handler, which polls by sleeping (1, 2, 5, 10 ... 100 ms): with a request's transaction
    lasting about a millisecond, eight waiting threads spend most of their time asleep while
    the lock is free, and the server does not use its core. So every write unit of work of a
    Store on SQLite first takes its turn: a thread lock between the threads of this process,
    then an exclusive `flock` on `<database file>-writers` between processes (the workers of
    `serve --workers`, the command line's own stores). Both wake a waiter at once. BEGIN
    IMMEDIATE then finds the database free unless a writer outside soapbus holds it, which the
    busy timeout still covers. Where the lock file cannot be made (a read-only folder, no
    fcntl), the threads still take turns and processes fall back on the busy timeout.

    A turn not had within the busy timeout (a writer that never finishes) raises
    StoreUnavailable, as SQLite's "database is locked" past it did: the request is answered 5.2.
    Between processes the flock is tried without blocking and then every `PROCESS_POLL` at most
    (a blocking flock cannot time out in a thread); only the workers of one machine meet there,
    each already first in its own process's line.
    """

    PROCESS_POLL = (0.0002, 0.002)  # seconds: first and longest wait between two tries of the flock

    def __init__(self, lock_path: Path | None, timeout: float = 30.0):
        self._threads = threading.Lock()
        self._path = lock_path
        self._timeout = timeout
        self._fd: int | None = None
        self._fd_pid: int | None = None  # a descriptor inherited across fork is not this process's lock

    @contextmanager
    def turn(self) -> Iterator[None]:
        if not self._threads.acquire(timeout=self._timeout):
            raise StoreUnavailable(f"SQLite: no write turn within {self._timeout:g} s (another writer of this "
                                   "process holds it)")
        try:
            fd = self._lock_file()
            if fd is None:
                yield
                return
            self._flock(fd)
            try:
                yield
            finally:
                fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            self._threads.release()

    def _flock(self, fd: int) -> None:
        deadline = time.monotonic() + self._timeout
        wait, longest = self.PROCESS_POLL
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise StoreUnavailable(f"SQLite: no write turn within {self._timeout:g} s (another soapbus "
                                           "process holds it)") from None
                time.sleep(wait)
                wait = min(wait * 2, longest)

    def _lock_file(self) -> int | None:
        if self._path is None or fcntl is None:
            return None
        if self._fd is None or self._fd_pid != os.getpid():
            try:
                self._fd = os.open(self._path, os.O_RDWR | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o600)
            except OSError:
                self._path = None  # say nothing each time: the busy timeout still orders processes
                return None
            self._fd_pid = os.getpid()
        return self._fd

    def close(self) -> None:
        if self._fd is not None and self._fd_pid == os.getpid():
            os.close(self._fd)
        self._fd = None


def writer_turns(engine: Engine, busy_timeout: float) -> WriterTurns | None:
    """The turns a Store's write units take: on SQLite (see WriterTurns); None on PostgreSQL,
    whose writers wait on the rows they touch and are woken by the server."""
    if engine.dialect.name != "sqlite":
        return None
    database = engine.url.database or ""
    return WriterTurns(Path(f"{Path(database).expanduser()}-writers") if database else None, busy_timeout)


class DriverStatement:
    """A Core statement run on the connection's DBAPI cursor, compiled once per dialect and schema.

    For the statements every request runs (the claim, the journal rows, the kept reply):
    SQLAlchemy's `Connection.execute` spends about 20 µs per statement on the compiled-cache
    look-up, events and result objects, against 2 µs for the cursor itself. The SQL, the
    parameters' order and the bind processors (UTC datetimes on SQLite, binaries) are SQLAlchemy's
    own, compiled as its execute would for the same parameter names, so the database receives
    the same statement and values; it runs in the unit of work's transaction like any other.
    A driver error goes through SQLAlchemy's error handling as in its execute.

    `by_dialect`: the statement per dialect name (an INSERT ... RETURNING where PostgreSQL should
    hand back the new id, the plain one on SQLite, whose cursor has lastrowid).
    """

    def __init__(self, by_dialect: dict):
        self._by_dialect = by_dialect
        self._compiled: dict[tuple, tuple] = {}

    def run(self, conn, params: dict):
        """Execute with `params` (the names the statement binds); returns the DBAPI cursor."""
        compiled, names, processors = self._compile(conn, params)
        parameters = _driver_parameters(compiled, names, processors, params)
        return self._on_cursor(conn, compiled.string, parameters, lambda cursor: cursor.execute(compiled.string,
                                                                                                 parameters))

    def run_many(self, conn, rows: list[dict]) -> None:
        """Execute once per row (the cursor's executemany); every row binds the same names."""
        compiled, names, processors = self._compile(conn, rows[0])
        parameters = [_driver_parameters(compiled, names, processors, row) for row in rows]
        self._on_cursor(conn, compiled.string, parameters, lambda cursor: cursor.executemany(compiled.string,
                                                                                              parameters))

    @staticmethod
    def _on_cursor(conn, sql: str, parameters, execute):
        cursor = conn.connection.driver_connection.cursor()
        try:
            execute(cursor)
        except conn.dialect.loaded_dbapi.Error as exc:
            # SQLAlchemy's own handling, as for its execute: its exception classes (IntegrityError ...),
            # the engine's handle_error hook (an outage becomes StoreUnavailable), a lost connection invalidated.
            conn._handle_dbapi_exception(exc, sql, parameters, cursor, None)
            raise
        return cursor

    def _compile(self, conn, params: dict) -> tuple:
        dialect = conn.dialect
        translate = conn.get_execution_options().get("schema_translate_map")
        key = (dialect.name, tuple(params), tuple(sorted(translate.items(), key=str)) if translate else None)
        found = self._compiled.get(key)
        if found is None:
            statement = self._by_dialect[dialect.name]
            compiled = statement.compile(dialect=dialect, column_keys=list(params),
                                         schema_translate_map=translate, render_schema_translate=bool(translate))
            names = tuple(compiled.positiontup) if dialect.paramstyle in ("qmark", "numeric") else None
            processors = tuple((name, process) for name, process in compiled._bind_processors.items()
                               if process is not None)
            found = self._compiled[key] = (compiled, names, processors)
        return found


def _driver_parameters(compiled, names, processors, params: dict):
    values = compiled.construct_params(params)
    for name, process in processors:
        values[name] = process(values[name])
    return values if names is None else tuple(values[name] for name in names)


@contextmanager
def plain_savepoint(conn, name: str) -> Iterator[None]:
    """SAVEPOINT `name` around the block: released on a clean exit, rolled back to (and released)
    when an exception escapes, which is raised again.

    The statements are sent as they are rather than through SQLAlchemy's nested Transaction
    objects: every request's handler runs in one, and SQLAlchemy's bookkeeping cost several
    times the statements themselves."""
    conn.exec_driver_sql(f"SAVEPOINT {name}")
    try:
        yield
    except BaseException:
        try:
            conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {name}")
            conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
        except Exception:  # noqa: BLE001 - the connection is gone: the unit of work rolls back whole
            pass
        raise
    conn.exec_driver_sql(f"RELEASE SAVEPOINT {name}")
