"""The reminder sweep with a frozen clock: sent once, quiet hours, downtime, opt-out.
Runs on SQLite and PostgreSQL (`db`)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select, update

from bot import reminders
from bot.clock import JAKARTA, utcnow
from bot.reminders import QuietHours
from storage.models import OutboxMessage
from storage.models.reminders import Reminder
from tests.gmp.helpers import add_owner, sweep_due


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=JAKARTA).astimezone(timezone.utc)


def outbox(db) -> list[OutboxMessage]:
    with db.session() as s:
        return list(s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)))


def due_self_check(db, at, n=1, **owner_fields) -> int:
    with db.session() as s:
        owner = add_owner(s, n, **owner_fields)
        reminders.schedule(s, owner.id, "self_check", at, f"self_check:{owner.id}",
                           payload={"checklist": "cppb_irt", "level": "II"})
        return owner.id


def test_due_reminder_is_sent_once(db, clock, content):
    owner_id = due_self_check(db, utcnow() - timedelta(minutes=1))
    first = sweep_due(db, content)
    second = sweep_due(db, content)
    assert (first.queued, second.queued) == (1, 0)
    [message] = outbox(db)
    assert message.owner_id == owner_id and message.kind == "reminder" and message.priority == 10
    assert message.status == "pending" and message.dedupe_key.startswith("reminder:")
    assert "CPPB-IRT" in message.text and "level II" in message.text
    with db.session() as s:
        assert s.scalar(select(Reminder.status)) == "queued"


def test_reminder_not_yet_due_waits(db, clock, content):
    due_self_check(db, utcnow() + timedelta(minutes=1))
    assert sweep_due(db, content).queued == 0
    clock.shift(timedelta(minutes=1))
    assert sweep_due(db, content).queued == 1


def test_reminder_text_in_owner_language(db, clock, content):
    due_self_check(db, utcnow(), lang="en")
    sweep_due(db, content)
    assert outbox(db)[0].text.startswith("Hello, it's time for your CPPB-IRT self-check")


def test_quiet_hours_defer_to_seven(db, clock, content):
    clock.move_to(wib(2026, 11, 23, 21, 0))
    due_self_check(db, wib(2026, 11, 23, 20, 30))
    report = sweep_due(db, content)
    assert report.queued == 0 and report.quiet_until == wib(2026, 11, 24, 7, 0)
    clock.move_to(wib(2026, 11, 24, 6, 59))
    assert sweep_due(db, content).queued == 0
    clock.move_to(wib(2026, 11, 24, 7, 0))
    assert sweep_due(db, content).queued == 1
    assert len(outbox(db)) == 1


def test_quiet_hours_window_edges():
    quiet = QuietHours(20, 7)
    assert not quiet.active(wib(2026, 11, 23, 19, 59))
    assert quiet.active(wib(2026, 11, 23, 20, 0))
    assert quiet.active(wib(2026, 11, 24, 0, 30))
    assert quiet.active(wib(2026, 11, 24, 6, 59))
    assert not quiet.active(wib(2026, 11, 24, 7, 0))
    assert quiet.ends_after(wib(2026, 11, 24, 0, 30)) == wib(2026, 11, 24, 7, 0)


def test_missed_reminders_after_three_day_outage_sent_once_each(db, clock, content):
    start = utcnow()
    # Due every 7 hours across the outage, some of them in the night.
    for n in range(10):
        due_self_check(db, start + timedelta(hours=7 * n), n=n)
    with db.session() as s:
        stalled_owner = add_owner(s, 99)
        reminders.note_pathway_progress(s, content, stalled_owner.id, "p1", "nib", at=start - timedelta(days=14))
    clock.shift(timedelta(days=3))  # the scheduler was down; back at 09:00 WIB
    first = sweep_due(db, content)
    again = sweep_due(db, content)
    assert first.queued == 11 and again.queued == 0
    messages = outbox(db)
    assert len(messages) == 11 and len({m.owner_id for m in messages}) == 11
    with db.session() as s:
        stalled = s.scalar(select(Reminder).where(Reminder.kind == "stalled_step"))
        # A repeating reminder is not sent once per missed interval: once, then a month from now.
        assert stalled.due_at == utcnow() + timedelta(days=30)


def test_downtime_over_quiet_hours_then_morning_sends_once(db, clock, content):
    due_self_check(db, utcnow())
    clock.move_to(wib(2026, 11, 25, 23, 0))  # back up in the night
    assert sweep_due(db, content).queued == 0
    clock.move_to(wib(2026, 11, 26, 7, 0))
    assert sweep_due(db, content).queued == 1
    assert sweep_due(db, content).queued == 0


def test_opted_out_owner_gets_no_reminder(db, clock, content):
    due_self_check(db, utcnow(), opted_out_at=utcnow() - timedelta(days=1))
    report = sweep_due(db, content)
    assert report.queued == 0 and report.suppressed == 1 and outbox(db) == []
    with db.session() as s:
        row = s.scalar(select(Reminder))
        assert (row.status, row.outcome) == ("suppressed", "opted_out")


def test_turned_off_kind_is_suppressed_other_kinds_still_sent(db, clock, content):
    owner_id = due_self_check(db, utcnow())
    with db.session() as s:
        reminders.set_kind_enabled(s, owner_id, "self_check", False)
        reminders.note_pathway_progress(s, content, owner_id, "p1", "nib", at=utcnow() - timedelta(days=15))
    report = sweep_due(db, content)
    assert (report.queued, report.suppressed) == (1, 1)
    [message] = outbox(db)
    assert "belum ada kemajuan" in message.text


def test_expired_reminder_is_not_sent(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        reminders.schedule(s, owner.id, "self_check", utcnow() - timedelta(days=2), "old",
                           expires_at=utcnow() - timedelta(days=1), payload={"checklist": "cppb_irt"})
    assert sweep_due(db, content).expired == 1 and outbox(db) == []


def test_bad_reminder_text_does_not_stop_other_reminders(db, clock, content):
    reminders.register_kind(reminders.ReminderKind("test_broken", "gmp.reminder.stalled_step", "gmp.reminder_kind.stalled_step"))
    try:
        with db.session() as s:
            owner = add_owner(s, 1)
            reminders.schedule(s, owner.id, "test_broken", utcnow(), "broken", payload={})  # no {{ step }}
        due_self_check(db, utcnow(), n=2)
        report = sweep_due(db, content)  # and the sender's first step: writing the messages
        assert report.queued == 2  # the sweep renders nothing: the text fails when it is written
        messages = {m.status: m for m in outbox(db)}
        assert set(messages) == {"pending", "unsendable"}
        sent, broken = messages["pending"], messages["unsendable"]
        assert "self-check" in sent.text.lower() or "cek mandiri" in sent.text.lower(), sent.text
        assert broken.status == "unsendable" and "test_broken" in broken.error and broken.text == ""
        with db.session() as s:
            row = s.scalar(select(Reminder).where(Reminder.dedupe_key == "broken"))
            assert (row.status, row.outcome, row.send_occurrence) == ("failed", "render_error", None)
    finally:
        reminders.KINDS.pop("test_broken")


def test_sweep_works_in_batches(db, clock, content):
    for n in range(7):
        due_self_check(db, utcnow(), n=n)
    report = sweep_due(db, content, batch_size=3)
    assert report.queued == 7 and report.batches == 3
    with db.session() as s:
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.dedupe_key)))) == 7


def test_outbox_refuses_second_message_for_same_occurrence(db, clock, content):
    """Guards the last line of defence: even if a row were swept twice (its mark lost), the key
    stops a repeat."""
    due_self_check(db, utcnow())
    assert sweep_due(db, content).queued == 1
    with db.session() as s:
        s.execute(update(Reminder).values(status="pending"))  # same occurrence, due again
    assert sweep_due(db, content).queued == 1
    assert len(outbox(db)) == 1
