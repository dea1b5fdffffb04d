"""Mentors (JakOfficers) and how cases reach them.

- `Mentor`: the roster, imported from CSV (`umkm-bot mentors import`). A mentor is never deleted,
  only made inactive, so `tickets.mentor_id` and `case_offers.mentor_id` always point at someone.
- `MentorArea`: the kecamatan a mentor covers; an empty `kecamatan` means the whole city area.
- `CaseRouting`: per case, how far routing went (kecamatan, city, supervisor) and the SLA marks.
- `CaseOffer`: which mentors a case was offered to. Only they (and supervisors) may take it.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime

ROLES = ("mentor", "supervisor")
SECTORS = ("food", "cosmetics", "herbal")


class Mentor(Base):
    __tablename__ = "mentors"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)  # the programme's own id, e.g. JO-0001
    name: Mapped[str] = mapped_column(String(120))
    telegram: Mapped[str | None] = mapped_column(String(64), unique=True)  # Telegram chat id
    whatsapp: Mapped[str | None] = mapped_column(String(32), unique=True)  # E.164 phone number
    role: Mapped[str] = mapped_column(String(16), default="mentor")  # mentor | supervisor
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    sectors: Mapped[list] = mapped_column(JSON, default=list)  # empty: every sector
    lang: Mapped[str] = mapped_column(String(2), default="id")
    # The case a mentor's plain messages go to (the last one taken or opened in the mentor chat).
    # No FK: tickets already point here, and a cycle would make the schema harder to empty and drop.
    current_ticket_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    areas: Mapped[list["MentorArea"]] = relationship(
        back_populates="mentor", cascade="all, delete-orphan", order_by="MentorArea.id"
    )

    @property
    def first_name(self) -> str:
        return (self.name or "").split(" ")[0]

    @property
    def is_supervisor(self) -> bool:
        return self.role == "supervisor"

    def covers_sector(self, sector: str | None) -> bool:
        return not self.sectors or not sector or sector not in SECTORS or sector in self.sectors


class MentorArea(Base):
    __tablename__ = "mentor_areas"
    __table_args__ = (
        UniqueConstraint("mentor_id", "city", "kecamatan", name="uq_mentor_areas_mentor_city_kecamatan"),
        Index("ix_mentor_areas_city_kecamatan", "city", "kecamatan"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentors.id", ondelete="CASCADE"))
    city: Mapped[str] = mapped_column(String(64))  # area key from content/locations (jakarta-barat)
    kecamatan: Mapped[str] = mapped_column(String(64), default="")  # kecamatan key; "" = whole city

    mentor: Mapped[Mentor] = relationship(back_populates="areas")


class CaseRouting(Base):
    """Where a case went and what the SLA check has done about it."""

    __tablename__ = "case_routing"

    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True)
    level: Mapped[str] = mapped_column(String(16))  # kecamatan | city | supervisor | none
    routed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseOffer(Base):
    """A case shown to a mentor: by routing, escalation or transfer."""

    __tablename__ = "case_offers"
    __table_args__ = (
        UniqueConstraint("ticket_id", "mentor_id", name="uq_case_offers_ticket_mentor"),
        Index("ix_case_offers_mentor", "mentor_id", "ticket_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    mentor_id: Mapped[int] = mapped_column(ForeignKey("mentors.id", ondelete="CASCADE"))
    via: Mapped[str] = mapped_column(String(16))  # kecamatan | city | supervisor | escalation | transfer
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
