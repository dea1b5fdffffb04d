"""The migrations build exactly the schema the models describe, on both databases."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from storage.models import Base
from storage.models.base import DB_ONLY_INDEXES


def _compared(obj, name, type_, reflected, compare_to) -> bool:
    return not (type_ == "index" and name in DB_ONLY_INDEXES)


def test_migrations_match_models(db):
    with db.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn, opts={"compare_type": False, "include_object": _compared}), Base.metadata)
    assert diff == [], f"models and migrations differ: {diff}"
