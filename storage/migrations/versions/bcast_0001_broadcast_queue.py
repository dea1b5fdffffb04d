"""bcast: a broadcast's recipients are recorded in a lean queue; the sender writes their messages

Queueing a broadcast to 100,000 owners wrote 100,000 outbox rows (six indexes, a foreign-key
trigger) and as many `broadcast_recipients` rows: 2-3 s of database work alone, against a goal of
3 s in all. Now the enqueue records each recipient in `broadcast_queue` (broadcast, channel, owner:
the primary key is the only index, no foreign key), one INSERT ... SELECT from the segment per
chunk, about 0.3 s for 100,000. The sender writes each recipient's outbox message when it claims
work for that channel and deletes the queue row in the same transaction (bot/broadcasts.py
`feed_outbox`), as it does for the reminders a sweep marked (sweeps_0002).

SQLite keeps the table WITHOUT ROWID: the primary key is the table.

Revision ID: bcast_0001
Revises: sweeps_0002
"""
from alembic import op
import sqlalchemy as sa


revision = "bcast_0001"
down_revision = "sweeps_0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "broadcast_queue",
        sa.Column("broadcast_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("broadcast_id", "channel", "owner_id", name=op.f("pk_broadcast_queue")),
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    # Recipients still queued lose their place: let the sender write their messages (or cancel the
    # broadcasts) before downgrading.
    op.drop_table("broadcast_queue")
