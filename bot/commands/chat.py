from __future__ import annotations

import click

from bot.console import run_chat
from bot.services import build_services


def register(group: click.Group) -> None:
    @group.command("chat")
    @click.option("--user", required=True, help="The owner's id: a phone number for WhatsApp, a chat id for Telegram.")
    @click.option("--channel", type=click.Choice(["whatsapp", "telegram"]), default="whatsapp", show_default=True)
    @click.option("--lang", type=click.Choice(["id", "en"]), default=None, help="Language for a new owner.")
    @click.option("--json", "as_json", is_flag=True, help="One JSON object per bot reply on stdout, nothing else.")
    def chat(user: str, channel: str, lang: str | None, as_json: bool) -> None:
        """Talk to the bot through the real pipeline (state persists in DATABASE_URL)."""
        raise SystemExit(run_chat(build_services(), user, channel, lang, as_json))
