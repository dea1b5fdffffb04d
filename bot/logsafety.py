"""Phone numbers never reach the logs (UU PDP 27/2022): a filter on every handler redacts them.

Code logs owner ids, not addresses; this filter is the safety net for a library or a message
that slips one in (a Twilio error text, an exception message).
"""
from __future__ import annotations

import logging
import re

# +62 812-3456-7890, 6281234567890, whatsapp:+628..., 0812 3456 7890: 9+ digits with separators.
PHONE = re.compile(r"(?<![\w])(?:\+|whatsapp:\+?)?\d(?:[\s-]?\d){8,14}(?![\w])")


def redact(text: str) -> str:
    return PHONE.sub("[phone]", text)


class RedactPhoneNumbers(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install() -> None:
    """Attach the filter to every handler of the root logger (and future uvicorn handlers)."""
    phone_filter = RedactPhoneNumbers()
    for handler in logging.getLogger().handlers:
        handler.addFilter(phone_filter)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).addFilter(phone_filter)
