"""The real channels: WhatsApp (Twilio) and Telegram (python-telegram-bot).

`runtime(services)` builds, once per Services, the enabled channels, the inbound queue and the
outbox sender. A channel without credentials is simply off: its webhook answers 404 and the
sender has no lane for it; everything else (console, web chat, pages) runs as usual.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

from bot.channels.base import Channel
from bot.channels.config import ChannelSettings
from bot.channels.inbox import Inbox
from bot.config import Settings


@dataclass
class ChannelRuntime:
    settings: Settings
    channel_settings: ChannelSettings
    channels: dict[str, Channel]
    inbox: Inbox
    sender: "Sender"

    @property
    def whatsapp(self):
        return self.channels.get("whatsapp")

    @property
    def telegram(self):
        return self.channels.get("telegram")


def build_channels(settings: Settings, cs: ChannelSettings) -> dict[str, Channel]:
    channels: dict[str, Channel] = {}
    if settings.twilio_enabled:
        from bot.channels.templates import TemplateBook
        from bot.channels.whatsapp import WhatsAppChannel

        templates = TemplateBook.load(settings.content_dir / cs.whatsapp_templates_file, cs.template_sid_overrides,
                                      database_url=settings.database_url)  # + approved templates synced from Twilio
        channels["whatsapp"] = WhatsAppChannel(settings, cs, templates)
    if settings.telegram_enabled:
        from bot.channels.telegram import TelegramChannel

        channels["telegram"] = TelegramChannel(settings, cs)
    return channels


_lock = threading.Lock()


def runtime(services) -> ChannelRuntime:
    """The channels of one Services (kept on it, so the app, the CLI and tests share them)."""
    with _lock:
        existing = services.__dict__.get("_channel_runtime")
        if existing is not None:
            return existing
        from bot.sender import Sender

        cs = ChannelSettings.from_env(services.settings)
        channels = build_channels(services.settings, cs)
        inbox = Inbox(services.db, services.content, channels, cs)
        sender = Sender(services.db, channels, services.settings, cs)
        inbox.on_handled = sender.wake
        rt = ChannelRuntime(services.settings, cs, channels, inbox, sender)
        services.__dict__["_channel_runtime"] = rt
        return rt


from bot.sender import Sender  # noqa: E402  (for the annotation above; sender imports channels.base)
