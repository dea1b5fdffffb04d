"""staff: owners imported from an office's list, and their recorded WhatsApp opt-in

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


def downgrade() -> None:
    with op.batch_alter_table("owners") as batch:
        batch.drop_column("opt_in_source")
        batch.drop_column("opt_in_at")
        batch.drop_column("import_source")
        batch.drop_column("imported_at")
