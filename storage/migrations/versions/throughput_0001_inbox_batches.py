"""throughput: inbox workers claim from partial indexes of the unfinished rows

The inbox workers claim, for each address, its oldest unfinished row. Two partial indexes cover
exactly the unfinished rows (handled rows, the vast majority, are kept for two days against late
redeliveries and no longer weigh on the claim); they replace the full (status, id) and
(channel, address, id) indexes.

The outbox's provider-id index becomes partial too: a row gets its provider id only once sent, so
the rows being written (replies, reminders, broadcasts) no longer pay for an index entry of NULL.
Looking a status callback up by provider id (`provider_id = ...`) uses it as before.

Revision ID: throughput_0001
Revises: channels_0001
"""
from alembic import op
import sqlalchemy as sa


revision = "throughput_0001"
down_revision = "channels_0001"
branch_labels = None
depends_on = None

UNFINISHED = "status IN ('pending', 'processing')"
SENT = "provider_id IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("channel_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_inbox_status")
        batch_op.drop_index("ix_channel_inbox_address")
    op.create_index("ix_channel_inbox_unfinished", "channel_inbox", ["id"],
                    postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))
    op.create_index("ix_channel_inbox_unfinished_address", "channel_inbox", ["channel", "address", "id"],
                    postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.drop_index("ix_outbox_provider_id")
    op.create_index("ix_outbox_provider_id", "outbox", ["provider_id"],
                    postgresql_where=sa.text(SENT), sqlite_where=sa.text(SENT))


def downgrade() -> None:
    op.drop_index("ix_outbox_provider_id", table_name="outbox")
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_provider_id", ["provider_id"], unique=False)
    op.drop_index("ix_channel_inbox_unfinished_address", table_name="channel_inbox")
    op.drop_index("ix_channel_inbox_unfinished", table_name="channel_inbox")
    with op.batch_alter_table("channel_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_channel_inbox_address", ["channel", "address", "id"], unique=False)
        batch_op.create_index("ix_channel_inbox_status", ["status", "id"], unique=False)
