"""The staff CLI: `umkm-bot events ...` and `umkm-bot broadcast ...` on both databases."""
from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from bot import broadcasts
from bot.cli import main
from bot.clock import local, utcnow
from storage.models import OutboxMessage
from storage.models.events import Broadcast
from tests.broadcasts.factories import make_owner


@pytest.fixture
def cli(db, monkeypatch):
    monkeypatch.setenv("DATABASE_URL", db.url)

    def run(*args, input=None):
        return CliRunner().invoke(main, list(args), input=input, catch_exceptions=False)

    return run


def outbox_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage))


def start_in(days: int) -> str:
    return f"{local(utcnow() + timedelta(days=days)):%Y-%m-%d} 09:00"


def test_events_create_and_list(cli, db):
    result = cli("events", "create", "--title", "Pelatihan GMP Jakarta Timur", "--kind", "gmp_training",
                 "--start", start_in(5), "--place", "Gedung PPKUKM", "--quota", "40",
                 "--segment", "sector=food kota=jakarta-timur stage=no:pirt")
    assert result.exit_code == 0, result.output
    assert "Event 1 created" in result.output
    listed = cli("events", "list").output
    assert "Pelatihan GMP Jakarta Timur" in listed and "seats 0/40" in listed


@pytest.mark.parametrize("args, message", [
    (["--kind", "gmp_trainng"], "Unknown kind `gmp_trainng`"),
    (["--segment", "kota=jakarta-timur sektr=food"], "Unknown field `sektr`"),
    (["--start", "besok pagi"], "YYYY-MM-DD HH:MM"),
])
def test_events_create_refuses_bad_input_clearly(cli, args, message):
    base = {"--title": "Klinik", "--kind": "coaching_clinic", "--start": start_in(3), "--place": "Balai"}
    for flag, value in zip(args[::2], args[1::2]):
        base[flag] = value
    result = cli("events", "create", *[x for pair in base.items() for x in pair])
    assert result.exit_code == 2 and message in result.output


def test_broadcast_bad_segment_or_template_prints_errors_and_queues_nothing(cli, db):
    with db.session() as session:
        make_owner(session)
    result = cli("broadcast", "send", "--segment", "sektor=food kota=", "--message", "Halo {{ nama }}", "--yes")
    assert result.exit_code == 2
    assert "error: Segment: `kota=` has an empty value." in result.output
    assert "error: The message uses an unknown variable `nama`." in result.output
    assert "Nothing was queued." in result.output
    assert outbox_count(db) == 0
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_broadcast_preview_send_status_cancel(cli, db, content):
    with db.session() as session:
        for name in ("Siti Aminah", "Budi", "Ani"):
            make_owner(session, name=name)
        make_owner(session, sector="cosmetics")
    preview = cli("broadcast", "preview", "--segment", "sector=food", "--message", "Halo {{ first_name }}!")
    assert preview.exit_code == 0, preview.output
    assert "Recipients: 3  (whatsapp 3)" in preview.output and "  Halo Siti!" in preview.output
    assert outbox_count(db) == 0

    declined = cli("broadcast", "send", "--segment", "sector=food", "--message", "Halo {{ first_name }}!", input="n\n")
    assert "Not sent." in declined.output and outbox_count(db) == 0

    sent = cli("broadcast", "send", "--segment", "sector=food", "--message", "Halo {{ first_name }}!", "--yes")
    assert sent.exit_code == 0, sent.output
    assert "Broadcast 1: 3 messages queued" in sent.output
    assert "queued 3 · sent 0" in cli("broadcast", "status", "1").output
    with db.session() as session:  # the sender writes one message, and it is delivered
        assert broadcasts.feed_outbox(session, content, channel="whatsapp", limit=1) == 1
    with db.session() as session:
        first = session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id)).scalars().first()
        session.execute(update(OutboxMessage).where(OutboxMessage.id == first).values(status="delivered"))
    status = cli("broadcast", "status", "1")
    assert "Broadcast 1: queued" in status.output
    assert "queued 2 · sent 0 · delivered 1 · read 0 · failed 0 · cancelled 0" in status.output
    cancelled = cli("broadcast", "cancel", "1")
    assert "2 messages withdrawn" in cancelled.output
    assert "queued 0 · sent 0 · delivered 1 · read 0 · failed 0 · cancelled 2" in cli("broadcast", "status", "1").output
    assert "cancelled" in cli("broadcast", "list").output


def test_broadcast_scheduled_with_at_is_queued_by_tick(cli, db, clock):
    with db.session() as session:
        make_owner(session)
    at = f"{local(utcnow() + timedelta(hours=2)):%Y-%m-%d %H:%M}"
    result = cli("broadcast", "send", "--segment", "all", "--message", "Halo", "--at", at, "--yes")
    assert "scheduled at" in result.output and outbox_count(db) == 0
    assert "broadcasts queued: 0" in cli("events", "tick").output
    clock.shift(timedelta(hours=2))
    assert "broadcasts queued: 1" in cli("events", "tick").output
    assert "queued 1 · sent 0" in cli("broadcast", "status", "1").output


def test_event_invitation_then_attendance_mark_and_export(cli, db, content):
    with db.session() as session:
        siti = make_owner(session, name="Siti Aminah", address="+6281200000001")
        budi = make_owner(session, name="Budi")
        walk_in = make_owner(session, name="Tono")
    cli("events", "create", "--title", "PKP Cakung", "--kind", "pkp_course", "--start", start_in(2),
        "--place", "Puskesmas Cakung", "--quota", "1")
    assert "Event 1 has no target segment" in cli("broadcast", "send", "--event", "1", "--yes").output
    sent = cli("broadcast", "send", "--event", "1", "--segment", "all", "--yes")
    assert sent.exit_code == 0 and "3 messages queued" in sent.output, sent.output
    from bot import events
    with db.session() as session:
        events.register(session, 1, siti.id)
        events.register(session, 1, budi.id)  # waitlisted: quota 1
    marked = cli("events", "attendance", "mark", "1", str(walk_in.id), "--address", "6281200000001")
    assert "2 owners marked as attended" in marked.output
    exported = cli("events", "attendance", "export", "1").output
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert [(r["name"], r["status"]) for r in rows] == [("Siti Aminah", "attended"), ("Tono", "attended"),
                                                        ("Budi", "waitlisted")]
    shown = cli("events", "show", "1").output
    assert "attended       2" in shown and "waitlisted     1" in shown
