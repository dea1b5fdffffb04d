"""`umkm-bot cases ...`: mentor cases from the command line.

    umkm-bot cases sla-check   remind and escalate waiting cases now (the scheduler runs the same)
    umkm-bot cases list        open and taken cases
"""
from __future__ import annotations

import click
from sqlalchemy import select

from bot.clock import local
from bot.handoff.sla import sla_job
from bot.services import build_services
from storage.models import Ticket


def register(group: click.Group) -> None:
    group.add_command(cases)


@click.group()
def cases() -> None:
    """Mentor cases (tickets)."""


@cases.command("sla-check")
def sla_check_command() -> None:
    """Remind mentors about untaken cases and escalate late ones to supervisors."""
    click.echo(sla_job(build_services()).summary())


@cases.command("list")
@click.option("--all", "show_all", is_flag=True, help="Include resolved cases.")
def list_command(show_all: bool) -> None:
    """Open and taken cases, most urgent first."""
    services = build_services()
    with services.db.session() as session:
        query = select(Ticket).order_by(Ticket.status, Ticket.priority, Ticket.id)
        if not show_all:
            query = query.where(Ticket.status != "resolved")
        rows = session.scalars(query).all()
        if not rows:
            click.echo("No cases.")
        for ticket in rows:
            click.echo(f"#{ticket.id:<5} {ticket.status:<9} P{ticket.priority} {ticket.topic:<24} "
                       f"owner {ticket.owner_id:<6} mentor {ticket.mentor_id or '-':<5} "
                       f"{local(ticket.created_at):%Y-%m-%d %H:%M}")
