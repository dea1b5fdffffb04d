from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase

# Stable constraint names so Alembic migrations read the same on SQLite and PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)

# Indexes that exist only in the database, made by migrations in a form the models cannot say
# (PostgreSQL GIN trigram indexes for dashboard search); the models-vs-migrations check skips them.
DB_ONLY_INDEXES = frozenset({
    "ix_message_log_text_trgm", "ix_tickets_reason_trgm", "ix_owners_name_trgm", "ix_owners_business_name_trgm",
})
