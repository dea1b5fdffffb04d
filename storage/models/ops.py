"""Operations: the WhatsApp templates found in the Twilio account, per message kind.

`umkm-bot templates sync` (bot/channels/templates.py) reads the account's Content Templates with
their WhatsApp approval status and keeps one row per message kind (reminder, broadcast, relay,
alert, reply): which template serves it, its placeholders, whether WhatsApp approved it. The
sender uses an approved synced template when neither the environment nor the content file names
one; the dashboard's templates page shows the rows, and the kinds without an approved template.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime


class WhatsAppTemplateSync(Base):
    __tablename__ = "whatsapp_templates"

    kind: Mapped[str] = mapped_column(String(16), primary_key=True)
    content_sid: Mapped[str] = mapped_column(String(34), default="")  # "" when no template matched
    friendly_name: Mapped[str] = mapped_column(String(256), default="")
    language: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(32), default="missing")  # approved | pending | rejected | ... | missing
    category: Mapped[str] = mapped_column(String(32), default="")
    rejection_reason: Mapped[str] = mapped_column(Text, default="")
    body: Mapped[str] = mapped_column(Text, default="")
    variables: Mapped[dict] = mapped_column(JSON, default=dict)  # placeholder -> sample value, from Twilio
    matched_by: Mapped[str] = mapped_column(String(16), default="")  # table | convention | sid
    problem: Mapped[str] = mapped_column(Text, default="")  # e.g. placeholders differ from ours
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
