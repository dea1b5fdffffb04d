"""The shapes that cross the pipeline's boundary.

Every channel turns its payload into one `Inbound`; every flow answers with `Reply` objects.
Channels never decide what to say, flows never call a channel.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.clock import utcnow

CHANNELS = ("whatsapp", "telegram", "console", "web")


@dataclass(frozen=True)
class Media:
    """An attachment the owner sent. `kind` is image, audio, video, document or other."""

    kind: str
    url: str = ""
    content_type: str = ""
    provider_id: str = ""


@dataclass(frozen=True)
class Inbound:
    channel: str
    address: str  # phone number in E.164 for WhatsApp, chat id for Telegram, any id for console/web
    text: str = ""
    media: tuple[Media, ...] = ()
    message_id: str = ""  # the provider's id; empty means "never a duplicate" (console)
    received_at: datetime = field(default_factory=utcnow)
    payload: str = ""  # button/callback payload when the owner tapped an option
    profile_name: str = ""
    lang_hint: str = ""  # language for a brand-new owner (console --lang, Telegram language_code)
    synchronous: bool = False  # the caller shows the replies itself (console, web chat, tests)


@dataclass
class Reply:
    """One message to the owner. `options` are labels shown as buttons or as a numbered list."""

    text: str
    options: list[str] = field(default_factory=list)
    kind: str = "reply"  # reply | reminder | broadcast | relay | alert: the sender's priority and template key
    template_vars: dict = field(default_factory=dict)

    def as_json(self) -> dict:
        return {"text": self.text, "options": list(self.options)}
