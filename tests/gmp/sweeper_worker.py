"""A scheduler sweep in its own OS process, for the two-process PostgreSQL test."""
from __future__ import annotations


def sweep_in_process(url: str, now_iso: str, ready, results) -> None:
    """Sweep in small chunks, writing a few marked rows' messages after each (as a sender does), once every process is warmed up and waiting at `ready` (a Barrier).

    A spawned process spends a second or more importing; without the barrier the first one ready
    could sweep every row before the other one starts, and the test would test nothing.
    """
    from datetime import datetime, timedelta
    from pathlib import Path

    from bot.content import Content
    from bot.reminders import feed_outbox, sweep_due
    from storage.db import Database

    content = Content(Path(__file__).resolve().parents[2] / "content")
    db = Database(url)
    now = datetime.fromisoformat(now_iso)
    # Warm up: the same statements and a pooled connection, a day before anything is due.
    sweep_due(db, content, now - timedelta(days=1), batch_size=10, max_batches=1)
    handled: list[int] = []
    ready.wait(60)
    # Small batches and repeated sweeps so the two processes interleave many times.
    for _ in range(200):
        report = sweep_due(db, content, now, batch_size=10, max_batches=1, collect_ids=True)
        handled.extend(report.handled_ids)
        with db.session() as session:  # a sender's first step: write some marked rows' messages
            written = feed_outbox(session, content, now, channel="whatsapp", limit=7)
        if report.handled == 0 and written == 0:
            break
    db.dispose()
    results.put(handled)
