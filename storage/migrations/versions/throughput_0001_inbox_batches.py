"""throughput: inbox workers claim from partial indexes and are woken by NOTIFY

The inbox workers claim, for each address, its oldest unfinished row. Two partial indexes cover
exactly the unfinished rows (handled rows, the vast majority, are kept for two days against late
redeliveries and no longer weigh on the claim); they replace the full (status, id) and
(channel, address, id) indexes. On PostgreSQL a statement trigger NOTIFYs `umkm_inbox` when
webhooks store rows, which wakes the LISTENing workers at commit.

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


def upgrade() -> None:
    with op.batch_alter_table("channel_inbox", schema=None) as batch_op:
        batch_op.drop_index("ix_channel_inbox_status")
        batch_op.drop_index("ix_channel_inbox_address")
    op.create_index("ix_channel_inbox_unfinished", "channel_inbox", ["id"],
                    postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))
    op.create_index("ix_channel_inbox_unfinished_address", "channel_inbox", ["channel", "address", "id"],
                    postgresql_where=sa.text(UNFINISHED), sqlite_where=sa.text(UNFINISHED))
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            "CREATE FUNCTION umkm_inbox_notify() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN PERFORM pg_notify('umkm_inbox', ''); RETURN NULL; END $$"
        )
        op.execute(
            "CREATE TRIGGER channel_inbox_notify AFTER INSERT ON channel_inbox "
            "FOR EACH STATEMENT EXECUTE FUNCTION umkm_inbox_notify()"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS channel_inbox_notify ON channel_inbox")
        op.execute("DROP FUNCTION IF EXISTS umkm_inbox_notify()")
    op.drop_index("ix_channel_inbox_unfinished_address", table_name="channel_inbox")
    op.drop_index("ix_channel_inbox_unfinished", table_name="channel_inbox")
    with op.batch_alter_table("channel_inbox", schema=None) as batch_op:
        batch_op.create_index("ix_channel_inbox_address", ["channel", "address", "id"], unique=False)
        batch_op.create_index("ix_channel_inbox_status", ["status", "id"], unique=False)
