"""channels: inbound queue, delivery events, wider channel addresses, outbox index per address

Revision ID: channels_0001
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = "channels_0001"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "channel_inbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("message_id", sa.String(length=128), nullable=False),
        sa.Column("address", sa.String(length=160), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("lease_until", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("received_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("processed_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_channel_inbox")),
        sa.UniqueConstraint("channel", "message_id", name="uq_channel_inbox_channel_message_id"),
    )
    with op.batch_alter_table("channel_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_channel_inbox_address", ["channel", "address", "id"], unique=False)
        batch_op.create_index("ix_channel_inbox_status", ["status", "id"], unique=False)

    op.create_table(
        "outbox_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("outbox_id", sa.Integer(), nullable=True),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("event", sa.String(length=32), nullable=False),
        sa.Column("code", sa.String(length=16), nullable=True),
        sa.Column("detail", sa.Text(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["outbox_id"], ["outbox.id"], name=op.f("fk_outbox_events_outbox_id_outbox"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["owner_id"], ["owners.id"], name=op.f("fk_outbox_events_owner_id_owners"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outbox_events")),
    )
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_events_owner_event", ["owner_id", "event", "created_at"], unique=False)
        batch_op.create_index("ix_outbox_events_outbox", ["outbox_id"], unique=False)

    # WhatsApp business-scoped user ids ("ID." + up to 128 characters) do not fit in 64.
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.alter_column("address", existing_type=sa.String(length=64), type_=sa.String(length=160),
                              existing_nullable=False)
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.alter_column("address", existing_type=sa.String(length=64), type_=sa.String(length=160),
                              existing_nullable=False)
        # The sender's per-owner ordering looks up earlier unsent messages of the same address.
        batch_op.create_index("ix_outbox_address", ["channel", "address", "id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_address")
        batch_op.alter_column("address", existing_type=sa.String(length=160), type_=sa.String(length=64),
                              existing_nullable=False)
    with op.batch_alter_table("owners", schema=None) as batch_op:
        batch_op.alter_column("address", existing_type=sa.String(length=160), type_=sa.String(length=64),
                              existing_nullable=False)
    with op.batch_alter_table("outbox_events", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_events_outbox")
        batch_op.drop_index("ix_outbox_events_owner_event")
    op.drop_table("outbox_events")
    with op.batch_alter_table("channel_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_inbox_status")
        batch_op.drop_index("ix_channel_inbox_address")
    op.drop_table("channel_inbox")
