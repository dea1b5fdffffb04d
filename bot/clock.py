"""One place that says what time it is.

Code asks `utcnow()` (aware, UTC) and converts with `local()` for anything an owner sees or any
quiet-hours rule. Tests freeze time with the time-machine library, which moves this clock too.
"""
from __future__ import annotations

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

JAKARTA = ZoneInfo("Asia/Jakarta")


def utcnow() -> datetime:
    return datetime.now(timezone.utc)


def as_utc(value: datetime) -> datetime:
    """Databases such as SQLite hand back naive datetimes; all stored times are UTC."""
    if value.tzinfo is None:
        return value.replace(tzinfo=timezone.utc)
    return value.astimezone(timezone.utc)


def local(value: datetime | None = None, tz: ZoneInfo = JAKARTA) -> datetime:
    return as_utc(value or utcnow()).astimezone(tz)
