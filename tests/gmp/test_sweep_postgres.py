"""Two sweepers against PostgreSQL never send the same reminder twice (FOR UPDATE SKIP LOCKED)."""
from __future__ import annotations

import multiprocessing
from datetime import timedelta

from sqlalchemy import func, insert, select

from bot import reminders
from bot.clock import utcnow
from storage.db import Database
from storage.models import OutboxMessage, Owner
from storage.models.reminders import Reminder
from tests.gmp.helpers import WIB_0900, add_owner, write_marked
from tests.gmp.sweeper_worker import sweep_in_process


def bulk_due(db, n: int, at) -> None:
    with db.session() as s:
        s.execute(insert(Owner), [{"channel": "whatsapp", "address": f"+62813{i:08d}", "lang": "id",
                                   "products": [], "has_permits": [], "created_at": at} for i in range(n)])
        ids = list(s.scalars(select(Owner.id)))
        s.execute(insert(Reminder), [{"owner_id": oid, "kind": "self_check", "subject": "", "dedupe_key": f"sc:{oid}",
                                      "due_at": at - timedelta(minutes=5), "status": "pending", "occurrence": 0,
                                      "snooze_count": 0, "payload": {"checklist": "cppb_irt", "level": "II"},
                                      "created_at": at, "updated_at": at} for oid in ids])


def test_locked_rows_are_skipped_by_another_sweeper(pg_db, clock, content):
    with pg_db.session() as s:
        for n in range(6):
            owner = add_owner(s, n)
            reminders.schedule(s, owner.id, "self_check", utcnow(), f"k{n}", payload={"checklist": "cppb_irt"})
    holder = pg_db.sessionmaker()
    try:
        holder.begin()
        # A first sweeper, mid-chunk: it holds the two oldest due rows.
        held = set(holder.scalars(select(Reminder.id).where(Reminder.status == "pending")
                                  .order_by(Reminder.due_at, Reminder.id).limit(2).with_for_update()))
        other = reminders.sweep_due(pg_db, content, collect_ids=True)
        assert other.queued == 4
        assert not held & set(other.handled_ids)
        holder.commit()
    finally:
        holder.close()
    assert set(reminders.sweep_due(pg_db, content, collect_ids=True).handled_ids) == held
    assert write_marked(pg_db, content) == 6
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 6
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.owner_id)))) == 6


def test_two_scheduler_processes_never_send_same_reminder_twice(fresh_pg_url, content):
    """Each process also writes marked reminders' messages between its sweeps, as a sender does:
    the two writers interleave too, and every reminder becomes exactly one message."""
    total = 1500
    db = Database(fresh_pg_url)
    bulk_due(db, total, WIB_0900)
    ctx = multiprocessing.get_context("spawn")
    ready, results = ctx.Barrier(3), ctx.Queue()
    procs = [ctx.Process(target=sweep_in_process, args=(fresh_pg_url, WIB_0900.isoformat(), ready, results))
             for _ in range(2)]
    for proc in procs:
        proc.start()
    ready.wait(90)  # both processes imported, connected and warmed up: they start sweeping together
    handled = [results.get(timeout=120) for _ in procs]
    for proc in procs:
        proc.join(30)
        assert proc.exitcode == 0
    first, second = (set(h) for h in handled)
    assert len(handled[0]) == len(first) and len(handled[1]) == len(second)
    assert not first & second, "a reminder was claimed by both processes"
    assert len(first | second) == total
    assert first and second, "both processes took part (otherwise nothing was tested)"
    write_marked(db, content)  # what the processes left marked
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Reminder).where(Reminder.send_occurrence.is_not(None))) == 0
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == total
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.owner_id)))) == total
        assert s.scalar(select(func.count()).select_from(Reminder).where(Reminder.status == "queued")) == total
    db.dispose()


def test_rows_let_go_while_the_sweep_passed_them_are_taken_in_the_same_sweep(pg_db, clock, content):
    """Each chunk starts where the last one ended; rows another sweeper held when this pass went
    by (and let go of later: it rolled back, or was killed) are taken by one more look from the
    start, not left for the next minute's sweep."""
    from sqlalchemy import event

    with pg_db.session() as s:
        for n in range(6):
            owner = add_owner(s, n)
            reminders.schedule(s, owner.id, "self_check", utcnow() - timedelta(minutes=10 - n), f"k{n}",
                               payload={"checklist": "cppb_irt"})
    holder = pg_db.sessionmaker()
    holder.begin()
    held = set(holder.scalars(select(Reminder.id).order_by(Reminder.due_at).limit(2).with_for_update()))
    chunks = []

    def let_go_after_the_first_chunk(conn, cursor, statement, *args):
        if "WITH facts" in statement:
            chunks.append(statement)
            if len(chunks) == 1:
                holder.rollback()  # the other sweeper gives up its rows after this pass went by them

    event.listen(pg_db.engine, "after_cursor_execute", let_go_after_the_first_chunk)
    try:
        report = reminders.sweep_due(pg_db, content, batch_size=2, collect_ids=True)
    finally:
        event.remove(pg_db.engine, "after_cursor_execute", let_go_after_the_first_chunk)
        holder.close()
    assert report.queued == 6 and held <= set(report.handled_ids)
    assert len(report.handled_ids) == len(set(report.handled_ids)) == 6
