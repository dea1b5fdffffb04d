"""A scheduler sweep in its own OS process, for the two-process PostgreSQL test."""
from __future__ import annotations


def sweep_in_process(url: str, now_iso: str, start, results) -> None:
    from datetime import datetime
    from pathlib import Path

    from bot.content import Content
    from bot.reminders import sweep_due
    from storage.db import Database

    content = Content(Path(__file__).resolve().parents[2] / "content")
    db = Database(url)
    handled: list[int] = []
    start.wait(30)
    # Small batches and repeated sweeps so the two processes interleave many times.
    for _ in range(200):
        report = sweep_due(db, content, datetime.fromisoformat(now_iso), batch_size=10, max_batches=1,
                           collect_ids=True)
        handled.extend(report.handled_ids)
        if report.handled == 0:
            break
    db.dispose()
    results.put(handled)
