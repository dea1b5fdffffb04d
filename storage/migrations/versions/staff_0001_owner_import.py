"""staff: owners imported from an office's list, their recorded WhatsApp opt-in, and the
programme steps people record (P5-P7)

Revision ID: staff_0001
Revises: 0001_foundation
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = "staff_0001"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("owners") as batch:
        batch.add_column(sa.Column("imported_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("import_source", sa.String(length=120), nullable=True))
        batch.add_column(sa.Column("opt_in_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("opt_in_source", sa.String(length=160), nullable=True))
    op.create_table(
        "programme_milestones",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=False),
        sa.Column("step", sa.String(length=2), nullable=False),
        sa.Column("achieved_on", sa.Date(), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.Column("recorded_by", sa.String(length=64), nullable=False),
        sa.Column("recorded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["owner_id"], ["owners.id"], name=op.f("fk_programme_milestones_owner_id_owners"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_programme_milestones")),
        sa.UniqueConstraint("owner_id", "step", name="uq_programme_milestones_owner_step"),
    )


def downgrade() -> None:
    op.drop_table("programme_milestones")
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("opt_in_source")
        batch.drop_column("opt_in_at")
        batch.drop_column("import_source")
        batch.drop_column("imported_at")
