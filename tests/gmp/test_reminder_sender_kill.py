"""Swept reminders drained by real sender processes (`umkm-bot sender`) on PostgreSQL, two of them
killed with SIGKILL mid-way (one while sends hang in flight), others started in their place:
every owner reads their reminder exactly once, in their language.

The sweep only marks reminders; each sender writes the marked reminders' outbox messages when it
claims work (bot/reminders.py `feed_outbox`), so the kills also land between writing and sending.
The fake WhatsApp provider, its status callbacks and the sender processes are those of the
broadcast kill test (tests/broadcasts/test_sender_kill.py)."""
from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, insert, select

from bot import reminders
from bot.clock import utcnow
from bot.content import get_content
from storage.db import Database
from storage.models import OutboxMessage, Owner
from storage.models.reminders import Reminder
from tests.broadcasts.factories import bulk_owners
from tests.broadcasts.test_sender_kill import _env, run_senders_killed_mid_way
from tests.channels.conftest import REPO
from tests.channels.fake_providers import FakeProviders

OWNERS = 240


@pytest.mark.timeout(180)
def _still_waiting(session) -> str:
    marked = session.scalar(select(func.count()).select_from(Reminder).where(Reminder.send_occurrence.is_not(None)))
    unsent = session.scalar(select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.status.in_(("pending", "sending"))))
    return f"{marked} reminders still marked, {unsent} messages unsent" if marked or unsent else ""


def test_senders_killed_mid_way_deliver_every_swept_reminder_exactly_once(fresh_pg_url, tmp_path):
    db = Database(fresh_pg_url)
    bulk_owners(db, OWNERS, last_inbound_at=utcnow())  # inside the 24-hour window: free text
    content = get_content(REPO / "content")
    now = datetime.now(timezone.utc)
    with db.session() as s:
        s.execute(insert(Reminder), [
            {"owner_id": oid, "kind": "self_check", "subject": "", "dedupe_key": f"sc:{oid}",
             "due_at": now - timedelta(seconds=oid), "status": "pending", "occurrence": 0, "snooze_count": 0,
             "payload": {"checklist": "cppb_irt", "level": "II"}, "created_at": now, "updated_at": now}
            for oid in s.scalars(select(Owner.id))])
    # Quiet hours off for the sweep too: the test may run at any time of day.
    assert reminders.sweep_due(db, content, now, quiet=reminders.QuietHours(0, 0)).queued == OWNERS

    fake = FakeProviders().start()
    env = _env(fresh_pg_url, fake.url, tmp_path)
    hung = [f"whatsapp:+6281{n:09d}" for n in (60, 61)]  # the first sender dies with these in flight
    run_senders_killed_mid_way(db, env, fake, hung, 70, 140, _still_waiting)

    # Requests cut off by a kill carry no recipient: Twilio refuses them, nothing is delivered.
    delivered = [m for m in fake.twilio_messages() if "To" in m]
    received = Counter(m["To"] for m in delivered)
    assert len(received) == OWNERS  # everybody got it ...
    assert set(received.values()) == {1}, {to: n for to, n in received.items() if n > 1}  # ... exactly once
    assert all(received[address] == 1 for address in hung)  # including the two in flight at the kill
    texts = Counter(m["Body"] for m in delivered)
    assert texts == {content.t("gmp.reminder.self_check", "id", checklist="CPPB-IRT", level="II"): OWNERS * 9 // 10,
                     content.t("gmp.reminder.self_check", "en", checklist="CPPB-IRT", level="II"): OWNERS // 10}
    with db.session() as session:
        assert session.scalar(select(func.count(func.distinct(OutboxMessage.dedupe_key)))) == OWNERS
        assert session.scalar(select(func.count()).select_from(OutboxMessage)
                              .where(OutboxMessage.status == "sent")) == OWNERS
    db.dispose()
