"""staff: case labels and staff-edited canned replies

Revision ID: staff_0004
Revises: staff_0003
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = "staff_0004"
down_revision = "staff_0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "case_labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=32), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_case_labels_ticket_id_tickets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_labels")),
        sa.UniqueConstraint("ticket_id", "label", name="uq_case_labels_ticket_label"),
    )
    op.create_index("ix_case_labels_label", "case_labels", ["label"], unique=False)
    op.create_table(
        "canned_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=32), nullable=False),
        sa.Column("title_id", sa.String(length=80), nullable=False),
        sa.Column("title_en", sa.String(length=80), nullable=False),
        sa.Column("text_id", sa.Text(), nullable=False),
        sa.Column("text_en", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_canned_replies")),
        sa.UniqueConstraint("key", name="uq_canned_replies_key"),
    )


def downgrade() -> None:
    op.drop_table("canned_replies")
    op.drop_index("ix_case_labels_label", table_name="case_labels")
    op.drop_table("case_labels")
