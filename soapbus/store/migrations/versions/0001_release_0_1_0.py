"""The tables of soapbus 0.1.0.

Journal, idempotency claims, CIM objects and their names, replay memory, outbox, subscriptions,
routes. A store that 0.1.0 made (with create_all, before revisions were kept) holds exactly
these tables; the runner recognises such a store and stamps it with this revision before
upgrading it. Frozen: this file describes what 0.1.0 created and never follows
soapbus/store/schema.py.

Revision ID: 0001
Revises:
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# SQLite only turns an INTEGER PRIMARY KEY into an auto-incrementing rowid.
ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# soapbus.store.schema.UTCDateTime stores this type.
UTC = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "journal",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("received_at", UTC, nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("verb", sa.String(), nullable=True),
        sa.Column("noun", sa.String(), nullable=True),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=True),
        sa.Column("source", sa.String(), nullable=True),
        sa.Column("peer", sa.String(), nullable=True),
        sa.Column("outcome", sa.String(length=32), nullable=False),
        sa.Column("reply_code", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("raw", sa.LargeBinary(), nullable=False),
        sa.Column("related_id", ROW_ID, nullable=True),
        sa.CheckConstraint("direction IN ('in', 'out')", name="ck_journal_direction"),
        sa.ForeignKeyConstraint(["related_id"], ["journal.id"], name="fk_journal_related_id_journal",
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_journal"),
    )
    op.create_index("ix_journal_message_id", "journal", ["message_id"])
    op.create_index("ix_journal_correlation_id", "journal", ["correlation_id"])

    op.create_table(
        "processed_message",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("source", sa.String(), nullable=False),
        sa.Column("message_id", sa.String(), nullable=False),
        sa.Column("claimed_at", UTC, nullable=False),
        sa.Column("reply", sa.LargeBinary(), nullable=True),
        sa.Column("reply_journal_id", ROW_ID, nullable=True),
        sa.Column("replied_at", UTC, nullable=True),
        sa.ForeignKeyConstraint(["reply_journal_id"], ["journal.id"],
                                name="fk_processed_message_reply_journal_id_journal", ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name="pk_processed_message"),
        sa.UniqueConstraint("source", "message_id", name="uq_processed_message_source_message_id"),
    )

    op.create_table(
        "cim_object",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("noun", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("item_type", sa.String(), nullable=False),
        sa.Column("xml", sa.LargeBinary(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("updated_at", UTC, nullable=False),
        sa.CheckConstraint("status IN ('active', 'canceled', 'closed', 'executed')", name="ck_cim_object_status"),
        sa.PrimaryKeyConstraint("id", name="pk_cim_object"),
        sa.UniqueConstraint("noun", "key", name="uq_cim_object_noun_key"),
    )
    op.create_index("ix_cim_object_noun_updated_at", "cim_object", ["noun", "updated_at"])

    op.create_table(
        "cim_object_name",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("object_id", ROW_ID, nullable=False),
        sa.Column("name", sa.String(), nullable=False),
        sa.Column("name_type", sa.String(), nullable=True),
        sa.ForeignKeyConstraint(["object_id"], ["cim_object.id"], name="fk_cim_object_name_object_id_cim_object",
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name="pk_cim_object_name"),
    )
    op.create_index("ix_cim_object_name_name_name_type", "cim_object_name", ["name", "name_type"])
    op.create_index("ix_cim_object_name_object_id", "cim_object_name", ["object_id"])

    op.create_table(
        "replay_memory",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(), nullable=False),
        sa.Column("key", sa.String(), nullable=False),
        sa.Column("remembered_at", UTC, nullable=False),
        sa.Column("expires_at", UTC, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_replay_memory"),
        sa.UniqueConstraint("scope", "key", name="uq_replay_memory_scope_key"),
    )
    op.create_index("ix_replay_memory_expires_at", "replay_memory", ["expires_at"])

    op.create_table(
        "outbox",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.Column("destination", sa.Text(), nullable=False),
        sa.Column("soap_action", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("sign", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(), nullable=True),
        sa.Column("correlation_id", sa.String(), nullable=True),
        sa.Column("noun", sa.String(), nullable=True),
        sa.Column("verb", sa.String(), nullable=True),
        sa.Column("sequence_key", sa.Text(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", UTC, nullable=False),
        sa.Column("lease_until", UTC, nullable=True),
        sa.Column("leased_by", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("last_status", sa.Integer(), nullable=True),
        sa.Column("delivered_at", UTC, nullable=True),
        sa.CheckConstraint("kind IN ('reply', 'event', 'request')", name="ck_outbox_kind"),
        sa.CheckConstraint("status IN ('pending', 'delivered', 'dead')", name="ck_outbox_status"),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
    )
    op.create_index("ix_outbox_status_id", "outbox", ["status", "id"])
    op.create_index("ix_outbox_sequence_key_status_id", "outbox", ["sequence_key", "status", "id"])

    op.create_table(
        "subscription",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("noun", sa.String(), nullable=False),
        sa.Column("verb", sa.String(), nullable=False),
        sa.Column("context", sa.String(), nullable=False),
        sa.Column("signed", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("style IN ('generic', 'typed')", name="ck_subscription_style"),
        sa.PrimaryKeyConstraint("id", name="pk_subscription"),
        sa.UniqueConstraint("endpoint", "noun", "verb", "context", name="uq_subscription_endpoint_noun_verb_context"),
    )
    op.create_index("ix_subscription_noun", "subscription", ["noun"])

    op.create_table(
        "route",
        sa.Column("id", ROW_ID, autoincrement=True, nullable=False),
        sa.Column("noun", sa.String(), nullable=False),
        sa.Column("verb", sa.String(), nullable=False),
        sa.Column("context", sa.String(), nullable=False),
        sa.Column("endpoint", sa.Text(), nullable=False),
        sa.Column("style", sa.String(length=16), nullable=False),
        sa.Column("signed", sa.Boolean(create_constraint=False), nullable=False),
        sa.Column("created_at", UTC, nullable=False),
        sa.CheckConstraint("style IN ('generic', 'typed')", name="ck_route_style"),
        sa.PrimaryKeyConstraint("id", name="pk_route"),
        sa.UniqueConstraint("noun", "verb", "context", name="uq_route_noun_verb_context"),
    )

