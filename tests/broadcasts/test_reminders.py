"""Event reminders with a frozen clock (2026-11-23 09:00 WIB): the day before at 09:00 WIB and
2 hours before, each once, only to registered owners."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot import events
from bot.clock import JAKARTA, utcnow
from storage.models import OutboxMessage, Owner
from storage.models.events import EventRegistration
from tests.broadcasts.factories import make_owner


def wib(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=JAKARTA)


def reminders(db) -> list[tuple[int, str]]:
    with db.session() as session:
        rows = session.execute(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("ev:%"))
                               .order_by(OutboxMessage.id)).scalars().all()
        found = [(r.owner_id, r.dedupe_key.split(":")[3]) for r in rows]
        return [pair for pair in found if pair[1] in ("day_before", "two_hours")]


def setup_event(db, content, starts: str, quota: int = 2):
    with db.session() as session:
        event = events.create_event(session, content, title="Penyuluhan Keamanan Pangan", kind="pkp_course",
                                    starts_at=wib(starts), place="Puskesmas Cakung", quota=quota)
        siti, budi, ani, tono = (make_owner(session, name=n) for n in ("Siti", "Budi", "Ani", "Tono"))
        events.register(session, event.id, siti.id)
        events.register(session, event.id, budi.id)
        events.register(session, event.id, ani.id)  # waitlisted: no reminders
        events.register(session, event.id, tono.id)  # waitlisted too
        return event, {"siti": siti.id, "budi": budi.id, "ani": ani.id, "tono": tono.id}


def test_day_before_and_two_hours_before_each_sent_once(db, content, clock):
    event, ids = setup_event(db, content, "2026-11-25 13:00")
    assert events.reminder_times(event) == {"day_before": wib("2026-11-24 09:00"), "two_hours": wib("2026-11-25 11:00")}
    assert events.sweep_event_reminders(db, content)["day_before"] == 0
    clock.move_to(wib("2026-11-24 08:59"))
    events.sweep_event_reminders(db, content)
    assert reminders(db) == []
    clock.move_to(wib("2026-11-24 09:00"))
    assert events.sweep_event_reminders(db, content) == {"day_before": 2, "two_hours": 0, "skipped": 0}
    clock.shift(timedelta(minutes=1))
    assert events.sweep_event_reminders(db, content)["day_before"] == 0  # a second sweep adds nothing
    clock.move_to(wib("2026-11-25 10:59"))
    events.sweep_event_reminders(db, content)
    clock.move_to(wib("2026-11-25 11:00"))
    assert events.sweep_event_reminders(db, content)["two_hours"] == 2
    clock.move_to(wib("2026-11-25 13:30"))
    events.sweep_event_reminders(db, content)
    assert sorted(reminders(db)) == sorted([(ids["siti"], "day_before"), (ids["budi"], "day_before"),
                                            (ids["siti"], "two_hours"), (ids["budi"], "two_hours")])
    with db.session() as session:
        texts = session.execute(select(OutboxMessage.text).where(OutboxMessage.owner_id == ids["siti"])
                                .order_by(OutboxMessage.id)).scalars().all()
    assert texts[0].startswith("Pengingat: besok ada *Penyuluhan Keamanan Pangan*")
    assert "Rabu, 25 November 2026, pukul 13.00 WIB" in texts[0] and "Puskesmas Cakung" in texts[0]
    assert texts[1].startswith("Pengingat: *Penyuluhan Keamanan Pangan* dimulai")


def test_cancelled_owner_gets_no_reminder_and_the_promoted_one_does(db, content, clock):
    event, ids = setup_event(db, content, "2026-11-25 13:00")
    with db.session() as session:
        budi = session.execute(select(EventRegistration).where(
            EventRegistration.owner_id == ids["budi"])).scalar_one()
        promoted = events.cancel(session, content, budi)
        assert promoted.owner_id == ids["ani"]
    clock.move_to(wib("2026-11-24 09:05"))
    events.sweep_event_reminders(db, content)
    assert sorted(reminders(db)) == sorted([(ids["siti"], "day_before"), (ids["ani"], "day_before")])


def test_owner_who_registers_after_a_reminder_was_due_does_not_get_it(db, content, clock):
    with db.session() as session:
        event = events.create_event(session, content, title="Klinik BPOM", kind="coaching_clinic",
                                    starts_at=wib("2026-11-24 10:00"), place="BBPOM")
        late = make_owner(session)
    clock.move_to(wib("2026-11-23 15:00"))  # after 09:00 the day before: the confirmation says it all
    with db.session() as session:
        events.register(session, event.id, late.id)
    clock.move_to(wib("2026-11-23 15:01"))
    assert events.sweep_event_reminders(db, content) == {"day_before": 0, "two_hours": 0, "skipped": 1}
    clock.move_to(wib("2026-11-24 08:00"))
    assert events.sweep_event_reminders(db, content)["two_hours"] == 1


def test_a_sweep_that_ran_late_sends_only_the_reminder_still_useful(db, content, clock):
    event, ids = setup_event(db, content, "2026-11-25 13:00")
    clock.move_to(wib("2026-11-25 11:30"))  # the scheduler was down since yesterday morning
    assert events.sweep_event_reminders(db, content) == {"day_before": 0, "two_hours": 2, "skipped": 2}


def test_two_hours_reminder_for_an_early_event_goes_out_the_evening_before(db, content, clock):
    with db.session() as session:
        event = events.create_event(session, content, title="Kelas pagi", kind="other",
                                    starts_at=wib("2026-11-25 07:30"), place="Balai")
    assert events.reminder_times(event)["two_hours"] == wib("2026-11-24 19:00")


def test_owner_who_stopped_messages_gets_no_reminder(db, content, clock):
    event, ids = setup_event(db, content, "2026-11-25 13:00")
    with db.session() as session:
        session.get(Owner, ids["budi"]).opted_out_at = utcnow()
    clock.move_to(wib("2026-11-24 09:00"))
    assert events.sweep_event_reminders(db, content) == {"day_before": 1, "two_hours": 0, "skipped": 1}
