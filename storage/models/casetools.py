"""Mentors' everyday tools on cases: labels ("label kemasan", "halal", "keluhan"...) and the canned
replies staff edit from the dashboard (their defaults live in content/handoff/canned.yaml)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime


class CaseLabel(Base):
    __tablename__ = "case_labels"
    __table_args__ = (UniqueConstraint("ticket_id", "label", name="uq_case_labels_ticket_label"),
                      Index("ix_case_labels_label", "label"))

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    label: Mapped[str] = mapped_column(String(32))  # a key of content/handoff/labels.yaml
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CannedReply(Base):
    """A staff edit of a canned reply: overrides the content default of the same key, or adds one."""

    __tablename__ = "canned_replies"
    __table_args__ = (UniqueConstraint("key", name="uq_canned_replies_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32))
    title_id: Mapped[str] = mapped_column(String(80))
    title_en: Mapped[str] = mapped_column(String(80), default="")
    text_id: Mapped[str] = mapped_column(Text)
    text_en: Mapped[str] = mapped_column(Text, default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
