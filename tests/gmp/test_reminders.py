"""Scheduling reminders: one row per reminder, moved not duplicated; renewal, stalled-step,
next-check and snooze rules; per-kind opt-out. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select

from bot import reminders
from bot.clock import JAKARTA, utcnow
from storage.models import OutboxMessage
from storage.models.reminders import Reminder
from tests.gmp.helpers import add_owner, sweep_due


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=JAKARTA).astimezone(timezone.utc)


def count(session, model=Reminder, **where):
    query = select(func.count()).select_from(model)
    for key, value in where.items():
        query = query.where(getattr(model, key) == value)
    return session.scalar(query)


def test_scheduling_same_key_twice_moves_the_reminder(db, clock):
    with db.session() as s:
        owner = add_owner(s)
        reminders.schedule(s, owner.id, "self_check", utcnow() + timedelta(days=3), "k1")
        row = reminders.schedule(s, owner.id, "self_check", utcnow() + timedelta(days=5), "k1")
        assert count(s) == 1
        assert row.due_at == utcnow() + timedelta(days=5) and row.occurrence == 0


def test_unknown_kind_is_refused(db, clock):
    with db.session() as s:
        owner = add_owner(s)
        with pytest.raises(ValueError, match="unknown reminder kind"):
            reminders.schedule(s, owner.id, "horoscope", utcnow(), "k")


def test_next_self_check_follows_level_interval_at_nine_local(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        row = reminders.schedule_next_self_check(s, content, owner.id, "cppb_irt", "II", utcnow())
        assert row.due_at == wib(2026, 12, 23, 9, 0)  # level II: 30 days
        assert row.payload == {"checklist": "cppb_irt", "level": "II"}


def test_next_self_check_after_a_sent_one_is_a_new_occurrence(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        reminders.schedule_next_self_check(s, content, owner.id, "cppb_irt", "III", utcnow())
    clock.shift(timedelta(days=15))
    sweep_due(db, content)
    with db.session() as s:
        row = reminders.schedule_next_self_check(s, content, owner.id, "cppb_irt", "I", utcnow())
        assert row.status == "pending" and row.occurrence == 1
        assert count(s) == 1


def test_pirt_renewal_six_months_before_expiry(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        row = reminders.schedule_permit_renewal(s, content, owner.id, "P-IRT", date(2031, 6, 30), ref="2093174010234-31")
        assert row.kind == "permit_renewal" and row.due_at == wib(2030, 12, 30, 9, 0)


def test_cosmetics_notification_renewal_three_months_before(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        row = reminders.schedule_permit_renewal(s, content, owner.id, "notifikasi", date(2029, 5, 31))
        assert row.due_at == wib(2029, 2, 28, 9, 0)  # 31 May - 3 months, clamped to February's end


@pytest.mark.parametrize("name", ["pirt", "P-IRT", "notif", "notifikasi", "cosmetics_notification"])
def test_permit_names_used_by_legality_have_renewal_rules(content, name):
    assert reminders.permit_rule(content, name) is not None


def test_permit_without_expiry_gets_no_renewal_reminder(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        assert reminders.schedule_permit_renewal(s, content, owner.id, "halal", date(2030, 1, 1)) is None
        assert count(s) == 0


def test_recording_same_permit_twice_keeps_one_reminder(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        reminders.schedule_permit_renewal(s, content, owner.id, "pirt", date(2031, 6, 30), ref="A")
        reminders.schedule_permit_renewal(s, content, owner.id, "pirt", date(2031, 6, 30), ref="A")
        assert count(s) == 1 and count(s, status="pending") == 1


def test_renewed_permit_replaces_old_renewal_reminder(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        old = reminders.schedule_permit_renewal(s, content, owner.id, "pirt", date(2031, 6, 30), ref="A")
        new = reminders.schedule_permit_renewal(s, content, owner.id, "pirt", date(2036, 6, 30), ref="A")
        s.refresh(old)
        assert old.status == "cancelled" and new.status == "pending"


def test_renewal_recorded_late_is_due_now(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        row = reminders.schedule_permit_renewal(s, content, owner.id, "pirt", date(2027, 1, 31))
        assert row.due_at == utcnow()


def test_stalled_step_after_14_days_then_at_most_monthly(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        row = reminders.note_pathway_progress(s, content, owner.id, "p1", "pirt", {"id": "P-IRT", "en": "P-IRT"})
        assert row.due_at == utcnow() + timedelta(days=14)
    clock.shift(timedelta(days=14))
    report = sweep_due(db, content)
    assert report.queued == 1
    sent_at = utcnow()
    with db.session() as s:
        row = s.scalar(select(Reminder))
        assert row.status == "pending" and row.due_at == sent_at + timedelta(days=30)
    # Progress 5 days later, then stalled again: the next nudge still waits a month from the last.
    clock.shift(timedelta(days=5))
    with db.session() as s:
        row = reminders.note_pathway_progress(s, content, owner.id, "p1", "halal", "Halal")
        assert row.due_at == sent_at + timedelta(days=30)


def test_finished_pathway_cancels_stalled_reminder(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        reminders.note_pathway_progress(s, content, owner.id, "p1", "nib")
        assert reminders.pathway_finished(s, owner.id, "p1") == 1
        assert count(s, status="cancelled") == 1


def test_snooze_brings_last_reminder_back_tomorrow_once(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        reminders.schedule(s, owner.id, "self_check", utcnow(), "self_check:x", payload={"checklist": "cppb_irt", "level": "II"})
    assert sweep_due(db, content).queued == 1
    clock.shift(timedelta(hours=2))
    with db.session() as s:
        row = reminders.snooze(s, content, owner.id)
        assert row.due_at == wib(2026, 11, 24, 9, 0) and row.occurrence == 1 and row.status == "pending"
    assert sweep_due(db, content).queued == 0
    clock.move_to(wib(2026, 11, 24, 9, 0))
    assert sweep_due(db, content).queued == 1
    with db.session() as s:
        keys = sorted(s.scalars(select(OutboxMessage.dedupe_key)))
        assert len(keys) == 2 and len(set(keys)) == 2


def test_snooze_without_recent_reminder_does_nothing(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        assert reminders.snooze(s, content, owner.id) is None


def test_kind_can_be_turned_off_and_on(db, clock):
    with db.session() as s:
        owner = add_owner(s)
        reminders.set_kind_enabled(s, owner.id, "self_check", False)
        reminders.set_kind_enabled(s, owner.id, "self_check", False)
        assert reminders.kinds_off(s, owner.id) == {"self_check"}
        reminders.set_kind_enabled(s, owner.id, "self_check", True)
        assert reminders.kinds_off(s, owner.id) == set()


def test_upcoming_lists_pending_in_due_order(db, clock, content):
    with db.session() as s:
        owner = add_owner(s)
        reminders.schedule(s, owner.id, "self_check", utcnow() + timedelta(days=9), "a")
        reminders.schedule(s, owner.id, "stalled_step", utcnow() + timedelta(days=2), "b")
        reminders.schedule(s, owner.id, "self_check", utcnow() + timedelta(days=1), "c")
        reminders.cancel(s, owner.id, key="c")
        assert [r.dedupe_key for r in reminders.upcoming(s, owner.id)] == ["b", "a"]
