"""Due reminders from the scheduler's sweep to what the owner reads, through the real sender and
the real twilio / python-telegram-bot clients talking to the local fake providers.

The sweep only marks reminders (bot/reminders.py); the sender writes each message when it claims
work. These tests check that what reaches the owner is still the right text, once, in order, never
at night, and never to an owner who opted out in between."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot import reminders, scheduler
from bot.clock import utcnow
from storage.models import OutboxMessage
from storage.models.reminders import Reminder
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401  (fixtures)
from tests.gmp.helpers import add_owner
from tests.gmp.test_reminders import wib

WA_OWNER = "whatsapp:+62812000000001"  # add_owner(n=1)
TG_CHAT = "70001"


def _owners(db) -> tuple[int, int]:
    """A WhatsApp owner inside the 24-hour window (free text) and a Telegram owner reading English."""
    with db.session() as s:
        wa = add_owner(s, 1, last_inbound_at=utcnow())
        tg = add_owner(s, 2, lang="en", channel="telegram", last_inbound_at=utcnow())
        tg.address = TG_CHAT
        return wa.id, tg.id


def _due(db, owner_id: int, kind: str, key: str, payload: dict, at=None) -> None:
    with db.session() as s:
        reminders.schedule(s, owner_id, kind, at or utcnow() - timedelta(minutes=5), key, payload=payload)


def _whatsapp(harness) -> list[str]:
    return [m["Body"] for m in harness.fake.twilio_messages(to=WA_OWNER)]


def _telegram(harness) -> list[str]:
    return [m["text"] for m in harness.fake.telegram_messages(chat_id=TG_CHAT)]


def test_swept_reminders_reach_whatsapp_and_telegram_owners_once_in_order(harness, content, clock):
    wa, tg = _owners(harness.db)
    _due(harness.db, wa, "self_check", "sc:wa", {"checklist": "cppb_irt", "level": "II"},
         at=utcnow() - timedelta(minutes=9))
    _due(harness.db, wa, "permit_renewal", "pr:wa", {"permit": "pirt", "expires_on": "2027-05-01"},
         at=utcnow() - timedelta(minutes=8))
    _due(harness.db, tg, "self_check", "sc:tg", {"checklist": "cppb_irt", "level": "III"})

    report = scheduler.sweep_reminders(harness.services)  # the scheduler's job
    assert report.queued == 3
    with harness.db.session() as s:  # marked for the sender, nothing written yet
        assert s.scalar(select(OutboxMessage.id).limit(1)) is None
        assert sorted(s.scalars(select(Reminder.send_occurrence))) == [0, 0, 0]
    harness.send()

    assert _whatsapp(harness) == [
        content.t("gmp.reminder.self_check", "id", checklist="CPPB-IRT", level="II"),
        content.t("gmp.reminder.permit_renewal", "id", permit=content.t("gmp.permit_name.pirt", "id"),
                  expires="01-05-2027"),
    ]
    assert _telegram(harness) == [content.t("gmp.reminder.self_check", "en", checklist="CPPB-IRT", level="III")]
    assert _telegram(harness)[0].startswith("Hello, it's time for your CPPB-IRT self-check again (last result: level III)")

    clock.shift(timedelta(hours=1))  # the next sweeps and sends: nothing again
    assert scheduler.sweep_reminders(harness.services).queued == 0
    harness.send()
    assert len(_whatsapp(harness)) == 2 and len(_telegram(harness)) == 1
    with harness.db.session() as s:
        assert {(r.status, r.send_occurrence) for r in s.scalars(select(Reminder))} == {("queued", None)}
        assert {m.status for m in s.scalars(select(OutboxMessage))} == {"sent"}


def test_reminder_swept_before_quiet_hours_waits_for_the_morning(harness, content, clock):
    wa, _ = _owners(harness.db)
    clock.move_to(wib(2026, 11, 23, 19, 58))
    _due(harness.db, wa, "self_check", "sc:wa", {"checklist": "cppb_irt", "level": "I"})
    assert scheduler.sweep_reminders(harness.services).queued == 1  # 19:58: still day
    clock.move_to(wib(2026, 11, 23, 20, 1))  # the sender gets to it at night
    harness.send()
    assert _whatsapp(harness) == []
    with harness.db.session() as s:
        [message] = s.scalars(select(OutboxMessage))
        assert message.status == "pending" and message.not_before == wib(2026, 11, 24, 7, 0)
    clock.move_to(wib(2026, 11, 24, 7, 0))
    harness.send()
    assert _whatsapp(harness) == [content.t("gmp.reminder.self_check", "id", checklist="CPPB-IRT", level="I")]


def test_owner_who_opts_out_after_the_sweep_gets_nothing(harness, content, clock):
    wa, _ = _owners(harness.db)
    _due(harness.db, wa, "self_check", "sc:wa", {"checklist": "cppb_irt", "level": "I"})
    assert scheduler.sweep_reminders(harness.services).queued == 1
    assert harness.twilio_post(harness.twilio_form("BERHENTI", sender=WA_OWNER)).status_code == 200
    harness.send()
    bodies = _whatsapp(harness)
    assert bodies and not any("cek mandiri" in body.lower() and "level" in body.lower() for body in bodies), bodies
    with harness.db.session() as s:
        [reminder] = s.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder"))
        assert reminder.status == "unsendable" and "opted out" in reminder.error
