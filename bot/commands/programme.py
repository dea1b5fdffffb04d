"""`umkm-bot programme ...`: JakPreneur's seven steps (P1-P7).

    umkm-bot programme funnel [--area jakarta-timur] [--cohort 2026-11] [--by area|cohort]
    umkm-bot programme import records.csv [--dry-run]     P5-P7 records: owner_id or phone, step, date, note
"""
from __future__ import annotations

import sys
from pathlib import Path

import click

from bot import programme
from bot.dashboard.auth import audit
from bot.services import build_services


def register(group: click.Group) -> None:
    group.add_command(programme_group)


@click.group("programme")
def programme_group() -> None:
    """The 7-step programme: the funnel, and P5-P7 records from CSV."""


@programme_group.command("funnel")
@click.option("--area", default="", help="A city area key, e.g. jakarta-timur.")
@click.option("--cohort", default="", help="Registration month, e.g. 2026-11.")
@click.option("--by", "group", type=click.Choice(["area", "cohort"]), default=None, help="Split the funnel.")
def funnel_command(area: str, cohort: str, group: str | None) -> None:
    """Registered owners who reached each step, as CSV."""
    services = build_services()
    with services.db.session() as session:
        if group:
            rows = programme.funnel_by(session, group, area, cohort)
        else:
            rows = [("total", programme.funnel(session, area, cohort).counts)]
    click.echo(",".join([group or "group", *programme.STEPS]))
    for key, counts in rows:
        click.echo(",".join([key or "-", *(str(counts.get(s, 0)) for s in programme.STEPS)]))


@programme_group.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the file; change nothing.")
def import_command(file: Path, dry_run: bool) -> None:
    """Record P5-P7 from a CSV FILE. Any bad row: nothing is recorded."""
    services = build_services()
    with services.db.session() as session:
        count, errors = programme.import_records(session, file.read_bytes(), "cli", dry_run=dry_run)
        if not errors and not dry_run:
            audit(session, "cli", "programme_imported", "owners", f"{file.name}: {count} records")
    if errors:
        click.echo(f"{file}: {len(errors)} error(s); nothing was recorded:", err=True)
        for error in errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    click.echo(f"{file}: OK. {'Would record' if dry_run else 'Recorded'} {count} step(s).")
