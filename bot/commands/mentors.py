"""`umkm-bot mentors ...`: the mentor (JakOfficer) roster.

    umkm-bot mentors import roster.csv            check every row, then import all or nothing
    umkm-bot mentors import roster.csv --dry-run  only check
    umkm-bot mentors list [--all]
    umkm-bot mentors deactivate JO-0007 / activate JO-0007

The CSV columns are described in bot/handoff/roster.py and docs/handoff.md.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from bot.clock import utcnow
from bot.handoff.roster import import_roster, mentor_by_code
from bot.services import build_services
from storage.models.handoff import Mentor


def register(group: click.Group) -> None:
    group.add_command(mentors)


@click.group()
def mentors() -> None:
    """The mentor (JakOfficer) roster: import from CSV, list, activate."""


@mentors.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Only check the file; change nothing.")
@click.option("--deactivate-missing", is_flag=True, help="Make mentors who are not in the file inactive.")
def import_command(file: Path, dry_run: bool, deactivate_missing: bool) -> None:
    """Import or update mentors from a CSV FILE. Any bad row: nothing is imported."""
    services = build_services()
    with services.db.session() as session:
        # import_roster writes nothing unless every row is good, so committing is always safe.
        report = import_roster(session, file.read_bytes(), services.content, dry_run=dry_run,
                               deactivate_missing=deactivate_missing)
    if report.errors:
        click.echo(f"{file}: {len(report.errors)} error(s); nothing was imported:", err=True)
        for error in report.errors:
            click.echo(f"  {error}", err=True)
        sys.exit(1)
    if dry_run:
        click.echo(f"{file}: OK. Would create {len(report.created)} and update up to {len(report.updated)} mentor(s).")
        return
    click.echo(f"{file}: created {len(report.created)}, updated {len(report.updated)}, "
               f"unchanged {len(report.unchanged)}, deactivated {len(report.deactivated)}.")


@mentors.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include inactive mentors.")
def list_command(show_all: bool) -> None:
    """List the roster: code, role, name, chats, areas, sectors."""
    services = build_services()
    with services.db.session() as session:
        query = select(Mentor).options(selectinload(Mentor.areas)).order_by(Mentor.role.desc(), Mentor.code)
        if not show_all:
            query = query.where(Mentor.active.is_(True))
        rows = session.scalars(query).all()
        if not rows:
            click.echo("No mentors. Import a roster: umkm-bot mentors import FILE")
            return
        for mentor in rows:
            chats = "+".join(c for c in ("telegram", "whatsapp") if getattr(mentor, c)) or "-"
            areas = ", ".join(a.kecamatan or f"{a.city} (all)" for a in mentor.areas)
            sectors = ",".join(mentor.sectors or []) or "all sectors"
            state = "" if mentor.active else " [inactive]"
            click.echo(f"{mentor.code:<10} {mentor.role:<10} {mentor.name:<28} {chats:<18} {sectors:<22} {areas}{state}")


def _set_active(code: str, active: bool) -> None:
    services = build_services()
    with services.db.session() as session:
        mentor = mentor_by_code(session, code)
        if mentor is None:
            click.echo(f"No mentor with code {code!r}.", err=True)
            sys.exit(1)
        mentor.active = active
        mentor.updated_at = utcnow()
        click.echo(f"{mentor.code} is now {'active' if active else 'inactive'}.")


@mentors.command("deactivate")
@click.argument("code")
def deactivate_command(code: str) -> None:
    """Stop routing cases to a mentor (they keep the cases they hold)."""
    _set_active(code, False)


@mentors.command("activate")
@click.argument("code")
def activate_command(code: str) -> None:
    """Route cases to a mentor again."""
    _set_active(code, True)
