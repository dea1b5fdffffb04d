"""ops: WhatsApp templates synced from the Twilio Content API, one row per message kind

Revision ID: ops_0001
Revises: channels_0001
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = "ops_0001"
down_revision = "channels_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "whatsapp_templates",
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("content_sid", sa.String(length=34), nullable=False),
        sa.Column("friendly_name", sa.String(length=256), nullable=False),
        sa.Column("language", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=32), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("rejection_reason", sa.Text(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("variables", sa.JSON(), nullable=False),
        sa.Column("matched_by", sa.String(length=16), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("synced_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("kind", name=op.f("pk_whatsapp_templates")),
    )


def downgrade() -> None:
    op.drop_table("whatsapp_templates")
