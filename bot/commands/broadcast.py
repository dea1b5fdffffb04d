"""`umkm-bot broadcast preview|send|status|cancel|list`: program staff message a segment of owners.

    umkm-bot broadcast preview --segment "sector=food kota=jakarta-timur stage=no:pirt" \\
        --message "Halo {{ first_name }}, ..." [--event 3]
    umkm-bot broadcast send --event 3 --yes              # the event's segment and standard invitation
    umkm-bot broadcast send --segment all --message-file pesan.txt --at "2026-12-01 09:00"
    umkm-bot broadcast status 12 --follow                # progress bar until every message left
    umkm-bot broadcast cancel 12

A bad segment or template prints every problem and exits with status 2; nothing is stored or queued.
"""
from __future__ import annotations

import time
from datetime import datetime

import click
from sqlalchemy import select

from bot import broadcasts
from bot.clock import local, utcnow
from bot.events import EventError, parse_local_time
from bot.services import build_services
from storage.models.events import Broadcast


def _fail(problems: list[str]) -> None:
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    click.echo("Nothing was queued.", err=True)
    raise SystemExit(2)


def _message(text: str | None, path: str | None, label: str) -> str | None:
    if text and path:
        _fail([f"Give the {label} either inline or as a file, not both."])
    if path:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    return text


def message_options(func):
    for option in reversed([
        click.option("--segment", "-s", help='Who gets it, e.g. "sector=food kota=jakarta-timur stage=no:pirt" or "all". '
                                             "Default with --event: the event's segment."),
        click.option("--message", "-m", help="The message, a Jinja2 template with owner variables ({{ first_name }}). "
                                             "Default with --event: the standard invitation."),
        click.option("--message-file", type=click.Path(exists=True, dir_okay=False), help="The message, from a file."),
        click.option("--message-en", help="The message for owners who chose English (default: the same message)."),
        click.option("--message-en-file", type=click.Path(exists=True, dir_okay=False)),
        click.option("--event", "-e", "event_id", type=int, help="Invite to this event: owners answer DAFTAR or 1."),
    ]):
        func = option(func)
    return func


def _plan_args(segment, message, message_file, message_en, message_en_file, event_id) -> dict:
    return {
        "segment": segment,
        "template": _message(message, message_file, "message"),
        "template_en": _message(message_en, message_en_file, "English message"),
        "event_id": event_id,
    }


def _show_plan(checked: broadcasts.Plan) -> None:
    channels = ", ".join(f"{name} {count}" for name, count in sorted(checked.by_channel.items())) or "none"
    click.echo(f"Segment:    {checked.segment.spec}  ({checked.segment.describe()})")
    click.echo(f"Recipients: {checked.recipients}  ({channels})")
    if checked.sample is None:
        click.echo("Sample:     (no owner matches this segment)")
        return
    click.echo(f"Sample for owner {checked.sample_owner_id}:")
    click.echo("  " + checked.sample.replace("\n", "\n  "))


def _format_progress(counts: dict[str, int]) -> str:
    return " · ".join(f"{state} {counts[state]}" for state in broadcasts.PROGRESS_STATES)


