"""No phone number, token or search term reaches a log line (UU PDP 27/2022).

Code logs owner ids, not addresses; this module is the safety net for everything else (a
library's request line, a provider's error text, a traceback with SQLAlchemy's
`[parameters: ...]`, an access-log line with `?q=+62...`).

Redaction happens at the handler, on the fully formatted text: `install()` wraps
`logging.Handler.format`, so every handler (ours, uvicorn's configured later, a library's)
emits only redacted text, tracebacks included. The record itself is never changed, so a
formatter that needs the record's own arguments (uvicorn's access formatter) keeps working.

- Phone numbers are found with `phonenumbers.PhoneNumberMatcher` (region ID, so "0812..." and
  "+62 812..." both count), plus Indonesian mobile numbers written without "+" ("62812...").
  Times and dates such as 12:54:14 or 2026-11-26 are not numbers to it and stay intact.
- Tokens: the values of the secret settings in the environment, and anything shaped like a
  Telegram bot token (`123456:AA...`, which sits in every Bot API URL), become `[secret]`.
- Search terms: the value of `q=` in any URL becomes `[redacted]`.
Twilio's client logs every request at INFO (headers and all); `install()` keeps it at WARNING.
"""
from __future__ import annotations

import logging
import os
import re

import phonenumbers

SECRET_SETTINGS = ("TELEGRAM_BOT_TOKEN", "TWILIO_AUTH_TOKEN", "TWILIO_WEBHOOK_SHARED_KEY", "SECRET_KEY",
                   "TELEGRAM_WEBHOOK_SECRET", "DATABASE_URL_PASSWORD")
TELEGRAM_TOKEN = re.compile(r"\d{5,}:[A-Za-z0-9_-]{20,}")
QUERY_TERM = re.compile(r"(?<=[?&;])(q|query|search|phone|address)=[^&\s\"']*", re.IGNORECASE)
# Indonesian mobiles written without "+": 62 8xx... or 08xx..., 10-15 digits, not inside a longer number
BARE_MOBILE = re.compile(r"(?<![\d:.,/])(?:%2B|\+)?(?:62|0)8\d{7,12}(?![\d:])")
ENCODED_PLUS = re.compile(r"%2B(\d{8,15})(?!\d)", re.IGNORECASE)
_secrets: tuple[str, ...] = ()


def set_secrets(values) -> None:
    """The exact strings never to log (tokens, keys); short values are ignored (too common)."""
    global _secrets
    _secrets = tuple(sorted({v for v in values if v and len(v) >= 8}, key=len, reverse=True))


def _phones(text: str) -> str:
    if not any(ch.isdigit() for ch in text):
        return text
    text = ENCODED_PLUS.sub("[phone]", text)
    spans = [(m.start, m.end) for m in phonenumbers.PhoneNumberMatcher(text, "ID", leniency=phonenumbers.Leniency.VALID)]
    for start, end in reversed(spans):
        text = text[:start] + "[phone]" + text[end:]
    return BARE_MOBILE.sub("[phone]", text)


def redact(text: str) -> str:
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, "[secret]")
    text = TELEGRAM_TOKEN.sub("[secret]", text)
    text = QUERY_TERM.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    return _phones(text)


class RedactPhoneNumbers(logging.Filter):
    """Record-level redaction for a handler that is not formatted through `install()`'s hook
    (kept for callers that attach it themselves); rewrites only plain %-style records."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


_original_format = logging.Handler.format


def _redacting_format(self: logging.Handler, record: logging.LogRecord) -> str:
    try:
        return redact(_original_format(self, record))
    except Exception:  # redaction must never lose the line: fall back to a bare, redacted message
        return redact(f"{record.levelname} {record.name}: {record.msg}")


def install(verbose: bool = False) -> None:
    """Redact every handler's output, now and for handlers configured later; quiet chatty libraries."""
    set_secrets(os.environ.get(name, "").strip() for name in SECRET_SETTINGS)
    logging.Handler.format = _redacting_format  # type: ignore[method-assign]
    logging.getLogger("twilio").setLevel(logging.WARNING)  # a request line with headers per message
    if not verbose:
        for name in ("httpx", "httpcore"):
            logging.getLogger(name).setLevel(logging.WARNING)
    else:
        # python-telegram-bot and httpcore at DEBUG write whole outgoing texts and raw bytes
        for name in ("telegram", "httpcore", "hpack"):
            logging.getLogger(name).setLevel(logging.INFO)
