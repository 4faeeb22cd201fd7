"""The alembic environment of soapbus's schema revisions.

soapbus runs its revisions itself (soapbus.store.migrations.runner, behind `soapbus db upgrade`
and the server's start-up), on a connection it opened inside a transaction and hands over in
`config.attributes["connection"]`: the whole upgrade commits or rolls back as one, on SQLite and
on PostgreSQL alike, in whatever schema that connection's search_path names. There is no
alembic.ini and no offline (SQL script) mode.

The tables of soapbus/store/schema.py are the target only when a new revision is drafted
(`python -m soapbus.store.migrations`): alembic would otherwise apply their naming convention to
the names the revisions spell out, and a revision must mean the same whatever schema.py says later.
"""
from alembic import context
from sqlalchemy.types import TypeDecorator

from soapbus.store.schema import metadata


def render_item(kind: str, item, autogen_context):
    """A new revision spells a column type as the database stores it (UTCDateTime as
    DateTime(timezone=True)), so the revision never imports soapbus.store.schema, which will
    have changed by the time the revision runs on an old store."""
    if kind == "type" and isinstance(item, TypeDecorator):
        return f"sa.{item.impl!r}"
    return False


connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("soapbus's schema revisions run through `soapbus db upgrade` "
                       "(soapbus.store.migrations), which gives them a connection")
drafting = bool(context.config.attributes.get("drafting"))
context.configure(connection=connection, target_metadata=metadata if drafting else None, render_as_batch=True,
                  render_item=render_item, compare_type=True)
with context.begin_transaction():
    context.run_migrations()
