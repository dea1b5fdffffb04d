"""sweeps: the reminder sweep marks what to send; the sender writes the outbox message

`reminders.send_occurrence` holds the occurrence a sweep decided to send and whose outbox
message is not written yet. The sweep only marks rows (one UPDATE per chunk, no outbox INSERT:
the outbox's five indexes and its foreign-key trigger made that INSERT the larger half of a
100,000-owner sweep); the sender writes each marked row's message when it claims work for that
owner's channel, and clears the mark in the same transaction (bot/reminders.py `feed_outbox`).
A partial index holds only marked rows, so it stays as small as the backlog.

Revision ID: sweeps_0002
Revises: sweeps_0001
"""
from alembic import op
import sqlalchemy as sa


revision = "sweeps_0002"
down_revision = "sweeps_0001"
branch_labels = None
depends_on = None

MARKED = "send_occurrence IS NOT NULL"


def upgrade() -> None:
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("send_occurrence", sa.Integer(), nullable=True))
    op.create_index("ix_reminders_to_send", "reminders", ["id"],
                    postgresql_where=sa.text(MARKED), sqlite_where=sa.text(MARKED))


def downgrade() -> None:
    # Marked rows lose their mark: write their messages first (run the sender) before downgrading.
    op.drop_index("ix_reminders_to_send", table_name="reminders")
    with op.batch_alter_table("reminders", schema=None) as batch_op:
        batch_op.drop_column("send_occurrence")
