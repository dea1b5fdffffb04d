"""Dialogue-test kinds for training events (tests/dialogues/broadcasts_*.yaml).

setup:
  event: {title, kind, start: "YYYY-MM-DD HH:MM" (WIB), place, link, quota, seats_taken: N}
      creates the event; `seats_taken` registers N other owners first
  invitation: true
      broadcasts the standard invitation of the latest event to every reachable owner, as sent
expect:
  registration: {status: registered|waitlisted|cancelled|attended|null}
      this owner's registration for the latest event
  reminders: {queued: N, expired: N, suppressed: N}
      runs the reminder sweep now (the scheduler's job) and checks its counts
  notice: {contains: [...]}
      the latest message the bot sent this owner on its own (not a reply)
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update

from bot import broadcasts, events, reminders
from bot.clock import JAKARTA, utcnow
from storage.models import OutboxMessage, Owner
from storage.models.events import EventRegistration, TrainingEvent
from tests.broadcasts.factories import write_queued
from tests.dialogue_runner import EXPECT, SETUP
from tests.gmp.helpers import sweep_due  # the sweep, then the sender writing its messages


def _latest_event(session) -> TrainingEvent:
    return session.execute(select(TrainingEvent).order_by(TrainingEvent.id.desc()).limit(1)).scalar_one()


def _setup_event(conv, spec: dict) -> None:
    spec = dict(spec)
    taken = int(spec.pop("seats_taken", 0))
    start = datetime.strptime(str(spec.pop("start")), "%Y-%m-%d %H:%M").replace(tzinfo=JAKARTA)
    with conv.db.session() as session:
        event = events.create_event(session, conv.content, starts_at=start, **spec)
        for number in range(taken):
            other = Owner(channel="whatsapp", address=f"+6289900{number:05d}", lang="id", products=[],
                          has_permits=[], consent_at=utcnow())
            session.add(other)
            session.flush()
            events.register(session, event.id, other.id)


def _setup_invitation(conv, spec) -> None:
    if not spec:
        return
    with conv.db.session() as session:
        event_id = _latest_event(session).id
    broadcasts.send_now(conv.db, conv.content, segment="all", template=None, event_id=event_id)
    write_queued(conv.db, conv.content)  # what the sender does: write each message, send it
    with conv.db.session() as session:
        for row in session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending")):
            row.status, row.sent_at = "sent", utcnow()


def _expect_registration(conv, spec: dict) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session)
        event = _latest_event(session)
        status = session.scalar(select(EventRegistration.status).where(
            EventRegistration.event_id == event.id, EventRegistration.owner_id == owner.id))
    assert status == spec.get("status"), f"registration: expected {spec.get('status')!r}, got {status!r}"


def _expect_reminders(conv, spec: dict) -> None:
    report = sweep_due(conv.db, conv.content)
    for which, expected in spec.items():
        assert getattr(report, which) == expected, f"reminders {which}: expected {expected}, got {report}"
    with conv.db.session() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                        .values(status="sent", sent_at=utcnow()))


def _expect_notice(conv, spec: dict) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session)
        text = session.scalar(select(OutboxMessage.text).where(
            OutboxMessage.owner_id == owner.id, OutboxMessage.dedupe_key.is_not(None))
            .order_by(OutboxMessage.id.desc()).limit(1))
    assert text is not None, "no message from the bot on its own"
    for needle in spec.get("contains", []):
        assert needle.lower() in text.lower(), f"{needle!r} not in notice:\n{text}"


SETUP.update(event=_setup_event, invitation=_setup_invitation)
EXPECT.update(registration=_expect_registration, reminders=_expect_reminders, notice=_expect_notice)
