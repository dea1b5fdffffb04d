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


NOT_UNDERSTOOD = ("belum paham", "belum bisa menjawab")


class Chat:
    """One owner on one channel: say() returns only the new messages the owner reads."""

    def __init__(self, harness, channel: str, address: str):
        self.harness, self.channel, self.address, self.seen = harness, channel, address, 0

    def say(self, text: str) -> list[str]:
        h = self.harness
        if self.channel == "whatsapp":
            assert h.twilio_post(h.twilio_form(text, sender=f"whatsapp:{self.address}")).status_code == 200
            h.send()
            sent = [m["Body"] for m in h.fake.twilio_messages(to=f"whatsapp:{self.address}")]
        else:
            assert h.telegram_post(h.telegram_message(text, chat_id=int(self.address))).status_code == 200
            h.send()
            sent = [m["text"] for m in h.fake.telegram_messages(self.address)]
        new, self.seen = sent[self.seen:], len(sent)
        assert new, f"no answer to {text!r}"
        joined = "\n".join(new).lower()
        assert not any(p in joined for p in NOT_UNDERSTOOD), (text, new)
        assert len(new) <= 2 and all(len(t) <= 400 for t in new), [len(t) for t in new]
        return new
