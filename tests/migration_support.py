"""What the migration tests share: databases to upgrade (a SQLite file, or a PostgreSQL schema
reached as the tests' servers reach theirs, by a URL whose options set the search_path), the
structure of a database as reflection sees it, soapbus 0.1.0's code, and the CLI as a process."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Connection, create_engine, inspect

from soapbus.store import Store
from soapbus.store.migrations import VERSION_TABLE

from .conftest import ROOT, skip_or_fail

RELEASE_0_1_0 = "9f7f414"  # the commit soapbus 0.1.0 was released from
PG_URL_VAR = "SOAPBUS_TEST_PG_URL"


@dataclass
class Database:
    url: str  # what soapbus is given (--database, Store)
    data_dir: Path  # --data, for the server's other state

    def store(self) -> Store:
        return Store(self.url)


class Databases:
    """Fresh empty databases of one kind; the PostgreSQL schemas are dropped afterwards."""

    def __init__(self, kind: str, tmp_path: Path):
        self.kind = kind
        self.tmp_path = tmp_path
        self.schemas: list[str] = []
        self.base = None
        if kind == "postgresql":
            self.base = os.environ.get(PG_URL_VAR)
            if not self.base:
                skip_or_fail(f"set {PG_URL_VAR} (e.g. postgresql+psycopg://postgres@127.0.0.1:5432/test) "
                             "to upgrade stores on PostgreSQL")

    def new(self, name: str) -> Database:
        data_dir = self.tmp_path / name
        data_dir.mkdir()
        if self.kind == "sqlite":
            return Database(f"sqlite:///{data_dir / 'soapbus.db'}", data_dir)
        schema = f"soapbus_mig_{name}_{uuid.uuid4().hex[:10]}"
        self._admin(f"CREATE SCHEMA {schema}")
        self.schemas.append(schema)
        separator = "&" if "?" in self.base else "?"
        return Database(f"{self.base}{separator}options=-csearch_path%3D{schema}", data_dir)

    def close(self) -> None:
        for schema in self.schemas:
            self._admin(f"DROP SCHEMA IF EXISTS {schema} CASCADE")

    def _admin(self, statement: str) -> None:
        engine = create_engine(self.base)
        try:
            with engine.begin() as conn:
                conn.exec_driver_sql(statement)
        finally:
            engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.pg)])
def databases(request, tmp_path) -> Iterator[Databases]:
    made = Databases(request.param, tmp_path)
    yield made
    made.close()


def structure(conn: Connection) -> dict[str, dict]:
    """Every soapbus table as reflection reads it: columns (name, type, nullability, default),
    primary key, foreign keys, unique and check constraints (with their text), indexes (with
    a partial index's condition). Order-free: a column added by a revision lands last, one
    declared in schema.py may sit anywhere, and both are the same table."""
    inspector = inspect(conn)
    tables = {}
    for table in sorted(set(inspector.get_table_names()) - {VERSION_TABLE}):
        tables[table] = {
            "columns": sorted((c["name"], repr(c["type"]), c["nullable"], c.get("default"))
                              for c in inspector.get_columns(table)),
            "primary_key": inspector.get_pk_constraint(table),
            "foreign_keys": sorted((f["name"], tuple(f["constrained_columns"]), f["referred_table"],
                                    tuple(f["referred_columns"]), f.get("options", {}).get("ondelete"))
                                   for f in inspector.get_foreign_keys(table)),
            "unique": sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(table)),
            "checks": sorted((c["name"], c["sqltext"]) for c in inspector.get_check_constraints(table)),
            "indexes": sorted((i["name"], tuple(i["column_names"]), bool(i["unique"]), _condition(i))
                              for i in inspector.get_indexes(table) if not i.get("duplicates_constraint")),
        }
    return tables


def _condition(index: dict) -> str:
    """A partial index's WHERE, as the dialect reflects it ('' for a whole-table index)."""
    options = index.get("dialect_options", {})
    where = options.get("sqlite_where", options.get("postgresql_where"))
    return "" if where is None else str(where)


def structure_of(database: Database) -> dict[str, dict]:
    with database.store() as store, store.engine.connect() as conn:
        return structure(conn)


@pytest.fixture(scope="session")
def release_0_1_0(tmp_path_factory) -> Path:
    """A folder holding the soapbus package as released in 0.1.0 (from git)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        skip_or_fail("the 0.1.0 upgrade tests take soapbus 0.1.0 from git: run them in a git checkout with git installed")
    found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", f"{RELEASE_0_1_0}^{{commit}}"],
                           capture_output=True)
    if found.returncode != 0:
        skip_or_fail(f"the release commit {RELEASE_0_1_0} is not in this clone: fetch the full history")
    folder = tmp_path_factory.mktemp("soapbus-0.1.0")
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", RELEASE_0_1_0, "soapbus"], capture_output=True,
                             check=True).stdout
    subprocess.run(["tar", "-x", "-C", str(folder)], input=archive, check=True)
    return folder


def run_0_1_0(release: Path, *args: str) -> subprocess.CompletedProcess:
    """Python with soapbus 0.1.0 first on the path (ahead of the installed one), run in its folder
    (in the checkout, `python -c` would find the checkout's soapbus first)."""
    return subprocess.run([sys.executable, *args], capture_output=True, text=True, timeout=120, cwd=release,
                          env={**os.environ, "PYTHONPATH": str(release)})


def soapbus_cli(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """The `soapbus` command in a child process."""
    return subprocess.run([sys.executable, "-m", "soapbus", *args], capture_output=True, text=True, timeout=120,
                          cwd=cwd)


def one_line_error(completed: subprocess.CompletedProcess) -> str:
    """The single line a refused command printed (and that it printed no traceback)."""
    lines = [line for line in completed.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
    return lines[0]