def register(group: click.Group) -> None:
    @group.group("broadcast")
    def broadcast_group() -> None:
        """Announcements to a segment of owners (training invitations and the like)."""

    @broadcast_group.command("preview")
    @message_options
    def preview(segment, message, message_file, message_en, message_en_file, event_id) -> None:
        """Recipient count and one rendered message; sends nothing."""
        services = build_services()
        args = _plan_args(segment, message, message_file, message_en, message_en_file, event_id)
        try:
            with services.db.session() as session:
                checked = broadcasts.plan(session, services.content, **args)
        except broadcasts.BroadcastError as exc:
            _fail(exc.problems)
        _show_plan(checked)

    @broadcast_group.command("send")
    @message_options
    @click.option("--at", "at", help="Send later, at this Jakarta time (YYYY-MM-DD HH:MM). Default: now.")
    @click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
    def send(segment, message, message_file, message_en, message_en_file, event_id, at, yes) -> None:
        """Send now (or schedule with --at) after showing the preview."""
        services = build_services()
        args = _plan_args(segment, message, message_file, message_en, message_en_file, event_id)
        scheduled_at = None
        if at:
            try:
                scheduled_at = parse_local_time(at)
            except EventError as exc:
                _fail([str(exc)])
            if scheduled_at <= utcnow():
                _fail(["The --at time is in the past."])
        try:
            with services.db.session() as session:
                checked = broadcasts.plan(session, services.content, **args)
        except broadcasts.BroadcastError as exc:
            _fail(exc.problems)
        _show_plan(checked)
        if checked.recipients == 0:
            _fail(["No owner matches this segment."])
        when = f"at {local(scheduled_at):%Y-%m-%d %H:%M} WIB" if scheduled_at else "now"
        if not yes and not click.confirm(f"Send to {checked.recipients} owners {when}?"):
            click.echo("Not sent.")
            return
        try:
            with services.db.session() as session:
                broadcast, _ = broadcasts.create(session, services.content, scheduled_at=scheduled_at,
                                                 checked=checked, **args)
        except broadcasts.BroadcastError as exc:
            _fail(exc.problems)
        if scheduled_at is not None:
            click.echo(f"Broadcast {broadcast.id} scheduled {when}. Cancel with `umkm-bot broadcast cancel {broadcast.id}`.")
            return
        started = time.monotonic()
        with click.progressbar(length=checked.recipients, label=f"Queueing broadcast {broadcast.id}") as bar:
            try:
                written = broadcasts.enqueue(services.db, services.content, broadcast.id, on_chunk=bar.update)
            except broadcasts.BroadcastError as exc:
                _fail(exc.problems)
        click.echo(f"Broadcast {broadcast.id}: {written} messages queued in {time.monotonic() - started:.1f}s. "
                   f"Follow with `umkm-bot broadcast status {broadcast.id} --follow`.")

    @broadcast_group.command("status")
    @click.argument("broadcast_id", type=int)
    @click.option("--follow", "-f", is_flag=True, help="Keep showing progress until every message has left the queue.")
    @click.option("--interval", default=1.0, show_default=True, help="Seconds between updates with --follow.")
    def status(broadcast_id: int, follow: bool, interval: float) -> None:
        """Progress: queued / sent / delivered / read / failed."""
        services = build_services()
        with services.db.session() as session:
            broadcast = session.get(Broadcast, broadcast_id)
            if broadcast is None:
                _fail([f"There is no broadcast {broadcast_id}."])
            counts = broadcasts.progress(session, broadcast_id)
        click.echo(f"Broadcast {broadcast.id}: {broadcast.status}, segment `{broadcast.segment}`, "
                   f"due {local(broadcast.scheduled_at):%Y-%m-%d %H:%M} WIB, {broadcast.recipient_count} recipients")
        if broadcast.error:
            click.echo(f"error: {broadcast.error}")
        total = max(counts["total"], broadcast.recipient_count, 1)
        with click.progressbar(length=total, label="Sent", show_pos=True, show_percent=True) as bar:
            bar.update(counts["done"])
            shown = counts["done"]
            while follow and broadcast.status in ("scheduled", "queuing", "queued") and counts["queued"] > 0:
                time.sleep(interval)
                with services.db.session() as session:
                    broadcast = session.get(Broadcast, broadcast_id)
                    counts = broadcasts.progress(session, broadcast_id)
                bar.update(max(0, counts["done"] - shown))
                shown = max(shown, counts["done"])
        click.echo(_format_progress(counts))
        with services.db.session() as session:  # what did not go out, and why (never just "failed 2")
            for entry in broadcasts.not_delivered(session, broadcast_id):
                owners = ", ".join(str(i) for i in entry["owner_ids"][:10]) + (" ..." if entry["count"] > 10 else "")
                click.echo(f"{entry['status']} {entry['count']} ({entry['channel']}): {entry['reason']} "
                           f"[owners {owners}]")

    @broadcast_group.command("cancel")
    @click.argument("broadcast_id", type=int)
    def cancel(broadcast_id: int) -> None:
        """Stop a broadcast: messages not yet sent are withdrawn."""
        services = build_services()
        try:
            withdrawn = broadcasts.cancel(services.db, broadcast_id)
        except broadcasts.BroadcastError as exc:
            _fail(exc.problems)
        click.echo(f"Broadcast {broadcast_id} cancelled; {withdrawn} messages withdrawn before sending.")

    @broadcast_group.command("list")
    @click.option("--limit", default=20, show_default=True)
    def list_(limit: int) -> None:
        """The latest broadcasts with their progress."""
        services = build_services()
        with services.db.session() as session:
            rows = session.execute(select(Broadcast).order_by(Broadcast.id.desc()).limit(limit)).scalars().all()
            if not rows:
                click.echo("No broadcasts yet.")
            for broadcast in rows:
                counts = broadcasts.progress(session, broadcast.id)
                event = f" event {broadcast.event_id}" if broadcast.event_id else ""
                click.echo(f"{broadcast.id:>5}  {broadcast.status:<9} {_when(broadcast.scheduled_at)}{event}  "
                           f"`{broadcast.segment}`  {_format_progress(counts)}")


def _when(moment: datetime) -> str:
    return f"{local(moment):%Y-%m-%d %H:%M} WIB"
