"""Phone numbers never appear in logs, whatever code or library logged them."""
from __future__ import annotations

import logging

from bot.logsafety import RedactPhoneNumbers, redact
from bot.messages import Inbound
from bot.pipeline import handle


def test_redact_forms_of_indonesian_numbers():
    for number in ("+6281234567890", "6281234567890", "whatsapp:+6281234567890", "0812-3456-7890", "+62 812 3456 7890"):
        assert "[phone]" in redact(f"from {number} ok"), number
        assert "3456" not in redact(f"from {number} ok"), number
    assert redact("owner=42 ticket 1234") == "owner=42 ticket 1234"


def test_pipeline_logs_carry_no_phone_number(db, content, caplog):
    caplog.handler.addFilter(RedactPhoneNumbers())
    with caplog.at_level(logging.DEBUG):
        handle(Inbound(channel="whatsapp", address="+6281234567890", text="halo", message_id="x1"), db=db, content=content)
        handle(Inbound(channel="whatsapp", address="+6281234567890", text="halo", message_id="x1"), db=db, content=content)
    assert "duplicate message dropped" in caplog.text
    assert "81234567890" not in caplog.text


def test_filter_rewrites_args_and_exception_text():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "send to %s failed", ("+6281234567890",), None)
    record.exc_text = "TwilioRestException: To number +6281234567890 is invalid"
    RedactPhoneNumbers().filter(record)
    assert record.getMessage() == "send to [phone] failed"
    assert "+628" not in record.exc_text
