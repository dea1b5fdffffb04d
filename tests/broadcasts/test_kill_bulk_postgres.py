"""SIGKILL in the middle of the set-based writers on PostgreSQL, then the scheduler's next run:
every due reminder is in the outbox exactly once, and every recipient of a broadcast is recorded
once and gets exactly one message."""
from __future__ import annotations

import multiprocessing
import time
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot import broadcasts, reminders
from bot.content import get_content
from storage.db import Database
from storage.models import OutboxMessage, Owner
from storage.models.events import Broadcast, BroadcastQueued, BroadcastRecipient
from storage.models.reminders import Reminder
from tests.broadcasts.bulk_workers import enqueue_in_process, sweep_in_process
from tests.broadcasts.factories import bulk_owners, write_queued
from tests.gmp.helpers import WIB_0900, write_marked

TOTAL = 12_000
CHUNK = 300


def _outbox_rows(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def _recipients_recorded(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(BroadcastQueued))


def _reminders_handed_over(db) -> int:
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(Reminder).where(Reminder.status == "queued"))


def _kill_mid_way(db, target, args, progress=_outbox_rows) -> int:
    """Start `target` in a process, SIGKILL it once part of the work is committed; returns how
    many rows (`progress`: outbox rows unless told) were committed then."""
    proc = multiprocessing.get_context("spawn").Process(target=target, args=args)
    proc.start()
    deadline = time.monotonic() + 120
    while progress(db) < TOTAL // 4:
        assert proc.is_alive(), "the writer finished before it could be killed"
        assert time.monotonic() < deadline
        time.sleep(0.005)
    proc.kill()
    proc.join(30)
    assert proc.exitcode == -9
    committed = progress(db)
    assert TOTAL // 4 <= committed < TOTAL, "killed mid-way, not at the end"
    return committed


def test_sweep_killed_mid_way_then_resumed_queues_every_reminder_once(fresh_pg_url):
    db = Database(fresh_pg_url)
    with db.session() as s:
        s.execute(insert(Owner), [{"channel": "whatsapp", "address": f"+62814{i:08d}", "lang": "id" if i % 4 else "en",
                                   "products": [], "has_permits": [], "created_at": WIB_0900} for i in range(TOTAL)])
        s.execute(insert(Reminder), [
            {"owner_id": oid, "kind": "self_check", "subject": "", "dedupe_key": f"sc:{oid}",
             "due_at": WIB_0900 - timedelta(seconds=oid), "status": "pending", "occurrence": 0, "snooze_count": 0,
             "payload": {"checklist": "cppb_irt", "level": "II"}, "created_at": WIB_0900, "updated_at": WIB_0900}
            for oid in s.scalars(select(Owner.id))])
    # The sweep marks reminders; the sender writes their messages (tests/gmp covers killing that).
    _kill_mid_way(db, sweep_in_process, (fresh_pg_url, WIB_0900.isoformat(), CHUNK), _reminders_handed_over)
    report = reminders.sweep_due(db, get_content(), WIB_0900, batch_size=CHUNK)  # the next run
    write_marked(db, get_content())
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Reminder).where(Reminder.status == "queued")) == TOTAL
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.owner_id)))) == TOTAL
        texts = dict(s.execute(select(Owner.lang, func.min(OutboxMessage.text)).join(
            Owner, Owner.id == OutboxMessage.owner_id).group_by(Owner.lang)).all())
    assert _outbox_rows(db) == TOTAL and 0 < report.queued < TOTAL
    assert texts["en"].startswith("Hello, it's time for your CPPB-IRT self-check")
    db.dispose()


def test_enqueue_killed_mid_way_then_resumed_records_every_recipient_once(fresh_pg_url):
    db = Database(fresh_pg_url)
    bulk_owners(db, TOTAL)
    with db.session() as s:
        broadcast, _ = broadcasts.create(s, get_content(), segment="all", template="Halo {{ first_name }}")
    _kill_mid_way(db, enqueue_in_process, (fresh_pg_url, broadcast.id, CHUNK), _recipients_recorded)
    assert broadcasts.sweep_due(db, get_content()) == [broadcast.id]  # the scheduler resumes it
    with db.session() as s:
        stored = s.get(Broadcast, broadcast.id)
        assert (stored.status, stored.recipient_count, stored.queued_count) == ("queued", TOTAL, TOTAL)
        assert s.scalar(select(func.count(func.distinct(BroadcastQueued.owner_id)))) == TOTAL
    assert _recipients_recorded(db) == TOTAL and _outbox_rows(db) == 0
    assert write_queued(db, get_content()) == TOTAL  # what the senders do
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(BroadcastRecipient)) == TOTAL
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.owner_id)))) == TOTAL
        linked = s.scalar(select(func.count()).select_from(BroadcastRecipient).join(
            OutboxMessage, OutboxMessage.id == BroadcastRecipient.outbox_id))
    assert _outbox_rows(db) == TOTAL and linked == TOTAL and _recipients_recorded(db) == 0
    db.dispose()
