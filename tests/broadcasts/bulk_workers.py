"""Bulk writers run in their own OS process, so that a test can kill them with SIGKILL mid-way."""
from __future__ import annotations


def sweep_in_process(url: str, now_iso: str, batch_size: int) -> None:
    from datetime import datetime
    from pathlib import Path

    from bot.content import Content
    from bot.reminders import sweep_due
    from storage.db import Database

    content = Content(Path(__file__).resolve().parents[2] / "content")
    sweep_due(Database(url), content, datetime.fromisoformat(now_iso), batch_size=batch_size)


def enqueue_in_process(url: str, broadcast_id: int, chunk_size: int) -> None:
    from pathlib import Path

    from bot import broadcasts
    from bot.content import Content
    from storage.db import Database

    content = Content(Path(__file__).resolve().parents[2] / "content")
    broadcasts.enqueue(Database(url), content, broadcast_id, chunk_size=chunk_size)
