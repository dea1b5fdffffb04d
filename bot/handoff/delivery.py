"""Whether a message to an owner can go out now, said plainly to the mentor who wrote it.

WhatsApp allows free text only within 24 hours of the owner's last message; after that only an
approved template (content/channels/whatsapp_templates.yaml or WHATSAPP_TEMPLATE_RELAY) may go.
The sender (bot/sender.py, bot/channels/whatsapp.py) applies that rule and records a relay it
cannot send as `unsendable` with the reason. The mentor chat asks `outlook` first, so a mentor is
never told "✓ terkirim" for a reply that will not arrive, and `release_held` puts such replies back
in the queue the moment the owner writes again (their window is open then).
"""
from __future__ import annotations

import os
from datetime import datetime

from sqlalchemy import update
from sqlalchemy.orm import Session

from bot.channels.config import TEMPLATE_ENV_PREFIX
from bot.channels.templates import DEFAULT_FILE, TemplateBook
from bot.channels.whatsapp import WINDOW, WINDOW_MARGIN
from bot.clock import as_utc, local, utcnow
from bot.content import Content
from storage.models import OutboxMessage, Owner

SENT = "sent"  # goes out now as ordinary text
TEMPLATE = "template"  # outside the window: goes out as the approved template
HELD = "held"  # outside the window, no template: waits until the owner writes again
# The reason the sender records for such a message (bot/channels/whatsapp.py `prepare`).
WINDOW_REASON = "outside the WhatsApp 24-hour window%"


def template_configured(content: Content, kind: str) -> bool:
    overrides = {key[len(TEMPLATE_ENV_PREFIX):].lower(): value.strip() for key, value in os.environ.items()
                 if key.startswith(TEMPLATE_ENV_PREFIX) and value.strip()}
    path = content.root / (os.environ.get("WHATSAPP_TEMPLATES_FILE") or DEFAULT_FILE)
    return TemplateBook.load(path, overrides).for_kind(kind) is not None


def outlook(content: Content, owner: Owner, now: datetime | None = None, kind: str = "relay",
            session: Session | None = None) -> str:
    if owner.channel != "whatsapp":
        return SENT  # Telegram and the web chat have no window
    now = now or utcnow()
    last = owner.last_inbound_at
    open_by_clock = last is not None and as_utc(now) < as_utc(last) + WINDOW - WINDOW_MARGIN
    if open_by_clock and session is not None:
        # WhatsApp itself may have said (error 63016) that the window closed since the owner wrote.
        from bot.sender import windows_closed

        closed = windows_closed(session, [owner.id]).get(owner.id)
        open_by_clock = closed is None or as_utc(closed) < as_utc(last)
    if open_by_clock:
        return SENT
    return TEMPLATE if template_configured(content, kind) else HELD


def last_written(owner: Owner) -> str:
    return local(owner.last_inbound_at).strftime("%d-%m-%Y %H:%M") if owner.last_inbound_at else "-"


def release_held(session: Session, channel: str, address: str) -> int:
    """The owner wrote: mentor replies held by the closed window go back in the queue."""
    if channel != "whatsapp":
        return 0
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.channel == channel, OutboxMessage.address == address,
               OutboxMessage.kind == "relay", OutboxMessage.status == "unsendable",
               OutboxMessage.error.like(WINDOW_REASON))
        .values(status="pending", error=None, not_before=None, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    return result.rowcount or 0
