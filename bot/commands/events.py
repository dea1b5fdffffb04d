"""`umkm-bot events ...`: training events, their registrations and attendance.

    umkm-bot events create --title "Pelatihan GMP Jakarta Timur" --kind gmp_training \\
        --start "2026-12-01 09:00" --place "PPKUKM Jakarta Timur, Jl. ..." --quota 40 \\
        --segment "sector=food kota=jakarta-timur stage=no:pirt"
    umkm-bot events list
    umkm-bot events show 3
    umkm-bot events set-quota 3 50                 # seats freed go to the waiting list, who are told
    umkm-bot events attendance mark 3 12 15 --address 6281234567890
    umkm-bot events attendance export 3 -o hadir.csv
    umkm-bot events tick                           # queue due broadcasts and reminders (`umkm-bot scheduler` does it every minute)
"""
from __future__ import annotations

import click
from sqlalchemy import or_, select

from bot import broadcasts, events
from bot.clock import local, utcnow
from bot.services import build_services
from storage.models import Owner
from storage.models.events import EventRegistration, TrainingEvent


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    raise SystemExit(2)


def _when(moment) -> str:
    return f"{local(moment):%Y-%m-%d %H:%M} WIB"


def register(group: click.Group) -> None:
    @group.group("events")
    def events_group() -> None:
        """Training events: create, list, attendance."""

    @events_group.command("create")
    @click.option("--title", required=True)
    @click.option("--kind", required=True, help="gmp_training, pkp_course, coaching_clinic, ecommerce_class, ... "
                                                "(content/events/kinds.yaml)")
    @click.option("--start", "start", required=True, help="Jakarta time, YYYY-MM-DD HH:MM.")
    @click.option("--end", "end", help="Jakarta time, YYYY-MM-DD HH:MM.")
    @click.option("--place", help="Address of the venue.")
    @click.option("--link", help="Online meeting link.")
    @click.option("--quota", type=int, help="Seats; later registrations join the waiting list. Default: no limit.")
    @click.option("--segment", default="", help='Who it is for, e.g. "sector=food stage=no:pirt" (see broadcast).')
    @click.option("--description", default="")
    def create(title, kind, start, end, place, link, quota, segment, description) -> None:
        """Create a training event."""
        services = build_services()
        try:
            starts_at = events.parse_local_time(start)
            ends_at = events.parse_local_time(end) if end else None
            with services.db.session() as session:
                event = events.create_event(
                    session, services.content, title=title, kind=kind, starts_at=starts_at, ends_at=ends_at,
                    place=place, link=link, quota=quota, segment=segment, description=description,
                )
                event_id = event.id
        except events.EventError as exc:
            _fail(str(exc))
        click.echo(f"Event {event_id} created: {title}, {_when(starts_at)}. "
                   f"Invite with `umkm-bot broadcast send --event {event_id}`.")

    @events_group.command("list")
    @click.option("--all", "show_all", is_flag=True, help="Past events too.")
    def list_(show_all: bool) -> None:
        """Upcoming events with seats taken and the waiting list."""
        services = build_services()
        with services.db.session() as session:
            query = select(TrainingEvent).order_by(TrainingEvent.starts_at)
            if not show_all:
                query = query.where(TrainingEvent.starts_at > utcnow())
            rows = session.execute(query).scalars().all()
            counts = events.seat_counts(session, [e.id for e in rows])
        if not rows:
            click.echo("No events." if show_all else "No upcoming events (--all shows past ones).")
        for event in rows:
            c = counts[event.id]
            quota = event.quota if event.quota is not None else "-"
            click.echo(f"{event.id:>4}  {_when(event.starts_at)}  {event.kind:<16} {event.title}  "
                       f"seats {c['registered'] + c['attended']}/{quota}  waiting {c['waitlisted']}  "
                       f"attended {c['attended']}  {event.status}")

    @events_group.command("show")
    @click.argument("event_id", type=int)
    def show(event_id: int) -> None:
        """One event and its registrations (owner ids, in order)."""
        services = build_services()
        with services.db.session() as session:
            event = session.get(TrainingEvent, event_id)
            if event is None:
                _fail(f"There is no event {event_id}.")
            regs = session.execute(
                select(EventRegistration).where(EventRegistration.event_id == event_id)
                .order_by(EventRegistration.status, EventRegistration.waitlisted_at, EventRegistration.id)
            ).scalars().all()
            click.echo(f"Event {event.id}: {event.title} ({event.kind}), {_when(event.starts_at)}, {event.status}")
            click.echo(f"Where: {event.place or event.link}")
            click.echo(f"Quota: {event.quota if event.quota is not None else 'no limit'}; segment `{event.segment or '-'}`")
            for status in ("registered", "attended", "waitlisted", "cancelled"):
                ids = [str(r.owner_id) for r in regs if r.status == status]
                click.echo(f"{status:<11} {len(ids):>4}  {' '.join(ids)}")

    @events_group.command("set-quota")
    @click.argument("event_id", type=int)
    @click.argument("quota", type=int)
    def set_quota(event_id: int, quota: int) -> None:
        """Change the number of seats; freed seats go to the waiting list in order."""
        if quota < 1:
            _fail("The quota must be at least 1.")
        services = build_services()
        with services.db.session() as session:
            event = session.get(TrainingEvent, event_id)
            if event is None:
                _fail(f"There is no event {event_id}.")
            event.quota = quota
            session.flush()
            promoted = events.promote_waitlist(session, services.content, event_id)
        click.echo(f"Event {event_id}: quota {quota}; {len(promoted)} owners moved from the waiting list.")

    @events_group.group("attendance")
    def attendance() -> None:
        """Who came."""

    @attendance.command("mark")
    @click.argument("event_id", type=int)
    @click.argument("owner_ids", type=int, nargs=-1)
    @click.option("--address", "addresses", multiple=True, help="An owner's phone number or chat id (repeatable).")
    @click.option("--undo", is_flag=True, help="Unmark: the owner did not come after all.")
    def mark(event_id: int, owner_ids: tuple[int, ...], addresses: tuple[str, ...], undo: bool) -> None:
        """Mark owners (by id or address) as attended."""
        services = build_services()
        with services.db.session() as session:
            if session.get(TrainingEvent, event_id) is None:
                _fail(f"There is no event {event_id}.")
            ids = list(owner_ids)
            for address in addresses:
                wanted = address.strip().lstrip("+")
                found = session.execute(
                    select(Owner.id).where(or_(Owner.address == wanted, Owner.address == f"+{wanted}"))
                ).scalars().all()
                if len(found) != 1:
                    _fail(f"{'No' if not found else 'More than one'} owner with address {address}; use the owner id.")
                ids.extend(found)
            if not ids:
                _fail("Name at least one owner (id or --address).")
            try:
                changed = events.mark_attendance(session, event_id, ids, attended=not undo)
            except events.EventError as exc:
                _fail(str(exc))
        click.echo(f"Event {event_id}: {changed} owners {'unmarked' if undo else 'marked as attended'}.")

    @attendance.command("export")
    @click.argument("event_id", type=int)
    @click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True), help="CSV file (default: stdout).")
    def export(event_id: int, output: str | None) -> None:
        """Registrations and attendance as CSV (attended first)."""
        services = build_services()
        with services.db.session() as session:
            if session.get(TrainingEvent, event_id) is None:
                _fail(f"There is no event {event_id}.")
            data = events.attendance_csv(session, event_id)
        if output:
            with open(output, "w", encoding="utf-8", newline="") as handle:
                handle.write(data)
            click.echo(f"Wrote {data.count(chr(10)) - 1} rows to {output}.")
        else:
            click.echo(data, nl=False)

    @events_group.command("tick")
    def tick() -> None:
        """Queue broadcasts whose time has come and due reminders, once (the scheduler does this every minute)."""
        from bot import reminders

        services = build_services()
        done = broadcasts.sweep_due(services.db, services.content)
        report = reminders.sweep_due(services.db, services.content,
                                     quiet=reminders.QuietHours.from_settings(services.settings))
        click.echo(f"broadcasts queued: {len(done)}; reminders queued: {report.queued} "
                   f"(expired {report.expired}, suppressed {report.suppressed})")
