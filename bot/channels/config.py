"""Settings of the channels and the sender that are not in `bot.config.Settings`.

Every variable is listed in `.env.example` and explained in docs/channels.md.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from bot.config import Settings


def _env(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def _float(name: str, default: float) -> float:
    raw = _env(name)
    return float(raw) if raw else default


def _int(name: str, default: int) -> int:
    raw = _env(name)
    return int(raw) if raw else default


def _flag(name: str, default: bool) -> bool:
    raw = _env(name).lower()
    if not raw:
        return default
    return raw in ("1", "true", "yes", "on")


TEMPLATE_ENV_PREFIX = "WHATSAPP_TEMPLATE_"  # WHATSAPP_TEMPLATE_REMINDER=HX... overrides the YAML


@dataclass(frozen=True)
class ChannelSettings:
    # WhatsApp (Twilio)
    twilio_messaging_service_sid: str = ""  # send through a Messaging Service instead of one number
    twilio_webhook_shared_key: str = ""  # secret for X-Twilio-Webhooks-Signature-Settings signing
    twilio_status_callbacks: bool = True  # ask Twilio for delivery callbacks (needs PUBLIC_BASE_URL)
    whatsapp_templates_file: str = "channels/whatsapp_templates.yaml"  # under CONTENT_DIR
    template_sid_overrides: dict[str, str] = field(default_factory=dict)  # kind -> ContentSid
    # Telegram
    telegram_per_chat_burst: int = 3  # Telegram tolerates short bursts above 1/s in one chat
    # Sender
    sender_lease_seconds: float = 60.0  # longer than the HTTP timeout and a callback's usual delay
    sender_max_attempts: int = 6
    sender_backoff_seconds: float = 5.0  # first retry; doubles per attempt, capped at 15 minutes
    sender_max_in_flight: int = 64
    sender_poll_seconds: float = 0.25
    http_timeout: float = 15.0
    # Inbound queue
    inbox_lease_seconds: float = 120.0
    inbox_max_attempts: int = 5
    evidence_dir: Path | None = None  # photos and documents owners send; default DATA_DIR/evidence

    @classmethod
    def from_env(cls, settings: Settings) -> "ChannelSettings":
        overrides = {
            key[len(TEMPLATE_ENV_PREFIX):].lower(): value.strip()
            for key, value in os.environ.items()
            if key.startswith(TEMPLATE_ENV_PREFIX) and value.strip()
        }
        evidence = _env("EVIDENCE_DIR")
        return cls(
            twilio_messaging_service_sid=_env("TWILIO_MESSAGING_SERVICE_SID"),
            twilio_webhook_shared_key=_env("TWILIO_WEBHOOK_SHARED_KEY"),
            twilio_status_callbacks=_flag("TWILIO_STATUS_CALLBACKS", True),
            whatsapp_templates_file=_env("WHATSAPP_TEMPLATES_FILE", "channels/whatsapp_templates.yaml"),
            template_sid_overrides=overrides,
            telegram_per_chat_burst=_int("TELEGRAM_PER_CHAT_BURST", 3),
            sender_lease_seconds=_float("SENDER_LEASE_SECONDS", 60.0),
            sender_max_attempts=_int("SENDER_MAX_ATTEMPTS", 6),
            sender_backoff_seconds=_float("SENDER_BACKOFF_SECONDS", 5.0),
            sender_max_in_flight=_int("SENDER_MAX_IN_FLIGHT", 64),
            sender_poll_seconds=_float("SENDER_POLL_SECONDS", 0.25),
            http_timeout=_float("CHANNEL_HTTP_TIMEOUT", 15.0),
            inbox_lease_seconds=_float("INBOX_LEASE_SECONDS", 120.0),
            inbox_max_attempts=_int("INBOX_MAX_ATTEMPTS", 5),
            evidence_dir=Path(evidence) if evidence else settings.data_dir / "evidence",
        )
