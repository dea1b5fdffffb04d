from __future__ import annotations

import click

from bot.config import load_settings
from storage.db import Database


def register(group: click.Group) -> None:
    @group.group("db")
    def db_group() -> None:
        """The database (SQLite by default, PostgreSQL with DATABASE_URL)."""

    @db_group.command("upgrade")
    def upgrade() -> None:
        """Apply all migrations (also done automatically on first use)."""
        Database(load_settings().database_url).migrate()
        click.echo("database is up to date")
