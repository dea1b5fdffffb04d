"""GMP self-check runs: one row per run, its answers, and photo evidence per aspect."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime


class GmpCheck(Base):
    """One self-check run against one checklist (cppb_irt, cppob, cpkb, cpotb).

    `status`: in_progress (also when paused: the owner can come back to `current_item`),
    completed, abandoned (a newer run replaced it). The result fields are filled on completion.
    """

    __tablename__ = "gmp_checks"
    __table_args__ = (
        Index("ix_gmp_checks_owner_status", "owner_id", "status"),
        Index("ix_gmp_checks_owner_completed", "owner_id", "completed_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    checklist: Mapped[str] = mapped_column(String(32))
    checklist_reviewed: Mapped[str] = mapped_column(String(10), default="")  # the content's last_reviewed
    status: Mapped[str] = mapped_column(String(16), default="in_progress")
    current_item: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    level: Mapped[str | None] = mapped_column(String(4))
    counts: Mapped[dict] = mapped_column(JSON, default=dict)  # findings by severity
    findings_total: Mapped[int] = mapped_column(Integer, default=0)
    unknown_total: Mapped[int] = mapped_column(Integer, default=0)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))

    answers: Mapped[list["GmpAnswer"]] = relationship(
        back_populates="check", cascade="all, delete-orphan", order_by="GmpAnswer.id"
    )
    evidence: Mapped[list["GmpEvidence"]] = relationship(
        back_populates="check", cascade="all, delete-orphan", order_by="GmpEvidence.id"
    )


class GmpAnswer(Base):
    """The owner's answer to one item: yes | no | unknown ("tidak tahu"). Severity and aspect are
    copied from the checklist at answer time, so history reads right after content changes."""

    __tablename__ = "gmp_answers"
    __table_args__ = (UniqueConstraint("check_id", "item_id", name="uq_gmp_answers_check_item"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("gmp_checks.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(32))
    aspect: Mapped[str] = mapped_column(String(8))
    severity: Mapped[str] = mapped_column(String(16))
    answer: Mapped[str] = mapped_column(String(8))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    check: Mapped[GmpCheck] = relationship(back_populates="answers")


class GmpEvidence(Base):
    """A photo (or other media) the owner sent as evidence for one aspect of a check. We keep the
    channel's reference (URL or media id), not the image bytes."""

    __tablename__ = "gmp_evidence"
    __table_args__ = (Index("ix_gmp_evidence_check_aspect", "check_id", "aspect"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    check_id: Mapped[int] = mapped_column(ForeignKey("gmp_checks.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    aspect: Mapped[str] = mapped_column(String(8))
    media_kind: Mapped[str] = mapped_column(String(16), default="image")
    url: Mapped[str] = mapped_column(Text, default="")
    content_type: Mapped[str] = mapped_column(String(64), default="")
    provider_id: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    check: Mapped[GmpCheck] = relationship(back_populates="evidence")
