"""Label checks: a photo of a package label, the words read from it and the checklist result
(bot/labels/). The photo itself is the owner's kept evidence file (`photo_url`, as the message log
names it), so HAPUS DATA erases it with the owner's other evidence; rows go with the owner."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime


class LabelCheck(Base):
    __tablename__ = "label_checks"
    __table_args__ = (Index("ix_label_checks_owner_created", "owner_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    photo_url: Mapped[str] = mapped_column(String(300), default="")  # evidence/<channel>/<file>
    readable: Mapped[bool] = mapped_column(Boolean, default=False)
    verdict: Mapped[str] = mapped_column(String(16))  # unreadable | needs_fixes | looks_complete
    route: Mapped[str | None] = mapped_column(String(24))
    text: Mapped[str] = mapped_column(Text, default="")  # the words read, line by line
    result: Mapped[dict] = mapped_column(JSON, default=dict)  # LabelResult.as_dict() without the words
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
