"""`umkm-bot db upgrade | current`: the explicit migration step of a deployment.

`upgrade` is what compose's one-shot `migrate` service runs before the others start; it takes the
PostgreSQL advisory lock of storage/migrate.py, so it is safe to run while other processes start.
"""
from __future__ import annotations

import json
import sys

import click

from bot.config import load_settings
from storage.db import Database


def _state_dict(state) -> dict:
    return {"current": list(state.current), "heads": list(state.heads), "up_to_date": state.up_to_date}


def register(group: click.Group) -> None:
    @group.group("db")
    def db_group() -> None:
        """The database schema (SQLite by default, PostgreSQL with DATABASE_URL)."""

    @db_group.command("upgrade")
    @click.option("--json", "as_json", is_flag=True, help="Print the resulting revisions as JSON.")
    def upgrade(as_json: bool) -> None:
        """Apply every pending migration, under a lock (processes started at once never race)."""
        from storage.migrate import upgrade as run_upgrade

        url = load_settings().database_url
        database = Database(url)
        try:
            state = run_upgrade(database.engine, url)
        finally:
            database.dispose()
        if as_json:
            click.echo(json.dumps(_state_dict(state)))
        else:
            click.echo(f"database is up to date ({database.dialect}: {', '.join(state.current)})")

    @db_group.command("current")
    @click.option("--json", "as_json", is_flag=True, help="Print the revisions as JSON.")
    @click.option("--check", is_flag=True, help="Exit 1 when migrations are pending (for scripts and healthchecks).")
    def current(as_json: bool, check: bool) -> None:
        """Show the schema revisions the database holds, and whether migrations are pending."""
        from storage.migrate import current as read_current

        url = load_settings().database_url
        database = Database(url)
        try:
            state = read_current(database.engine, url)
        finally:
            database.dispose()
        if as_json:
            click.echo(json.dumps(_state_dict(state)))
        else:
            click.echo(f"database: {database.dialect}")
            click.echo(f"current:  {', '.join(state.current) or '(empty: never migrated)'}")
            click.echo(f"heads:    {', '.join(state.heads)}")
            pending = sorted(set(state.heads) - set(state.current))
            click.echo("up to date" if state.up_to_date else
                       f"pending: run `umkm-bot db upgrade` (missing heads: {', '.join(pending)})")
        if check and not state.up_to_date:
            sys.exit(1)
