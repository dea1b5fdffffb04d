"""People who sign in to the web dashboard, and the audit log of what they looked at and did.

- `StaffUser`: admin | staff | mentor. A mentor account may point at a row of the mentor roster
  (`mentor_id`, the handoff area's `mentors.id`); that link is what limits a mentor to their area.
  No foreign key: the roster belongs to another area's migration, and a mentor is never deleted
  there (only made inactive), so the id stays valid.
- `AuditLog`: append-only. Every time someone opens an owner's data, and every change made
  through the dashboard, is written here with who, what, which subject and when.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime

ROLES = ("admin", "staff", "mentor")


class StaffUser(Base):
    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))  # argon2id, from argon2-cffi
    role: Mapped[str] = mapped_column(String(16))  # admin | staff | mentor
    mentor_id: Mapped[int | None] = mapped_column(Integer)  # mentors.id when the user is a mentor
    lang: Mapped[str] = mapped_column(String(2), default="id")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_attempts: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Bumped on sign-out, password change and deactivation: sessions carrying an older number are
    # refused, so a copied session cookie dies with the session it came from.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"

    @property
    def is_mentor(self) -> bool:
        return self.role == "mentor"


class AuditLog(Base):
    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_subject_at", "subject", "at"),
        Index("ix_audit_log_who_at", "who", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    who: Mapped[str] = mapped_column(String(64))  # username, or "cli" / "system"
    user_id: Mapped[int | None] = mapped_column(Integer)
    action: Mapped[str] = mapped_column(String(32))  # view_owner, view_case, login, login_failed, ...
    subject: Mapped[str] = mapped_column(String(64), default="")  # owner:12, case:7, user:3
    detail: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
