"""`umkm-bot owners ...`: owner lists an office already has.

    umkm-bot owners import owners.csv --source "Dinas PPKUKM Jakarta Timur 2026"   all rows or none
    umkm-bot owners import owners.csv --source "..." --dry-run                      only check

The CSV columns are described in bot/owners_import.py and docs/staff-tools.md. Imported owners get
no message until they write first or the list records their WhatsApp opt-in.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from bot.dashboard.auth import audit
from bot.owners_import import import_owners
from bot.services import build_services


def register(group: click.Group) -> None:
    group.add_command(owners)


@click.group()
def owners() -> None:
    """Owner lists: import from CSV."""


@owners.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--source", required=True, help="Where the list comes from, e.g. 'Dinas PPKUKM Jaktim 2026'.")
@click.option("--dry-run", is_flag=True, help="Only check the file; change nothing.")
def import_command(file: Path, source: str, dry_run: bool) -> None:
    """Import owners from a CSV FILE. Any bad row: nothing is imported."""
    services = build_services()
    with services.db.session() as session:
        # import_owners writes nothing unless every row is good, so committing is always safe.
        report = import_owners(session, file.read_bytes(), services.content, source, dry_run=dry_run)
        if report.ok and not dry_run:
            audit(session, "cli", "import_owners", "owners",
                         f"{file.name}: created {len(report.created)}, updated {len(report.updated)}")
    if report.errors:
        click.echo(f"{file}: {len(report.errors)} error(s); nothing was imported:", err=True)
        for error in report.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    verb = "Would create" if dry_run else "Created"
    click.echo(f"{file}: OK. {verb} {len(report.created)}, "
               f"{'would fill' if dry_run else 'filled'} {len(report.updated)}, "
               f"unchanged {len(report.unchanged)} owner(s).")
