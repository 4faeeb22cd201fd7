"""Bring a store's tables to the revision this soapbus was built for.

Every function takes a connection inside a transaction the caller opened (Store does, see
Store.create_schema and Store.upgrade_schema), so an upgrade commits whole or not at all and
two processes preparing one database take turns. Where the store stands:

* empty: no soapbus tables yet. Created at the newest revision (the tables of
  soapbus/store/schema.py, which tests hold equal to what the revisions build) and stamped with it.
* at head: nothing to do. A store made before revisions were kept whose tables equal the newest
  revision's is stamped with it.
* behind: an older revision (or tables equal to one, written before revisions were kept). The
  server refuses it unless told to upgrade; `soapbus db upgrade` runs the revisions.
* ahead: a revision this soapbus does not know: a newer soapbus upgraded it. Refused; schemas
  are never downgraded.
* unrecognised: soapbus tables without a revision, equal to no revision. Refused.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass

from alembic import command
from alembic.migration import MigrationContext
from alembic.util import CommandError
from sqlalchemy import Connection, inspect

from ..schema import metadata
from .recognise import matching_revision, tables_ever_made
from .revisions import VERSION_TABLE, alembic_config, head, known, script_directory


class Standing(enum.Enum):
    EMPTY = "empty"
    AT_HEAD = "at head"
    BEHIND = "behind"
    AHEAD = "ahead"
    UNRECOGNISED = "unrecognised"


@dataclass(frozen=True)
class SchemaState:
    standing: Standing
    revision: str | None  # the store's revision; for an unversioned store, the one its tables equal
    head: str  # the newest revision this soapbus knows
    versioned: bool  # False: tables made before revisions were kept (no alembic_version row)

    def describe(self) -> str:
        """One line: where the store stands."""
        if self.standing is Standing.EMPTY:
            return f"empty: no soapbus tables yet (created at revision {self.head} on first use)"
        if self.standing is Standing.UNRECOGNISED:
            return "unrecognised: soapbus tables without a revision, equal to no revision this soapbus knows"
        unversioned = "" if self.versioned else " (tables made before revisions were kept, equal to it)"
        if self.standing is Standing.AT_HEAD:
            return f"revision {self.revision}, the newest{unversioned}"
        if self.standing is Standing.BEHIND:
            return f"revision {self.revision}{unversioned}, behind the newest, {self.head}"
        return f"revision {self.revision}, which this soapbus does not know (its newest is {self.head})"

    def problem(self) -> str:
        """One line: why this store cannot be used as it is, and what to do."""
        if self.standing is Standing.BEHIND:
            return (f"the database schema is at revision {self.revision}, older than this soapbus's {self.head}: "
                    "run `soapbus db upgrade` with the same --data/--database (back the database up first), "
                    "or start the server with --upgrade-db")
        if self.standing is Standing.AHEAD:
            return (f"the database schema is at revision {self.revision}, which this soapbus does not know "
                    f"(its newest is {self.head}): a newer soapbus upgraded it; run that version "
                    "(schemas are never downgraded)")
        if self.standing is Standing.UNRECOGNISED:
            return ("the database holds soapbus tables without a schema revision that equal no revision this "
                    "soapbus knows (not made by a released soapbus): restore it from a backup or use a new database")
        return f"the database schema is {self.describe()}"


@dataclass(frozen=True)
class Upgrade:
    before: SchemaState
    after: SchemaState

    @property
    def changed(self) -> bool:
        return self.before.revision != self.after.revision or self.before.versioned != self.after.versioned


class SchemaNotCurrent(Exception):
    """The store's schema is not this soapbus's newest revision and is not upgraded now."""

    def __init__(self, state: SchemaState):
        super().__init__(state.problem())
        self.state = state


class UpgradeRefused(Exception):
    """A revision found data it cannot carry over; the upgrade changed nothing."""


def read_state(connection: Connection) -> SchemaState:
    """Where the store on `connection` stands; reads only."""
    newest = head()
    stamped = _stamped_revision(connection)
    if stamped is not None:
        if stamped == newest:
            return SchemaState(Standing.AT_HEAD, stamped, newest, True)
        return SchemaState(Standing.BEHIND if known(stamped) else Standing.AHEAD, stamped, newest, True)
    if not set(inspect(connection).get_table_names()) & (tables_ever_made() | set(metadata.tables)):
        return SchemaState(Standing.EMPTY, None, newest, False)
    matched = matching_revision(connection)
    if matched is None:
        return SchemaState(Standing.UNRECOGNISED, None, newest, False)
    return SchemaState(Standing.AT_HEAD if matched == newest else Standing.BEHIND, matched, newest, False)


def prepare(connection: Connection, *, upgrade: bool) -> SchemaState:
    """Make the store usable by this soapbus (the server's start-up): create an empty one at the
    newest revision, stamp an unversioned one that equals it, upgrade one that is behind when
    `upgrade` is true; else raise SchemaNotCurrent. Returns where it stands afterwards."""
    state = read_state(connection)
    if state.standing is Standing.EMPTY:
        return _create_at_head(connection)
    if state.standing is Standing.AT_HEAD:
        if not state.versioned:
            _stamp(connection, state.revision)
        return SchemaState(Standing.AT_HEAD, state.revision, state.head, True)
    if state.standing is Standing.BEHIND and upgrade:
        return upgrade_to(connection).after
    raise SchemaNotCurrent(state)


def upgrade_to(connection: Connection, target: str = "head") -> Upgrade:
    """Run the revisions up to `target` (a revision id, or "head"): an empty store is created
    (at the newest revision directly when that is the target), an unversioned one is first
    stamped with the revision its tables equal. ValueError for a target that is not a revision
    after the store's; SchemaNotCurrent for a store ahead or unrecognised; UpgradeRefused when a
    revision cannot carry the data over."""
    before = read_state(connection)
    if before.standing in (Standing.AHEAD, Standing.UNRECOGNISED):
        raise SchemaNotCurrent(before)
    wanted = _resolve(target)
    if before.standing is Standing.EMPTY and wanted == before.head:
        return Upgrade(before, _create_at_head(connection))
    if before.revision is not None and not _is_upgrade(before.revision, wanted):
        raise ValueError(f"revision {wanted} is not after the store's revision {before.revision}; "
                         "schemas are only ever upgraded")
    if before.revision is not None and not before.versioned:
        _stamp(connection, before.revision)
    command.upgrade(alembic_config(connection), wanted)
    return Upgrade(before, read_state(connection))


def _create_at_head(connection: Connection) -> SchemaState:
    metadata.create_all(connection)
    newest = head()
    _stamp(connection, newest)
    return SchemaState(Standing.AT_HEAD, newest, newest, True)


def _stamp(connection: Connection, revision: str) -> None:
    MigrationContext.configure(connection).stamp(script_directory(), revision)


def _stamped_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    revisions = MigrationContext.configure(connection).get_current_heads()
    return revisions[0] if revisions else None


def _resolve(target: str) -> str:
    if target == "head":
        return head()
    if not known(target):
        raise ValueError(f"no revision {target!r}: `soapbus db history` lists them")
    return target


def _is_upgrade(current: str, wanted: str) -> bool:
    """Whether `wanted` is `current` or comes after it."""
    try:
        return any(r.revision == current for r in script_directory().iterate_revisions(wanted, "base"))
    except CommandError:
        return False


__all__ = ["Standing", "SchemaState", "Upgrade", "SchemaNotCurrent", "UpgradeRefused", "read_state", "prepare",
           "upgrade_to"]
