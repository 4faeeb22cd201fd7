"""Journal: reply codes up to 64 characters (a WS-Security fault's QName did not fit on PostgreSQL).

journal.reply_code was VARCHAR(16): enough for 61968 codes ("5.2"), not for the QName of a
WS-Security fault the journal records for a refused signed request ("wsse:FailedAuthentication",
25 characters). SQLite ignores the length and kept them; PostgreSQL refused the row, so such a
refusal was answered 5.3 and not journaled. Now VARCHAR(64).

PostgreSQL widens the column in place (no rewrite). SQLite stores no length, so only the
declared type in the table's definition changes: the journal is not copied (a copy would also
fire processed_message's ON DELETE SET NULL when the old table is dropped), its definition is
rewritten in sqlite_master as SQLite's documentation describes for changes that leave the
stored data as it is (writable_schema, then a new schema_version so that every connection
reads it again).

Revision ID: 0003
Revises: 0002
"""
import sqlalchemy as sa
from alembic import op

from soapbus.store.migrations.runner import UpgradeRefused

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

OLD, NEW = "reply_code VARCHAR(16)", "reply_code VARCHAR(64)"


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "sqlite":
        op.alter_column("journal", "reply_code", existing_type=sa.String(length=16), type_=sa.String(length=64),
                        existing_nullable=True)
        return
    definition = bind.exec_driver_sql("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'journal'").scalar()
    if definition is None or definition.count(OLD) != 1:
        raise UpgradeRefused(f"the journal table's definition does not declare {OLD!r} once as revision 0002 "
                             "left it; it was changed by hand: restore it or the backup, then upgrade again")
    version = bind.exec_driver_sql("PRAGMA schema_version").scalar()
    bind.exec_driver_sql("PRAGMA writable_schema = ON")
    try:
        bind.exec_driver_sql("UPDATE sqlite_master SET sql = ? WHERE type = 'table' AND name = 'journal'",
                             (definition.replace(OLD, NEW),))
        bind.exec_driver_sql(f"PRAGMA schema_version = {int(version) + 1}")
    finally:
        bind.exec_driver_sql("PRAGMA writable_schema = OFF")
