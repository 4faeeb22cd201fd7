"""Which revision a store made before soapbus kept revisions is at.

soapbus 0.1.0 created its tables with create_all and wrote no revision. Such a store is matched
against every revision this soapbus knows: each is built, from the first on, in a scratch SQLite
database in memory, and its shape (per table: the column names and the names of its indexes,
unique and check constraints) compared with the store's. The names are the same on SQLite and
PostgreSQL (soapbus names every constraint and index), so one scratch build serves both. Tables
that no revision ever made (a DMS's own, in the same database) are left out of the comparison.
"""
from __future__ import annotations

from functools import cache

from alembic import command
from sqlalchemy import Connection, create_engine, inspect
from sqlalchemy.pool import StaticPool

from .revisions import VERSION_TABLE, alembic_config, history

# table name -> (column names, index names, unique constraint names, check constraint names)
Shape = dict[str, tuple[frozenset[str], ...]]


def shape_of(connection: Connection, tables: frozenset[str] | None = None) -> Shape:
    """The shape of the tables in the connection's default schema (only `tables`, when given)."""
    inspector = inspect(connection)
    names = set(inspector.get_table_names()) - {VERSION_TABLE}
    shape: Shape = {}
    for table in sorted(names if tables is None else names & tables):
        columns = frozenset(c["name"] for c in inspector.get_columns(table))
        indexes = frozenset(i["name"] for i in inspector.get_indexes(table) if not i.get("duplicates_constraint"))
        uniques = frozenset(u["name"] for u in inspector.get_unique_constraints(table))
        checks = frozenset(c["name"] for c in inspector.get_check_constraints(table))
        shape[table] = (columns, indexes, uniques, checks)
    return shape


@cache
def revision_shapes() -> tuple[tuple[str, Shape], ...]:
    """(revision, the shape it leaves), oldest first."""
    engine = create_engine("sqlite://", poolclass=StaticPool)
    shapes = []
    try:
        with engine.begin() as connection:
            for revision in reversed(history()):
                command.upgrade(alembic_config(connection), revision.id)
                shapes.append((revision.id, shape_of(connection)))
    finally:
        engine.dispose()
    return tuple(shapes)


def tables_ever_made() -> frozenset[str]:
    return frozenset(table for _, shape in revision_shapes() for table in shape)


def matching_revision(connection: Connection) -> str | None:
    """The newest revision whose tables the store's equal, or None when none does."""
    store = shape_of(connection, tables_ever_made())
    matches = [revision for revision, shape in revision_shapes() if shape == store]
    return matches[-1] if matches else None


__all__ = ["Shape", "shape_of", "revision_shapes", "tables_ever_made", "matching_revision"]
