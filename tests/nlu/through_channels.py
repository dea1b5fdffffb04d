"""Sending an owner's message where real traffic enters (a signed Twilio webhook or a real Telegram
Update JSON) and reading back everything the owner has been sent, for the tests in this folder."""
from __future__ import annotations


def whatsapp(harness, text: str, sender: str) -> list[str]:
    """What the owner has read so far, after sending `text` over WhatsApp."""
    assert harness.twilio_post(harness.twilio_form(text, sender=sender)).status_code == 200
    harness.send()
    return [m["Body"] for m in harness.fake.twilio_messages(to=sender)]


def telegram(harness, text: str, chat_id: int) -> list[str]:
    """What the owner has read so far, after sending `text` over Telegram."""
    assert harness.telegram_post(harness.telegram_message(text, chat_id=chat_id)).status_code == 200
    harness.send()
    return [m["text"] for m in harness.fake.telegram_messages(str(chat_id))]
