"""Reminders an owner makes in their own words: "tolong ingatkan lusa jam 8 pagi ambil sertifikat PKP".

They are ordinary rows of the reminder table (`bot/reminders.py`) with kind "owner": the same
sweep hands each to the outbox once (the outbox key "reminder:<id>:<occurrence>"), BERHENTI
suppresses them, and "pengingat saya" lists them. This module only decides the row:

- what: the owner's own words, kept as written (up to `MAX_WHAT` characters) in the payload;
- when: the moment they named, moved out of quiet hours (never at night) to the next allowed
  time, and at least a few minutes ahead;
- a key from the owner, the words and the moment, so the same request twice is one reminder.

Cancelling matches the owner's words against the pending reminders' words ("hapus pengingat
PKP" cancels "ambil sertifikat PKP"), word-aware, never by one shared filler word.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from rapidfuzz import fuzz
from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import reminders
from bot.clock import JAKARTA, as_utc, utcnow
from bot.config import load_settings
from bot.content import Content
from bot.reminders import QuietHours, ReminderKind, register_kind
from storage.models.reminders import Reminder

KIND = "owner"
MAX_WHAT = 80
MAX_PENDING = 20  # an owner with more has to cancel one first: the sweep is no personal calendar
MIN_LEAD = timedelta(minutes=5)
WORD_MATCH = 85

register_kind(ReminderKind(KIND, "owner_reminders.reminder", "owner_reminders.kind_label"))


@dataclass(frozen=True)
class Created:
    reminder: Reminder
    at: datetime  # local (Asia/Jakarta) time it will be sent
    moved: bool  # the asked time fell in quiet hours (or had passed) and was moved


def quiet_hours() -> QuietHours:
    return QuietHours.from_settings(load_settings())


def allowed_time(at: datetime, now: datetime, quiet: QuietHours | None = None) -> tuple[datetime, bool]:
    """The asked moment, or the next moment the sweep may send (not at night, not in the past)."""
    quiet = quiet or quiet_hours()
    wanted = as_utc(at)
    moved = False
    earliest = as_utc(now) + MIN_LEAD
    if wanted < earliest:
        wanted, moved = earliest, True
    if quiet.active(wanted):
        wanted, moved = quiet.ends_after(wanted), True
    return wanted.astimezone(JAKARTA), moved


def _key(owner_id: int, what: str, at: datetime) -> str:
    digest = hashlib.sha1(f"{what.lower()}|{as_utc(at).isoformat()}".encode()).hexdigest()[:16]
    return f"{KIND}:{owner_id}:{digest}"


def clean_what(what: str) -> str:
    what = re.sub(r"\s+", " ", what or "").strip(" .,;:!?-")
    return what[:MAX_WHAT].rstrip()


def create(session: Session, owner_id: int, what: str, at: datetime, now: datetime | None = None,
           quiet: QuietHours | None = None) -> Created:
    now = now or utcnow()
    what = clean_what(what)
    if not what:
        raise ValueError("an owner reminder needs words saying what it is about")
    send_at, moved = allowed_time(at, now, quiet)
    row = reminders.schedule(session, owner_id, KIND, send_at, _key(owner_id, what, send_at),
                             subject=f"{KIND}:{what.lower()}"[:96], payload={"what": what}, rearm=True, now=now)
    return Created(row, send_at, moved)


def pending(session: Session, owner_id: int) -> list[Reminder]:
    return list(session.scalars(
        select(Reminder).where(Reminder.owner_id == owner_id, Reminder.kind == KIND, Reminder.status == "pending")
        .order_by(Reminder.due_at, Reminder.id)))


def at_limit(session: Session, owner_id: int) -> bool:
    return len(pending(session, owner_id)) >= MAX_PENDING


def what_of(row: Reminder) -> str:
    return str((row.payload or {}).get("what") or "")


def _words(text: str) -> list[str]:
    return [w for w in re.findall(r"[a-z0-9]+", (text or "").lower()) if len(w) > 1]


def matches(words: str, row_what: str, ignore: frozenset[str] = frozenset()) -> bool:
    """Every meaningful word the owner gave is in the reminder's words (typos allowed)."""
    said = [w for w in _words(words) if w not in ignore]
    if not said:
        return False
    theirs = _words(row_what)
    return all(any(w == t or (len(w) >= 4 and fuzz.ratio(w, t) >= WORD_MATCH) for t in theirs) for w in said)


def find(session: Session, owner_id: int, words: str, ignore: frozenset[str] = frozenset()) -> list[Reminder]:
    return [row for row in pending(session, owner_id) if matches(words, what_of(row), ignore)]


def cancel_rows(session: Session, owner_id: int, rows: list[Reminder], now: datetime | None = None) -> int:
    return sum(reminders.cancel(session, owner_id, key=row.dedupe_key, now=now) for row in rows)


def local_text(content: Content, lang: str, at: datetime, now: datetime) -> str:
    """"besok, Jumat 27-11 jam 08.00": the day the owner will recognise, and the time."""
    local = as_utc(at).astimezone(JAKARTA)
    today = as_utc(now).astimezone(JAKARTA).date()
    weekday = content.t(f"owner_reminders.weekday.{local.weekday()}", lang)
    days = (local.date() - today).days
    relative_key = {0: "owner_reminders.today", 1: "owner_reminders.tomorrow", 2: "owner_reminders.day_after"}.get(days)
    day = f"{weekday} {local.strftime('%d-%m')}"
    if relative_key:
        day = f"{content.t(relative_key, lang)}, {day}"
    return content.t("owner_reminders.when", lang, day=day, time=local.strftime("%H.%M"))
