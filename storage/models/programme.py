"""The programme steps that people record (JakPreneur P5 marketing, P6 financial reporting,
P7 capital access); P1-P4 come from the bot's own data (bot/programme.py)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime


class ProgrammeMilestone(Base):
    __tablename__ = "programme_milestones"
    __table_args__ = (UniqueConstraint("owner_id", "step", name="uq_programme_milestones_owner_step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    step: Mapped[str] = mapped_column(String(2))  # p5 | p6 | p7
    achieved_on: Mapped[date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
