"""Schema migrations that several processes may start at the same moment.

`umkm-bot db upgrade` is the explicit migration step of a deployment (compose runs it once before
the other services); every process still brings the schema up to date when it first opens the
database, so `umkm-bot run` on the embedded SQLite file stays one command. Both paths go through
`upgrade()` here, and on PostgreSQL it first takes a transaction-scoped advisory lock: when four
processes start together on an empty database, one migrates and the other three wait, then find
the schema current and go on. (Without the lock, three of them crashed creating the same enum
type: `UniqueViolation pg_type_typname_nsp_index`.)

SQLite needs no advisory lock: the migration's transaction begins with BEGIN IMMEDIATE
(storage/db.py), which already lets one writer in at a time.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass

from alembic import command
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine

log = logging.getLogger(__name__)

# One 64-bit key for "the schema of this database is being changed" (ASCII "umkm-mig").
MIGRATION_LOCK_KEY = 0x756D6B6D2D6D6967


@dataclass(frozen=True)
class SchemaState:
    current: tuple[str, ...]
    heads: tuple[str, ...]

    @property
    def up_to_date(self) -> bool:
        return set(self.current) == set(self.heads)

    @property
    def empty(self) -> bool:
        return not self.current


def _lock(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        # Released by the commit (or rollback) that ends the migration's transaction.
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})


def upgrade(engine: Engine, url: str) -> SchemaState:
    """Bring the schema to every head, one process at a time; returns the state it left."""
    from storage.db import alembic_config

    cfg = alembic_config(url)
    with engine.begin() as connection:
        _lock(connection)
        before = _current(connection)
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "heads")
        after = _current(connection)
    state = SchemaState(current=after, heads=heads(url))
    if before != after:
        log.info("database migrated: %s -> %s", ",".join(before) or "empty", ",".join(after))
    return state


def heads(url: str) -> tuple[str, ...]:
    from storage.db import alembic_config

    return tuple(sorted(ScriptDirectory.from_config(alembic_config(url)).get_heads()))


def _current(connection: Connection) -> tuple[str, ...]:
    return tuple(sorted(MigrationContext.configure(connection).get_current_heads()))


def current(engine: Engine, url: str) -> SchemaState:
    """What the database holds now, and what the code expects (read only, no lock)."""
    with engine.connect() as connection:
        found = _current(connection)
        connection.rollback()
    return SchemaState(current=found, heads=heads(url))
