"""Rendering a reply as plain text, for channels without buttons (console, WhatsApp text)."""
from __future__ import annotations

from bot.messages import Reply


def render_numbered(reply: Reply) -> str:
    if not reply.options:
        return reply.text
    lines = [reply.text, ""] + [f"{number}. {label}" for number, label in enumerate(reply.options, 1)]
    return "\n".join(lines)
