"""Outbox: forwarded legs keep their caller and the backend's answer; dead letters their cause.

One leg per caller message and backend, a retry budget that can start again, and the status
'closed' for a leg answered through another one.

Columns added to outbox (all nullable; rows of 0.1.0 keep NULL): retry_since (NULL: the budget
runs from created_at, as before), dead_cause (NULL on 0.1.0's dead letters: re-driven by hand
only, as they were), origin (the caller's "Source|MessageID" of a forwarded request; 0.1.0's
legs have none, so no later answer closes them), answer (the backend's answer to a leg). The
status check admits 'closed'. Indexes: uq_outbox_request_leg, unique (destination, message_id)
among kind 'request' (0.1.0 already derived a leg's MessageID from the caller's Source and
MessageID and the backend, so its legs are unique; should a store hold duplicates anyway, the
upgrade stops before changing anything and names them), and ix_outbox_origin.

Revision ID: 0002
Revises: 0001
"""
import sqlalchemy as sa
from alembic import op

from soapbus.store.migrations.runner import UpgradeRefused

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UTC = sa.DateTime(timezone=True)
REQUEST_LEG = sa.text("kind = 'request'")


def _outbox_as_0001() -> sa.Table:
    """The outbox as revision 0001 made it: what SQLite copies into the rebuilt table (it cannot
    alter a CHECK constraint in place), so nothing depends on reflecting it."""
    return sa.Table(
        "outbox", sa.MetaData(),
        sa.Column("id", ROW_ID, primary_key=True, autoincrement=True),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("soap_action", sa.Text()),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("sign", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("message_id", sa.String()),
        sa.Column("correlation_id", sa.String()),
        sa.Column("noun", sa.String()),
        sa.Column("verb", sa.String()),
        sa.Column("sequence_key", sa.Text()),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("lease_until", UTC),
        sa.Column("leased_by", sa.Text()),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("last_error", sa.Text()),
        sa.Column("last_status", sa.Integer()),
        sa.Column("delivered_at", UTC),
        sa.CheckConstraint("kind IN ('reply', 'event', 'request')", name="ck_outbox_kind"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="ck_outbox_status"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.Index("ix_outbox_status_id", "status", "id"),
        sa.Index("ix_outbox_sequence_key_status_id", "sequence_key", "status", "id"),
    )


def _refuse_duplicate_legs() -> None:
    legs = op.get_bind().execute(sa.text(
        "SELECT id, destination, message_id FROM outbox o WHERE kind = 'request' AND EXISTS ("
        "SELECT 1 FROM outbox d WHERE d.kind = 'request' AND d.destination = o.destination "
        "AND d.message_id = o.message_id AND d.id <> o.id) ORDER BY destination, message_id, id")).all()
    if legs:
        ids = ", ".join(str(leg.id) for leg in legs[:20]) + (" ..." if len(legs) > 20 else "")
        raise UpgradeRefused(f"the outbox holds {len(legs)} forwarded requests that share a backend and MessageID "
                             f"(outbox ids {ids}), which revision 0002 makes unique: delete all but one of each "
                             "(see `soapbus outbox show ID`) and upgrade again")


def upgrade() -> None:
    _refuse_duplicate_legs()
    with op.batch_alter_table("outbox", copy_from=_outbox_as_0001()) as outbox:
        outbox.add_column(sa.Column("retry_since", UTC, nullable=True))
        outbox.add_column(sa.Column("dead_cause", sa.String(length=16), nullable=True))
        outbox.add_column(sa.Column("origin", sa.Text(), nullable=True))
        outbox.add_column(sa.Column("answer", sa.LargeBinary(), nullable=True))
        outbox.drop_constraint("ck_outbox_status", type_="check")
        outbox.create_check_constraint("ck_outbox_status", "status IN ('pending', 'delivered', 'dead', 'closed')")
    op.create_index("uq_outbox_request_leg", "outbox", ["destination", "message_id"], unique=True,
                    sqlite_where=REQUEST_LEG, postgresql_where=REQUEST_LEG)
    op.create_index("ix_outbox_origin", "outbox", ["origin"])
