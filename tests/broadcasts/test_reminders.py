"""Event reminders with a frozen clock (2026-11-23 09:00 WIB): the day before at 09:00 WIB and
2 hours before, each once, only to registered owners. They are rows of the shared reminders table,
sent by its sweep (the scheduler's job), so this runs that real sweep."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from bot import events, reminders
from bot.clock import JAKARTA, utcnow
from storage.models import OutboxMessage, Owner
from storage.models.events import EventRegistration
from tests.broadcasts.factories import make_owner
from tests.gmp.helpers import sweep_due  # the sweep, then the sender writing its messages


def wib(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=JAKARTA)


def sweep(db, content) -> int:
    return sweep_due(db, content).queued


def sent(db) -> list[tuple[int, str]]:
    """(owner, text) of every reminder in the outbox, in order."""
    with db.session() as session:
        return [(o, t) for o, t in session.execute(
            select(OutboxMessage.owner_id, OutboxMessage.text).where(OutboxMessage.dedupe_key.like("reminder:%"))
            .order_by(OutboxMessage.id))]


def setup_event(db, content, starts: str, quota: int = 2):
    with db.session() as session:
        event = events.create_event(session, content, title="Penyuluhan Keamanan Pangan", kind="pkp_course",
                                    starts_at=wib(starts), place="Puskesmas Cakung", quota=quota)
        siti, budi, ani, tono = (make_owner(session, name=n) for n in ("Siti", "Budi", "Ani", "Tono"))
        for owner in (siti, budi, ani, tono):  # Ani and Tono: waiting list, no reminders
            events.register(session, event.id, owner.id)
        return event, {"siti": siti.id, "budi": budi.id, "ani": ani.id, "tono": tono.id}


def test_day_before_and_two_hours_before_each_sent_once(db, content, clock):
    event, ids = setup_event(db, content, "2026-11-25 13:00")
    assert events.reminder_times(event) == {"day_before": wib("2026-11-24 09:00"), "two_hours": wib("2026-11-25 11:00")}
    assert sweep(db, content) == 0
    clock.move_to(wib("2026-11-24 08:59"))
    assert sweep(db, content) == 0
    clock.move_to(wib("2026-11-24 09:00"))
    assert sweep(db, content) == 2
    clock.shift(timedelta(minutes=1))
    assert sweep(db, content) == 0  # a second sweep adds nothing
    clock.move_to(wib("2026-11-25 10:59"))
    assert sweep(db, content) == 0
    clock.move_to(wib("2026-11-25 11:00"))
    assert sweep(db, content) == 2
    clock.move_to(wib("2026-11-25 13:30"))
    assert sweep(db, content) == 0
    texts = sent(db)
    assert sorted(owner for owner, _ in texts) == sorted([ids["siti"], ids["budi"]] * 2)
    siti = [text for owner, text in texts if owner == ids["siti"]]
    assert siti[0].startswith("Pengingat: besok ada *Penyuluhan Keamanan Pangan*")
    assert "Rabu, 25 November 2026, pukul 13.00 WIB" in siti[0] and "Puskesmas Cakung" in siti[0]
    assert siti[1].startswith("Pengingat: *Penyuluhan Keamanan Pangan* dimulai")


def test_cancelled_owner_gets_no_reminder_and_the_promoted_one_does(db, content, clock):
    event, ids = setup_event(db, content, "2026-11-25 13:00")
    with db.session() as session:
        budi = session.execute(select(EventRegistration).where(EventRegistration.owner_id == ids["budi"])).scalar_one()
        promoted = events.cancel(session, content, budi)
        assert promoted.owner_id == ids["ani"]
    clock.move_to(wib("2026-11-24 09:05"))
    assert sweep(db, content) == 2
    assert sorted(owner for owner, _ in sent(db)) == sorted([ids["siti"], ids["ani"]])


def test_owner_who_registers_after_a_reminder_was_due_does_not_get_it(db, content, clock):
    with db.session() as session:
        event = events.create_event(session, content, title="Klinik BPOM", kind="coaching_clinic",
                                    starts_at=wib("2026-11-24 10:00"), place="BBPOM")
        late = make_owner(session)
    clock.move_to(wib("2026-11-23 15:00"))  # after 09:00 the day before: the confirmation says it all
    with db.session() as session:
        events.register(session, event.id, late.id)
    clock.move_to(wib("2026-11-23 15:01"))
    assert sweep(db, content) == 0
    clock.move_to(wib("2026-11-24 08:00"))
    assert sweep(db, content) == 1


def test_a_sweep_that_ran_late_sends_only_the_reminder_still_useful(db, content, clock):
    setup_event(db, content, "2026-11-25 13:00")
    clock.move_to(wib("2026-11-25 11:30"))  # the scheduler was down since yesterday morning
    report = sweep_due(db, content)
    assert (report.queued, report.expired) == (2, 2)
    assert all(text.startswith("Pengingat: *Penyuluhan") for _, text in sent(db))


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
    report = sweep_due(db, content)
    assert (report.queued, report.suppressed) == (1, 1)


def test_owner_can_turn_event_reminders_off_in_pengingat_saya(db, content, clock):
    event, ids = setup_event(db, content, "2026-11-25 13:00")
    with db.session() as session:
        reminders.set_kind_enabled(session, ids["siti"], events.REMINDER_KIND, False)
    clock.move_to(wib("2026-11-24 09:00"))
    assert [owner for owner, _ in sent(db)] == [] and sweep(db, content) == 1
    assert [owner for owner, _ in sent(db)] == [ids["budi"]]
