"""staff: trigram indexes for dashboard search (PostgreSQL only; SQLite scans)

Substring search (`ILIKE '%pirt%'`) over the message log, case reasons and owner names uses these
GIN trigram indexes. They live only in PostgreSQL (listed in storage.models.base.DB_ONLY_INDEXES so
the models-vs-migrations check leaves them alone).

Revision ID: staff_0003
Revises: staff_0002
"""
from alembic import op
import sqlalchemy as sa


revision = "staff_0003"
down_revision = "staff_0002"
branch_labels = None
depends_on = None

INDEXES = {
    "ix_message_log_text_trgm": ("message_log", "text"),
    "ix_tickets_reason_trgm": ("tickets", "reason"),
    "ix_owners_name_trgm": ("owners", "name"),
    "ix_owners_business_name_trgm": ("owners", "business_name"),
}


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    available = bind.execute(sa.text("SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm'")).scalar()
    if not available:  # search still works, by scanning; say so in the migration log
        print("pg_trgm is not available on this server: dashboard search will scan without trigram indexes")
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, (table, column) in INDEXES.items():
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON {table} USING gin ("{column}" gin_trgm_ops)')


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    for name in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
