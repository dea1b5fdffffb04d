"""Reminders as rows with a due time. A sweep (bot/scheduler.py) hands due rows to the outbox;
no per-owner job lives in any scheduler's memory, so a restart loses nothing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime

_PENDING = "status = 'pending'"
_MARKED = "send_occurrence IS NOT NULL"


class Reminder(Base):
    """One reminder for one owner.

    `dedupe_key` names the reminder itself ("self_check:42", "permit_renewal:42:pirt:...") so
    scheduling it again updates the row instead of adding a second one. `occurrence` counts how
    often the row has been (re)armed; the outbox key "reminder:<id>:<occurrence>" is what makes
    one occurrence reach the outbox at most once.

    `status`: pending (waiting for `due_at`) | queued (handed to the sender: `send_occurrence`
    until its outbox message is written) | suppressed (owner
    opted out, of everything or of this kind: see `outcome`) | expired (past `expires_at`, e.g.
    a training that already happened) | cancelled (no longer relevant).
    """

    __tablename__ = "reminders"
    __table_args__ = (
        UniqueConstraint("dedupe_key", name="uq_reminders_dedupe_key"),
        # Only pending rows: what the sweep claims (sweeps migration).
        Index("ix_reminders_pending_due", "due_at", postgresql_where=text(_PENDING), sqlite_where=text(_PENDING)),
        Index("ix_reminders_owner_status", "owner_id", "status"),
        # Only rows whose outbox message the sender still has to write (sweeps_0002).
        Index("ix_reminders_to_send", "id", postgresql_where=text(_MARKED), sqlite_where=text(_MARKED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))  # self_check | permit_renewal | stalled_step | training_event | ...
    subject: Mapped[str] = mapped_column(String(96), default="")  # what it is about, e.g. "permit:pirt:<ref>"
    dedupe_key: Mapped[str] = mapped_column(String(128))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    outcome: Mapped[str | None] = mapped_column(String(32))
    occurrence: Mapped[int] = mapped_column(Integer, default=0)
    snooze_count: Mapped[int] = mapped_column(Integer, default=0)
    payload: Mapped[dict] = mapped_column(JSON, default=dict)  # variables for the reminder text
    last_queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The occurrence a sweep decided to send whose outbox message the sender has not written yet
    # (bot/reminders.py `feed_outbox`); None otherwise.
    send_occurrence: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ReminderOptOut(Base):
    """An owner turned off one kind of reminder ("matikan pengingat cek"). Everything else still
    comes; `owners.opted_out_at` (BERHENTI) turns off all of them."""

    __tablename__ = "reminder_opt_outs"
    __table_args__ = (UniqueConstraint("owner_id", "kind", name="uq_reminder_opt_outs_owner_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
