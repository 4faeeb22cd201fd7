"""Fixtures for the store tests: every test runs on SQLite, and on PostgreSQL when it is configured.

Import the fixtures you use (and `pg_schema_prefix`, which the PostgreSQL param needs) into the
test module. PostgreSQL tests each get their own schema, named under a prefix unique to this
test session; each is dropped after its test and any left over are dropped at session end.
"""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from itertools import count

import pytest
from sqlalchemy import create_engine, text

from soapbus.store import Store, utc_now

PG_URL_VAR = "SOAPBUS_TEST_PG_URL"
IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

_schema_numbers = count(1)


@dataclass(frozen=True)
class StoreTarget:
    """One database to open Stores on: two Stores on the same target share their data."""
    url: str
    schema: str | None = None


class ManualClock:
    """A clock that moves only when told to, for tests about timestamps and expiry."""

    def __init__(self, start: datetime = datetime(2024, 3, 1, 12, 0, tzinfo=timezone.utc)):
        self.current = start

    def __call__(self) -> datetime:
        return self.current

    def advance(self, **delta) -> datetime:
        self.current += timedelta(**delta)
        return self.current


def pg_url_or_skip() -> str:
    url = os.environ.get(PG_URL_VAR)
    if url:
        return url
    reason = f"PostgreSQL tests need {PG_URL_VAR} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test)"
    if IN_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def pg_schema_prefix() -> Iterator[str]:
    prefix = f"soapbus_test_{uuid.uuid4().hex[:12]}"
    yield prefix
    url = os.environ.get(PG_URL_VAR)
    if url:
        _drop_schemas_starting_with(url, prefix)


def _drop_schemas_starting_with(url: str, prefix: str) -> None:
    """Sweep up the schemas of tests that died before their own teardown."""
    engine = create_engine(url)
    try:
        with engine.begin() as conn:
            names = conn.execute(text("SELECT nspname FROM pg_namespace WHERE starts_with(nspname, :prefix)"),
                                 {"prefix": prefix}).scalars().all()
            for name in names:
                conn.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
    finally:
        engine.dispose()


@pytest.fixture(params=["sqlite", "pg"])
def store_target(request, tmp_path) -> StoreTarget:
    if request.param == "sqlite":
        return StoreTarget(url=f"sqlite:///{tmp_path / 'var' / 'soapbus.db'}")
    url = pg_url_or_skip()
    prefix = request.getfixturevalue("pg_schema_prefix")
    return StoreTarget(url=url, schema=f"{prefix}_{next(_schema_numbers)}")


@pytest.fixture
def open_store(store_target) -> Iterator[Callable[..., Store]]:
    """Open Stores on this test's database (schema created); all are closed, and the data dropped, after."""
    opened: list[Store] = []

    def _open(clock=utc_now, **options) -> Store:
        store = Store(store_target.url, schema=store_target.schema, clock=clock, **options)
        opened.append(store)
        store.create_schema()
        return store

    yield _open
    for store in opened:
        store.close()
    _drop_target(store_target)


def _drop_target(target: StoreTarget) -> None:
    if target.schema is not None:
        with Store(target.url, schema=target.schema) as store:
            store.drop_schema()


@pytest.fixture
def store(open_store) -> Store:
    return open_store()


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def clocked_store(open_store, clock) -> Store:
    return open_store(clock=clock)


def run_in_threads(targets: list[Callable[[], object]], timeout: float = 60.0) -> list[object]:
    """Run each callable in its own thread, all released at once; return their results in order.

    An exception in any thread is raised again here, so a failing worker fails the test.
    """
    start = threading.Barrier(len(targets))
    results: list[object] = [None] * len(targets)
    errors: list[BaseException] = []

    def worker(index: int, target: Callable[[], object]) -> None:
        try:
            start.wait(timeout)
            results[index] = target()
        except BaseException as exc:  # collected for the main thread, which re-raises
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i, t), daemon=True) for i, t in enumerate(targets)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout)
    if any(thread.is_alive() for thread in threads):
        raise AssertionError(f"worker threads still running after {timeout}s")
    if errors:
        raise errors[0]
    return results


class BackgroundUnit:
    """A thread that does some work and then waits, so the test can act while it is in progress."""

    def __init__(self, body: Callable[[], object]):
        self.result: object = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(body,), daemon=True)

    def _run(self, body: Callable[[], object]) -> None:
        try:
            self.result = body()
        except BaseException as exc:  # reported through join()
            self.error = exc

    def start(self) -> BackgroundUnit:
        self._thread.start()
        return self

    def still_running_after(self, seconds: float) -> bool:
        self._thread.join(seconds)
        return self._thread.is_alive()

    def join(self, timeout: float = 60.0) -> object:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise AssertionError(f"background unit still running after {timeout}s")
        if self.error is not None:
            raise self.error
        return self.result
