"""A send in doubt (Twilio accepted it, but neither the answer nor the status callback was
recorded: the sender died while the database was away) is not sent twice: before resending,
the sender finds it in Twilio's message list."""
from __future__ import annotations

import asyncio
from datetime import timedelta

from tests.channels.test_sender import add_owner, enqueue, events, row


def test_an_accepted_send_without_callback_is_found_not_resent(harness, clock):
    owner = add_owner(harness.db)
    rid = enqueue(harness.db, owner, "Halo, ini jawaban yang sudah terkirim")
    sender, channel = harness.rt.sender, harness.rt.whatsapp
    [[item]] = sender.claim(channel, 10)
    asyncio.run(channel.send(item))  # Twilio has it; the sender dies, and no callback is recorded
    [accepted] = harness.fake.twilio_messages()
    clock.shift(timedelta(seconds=harness.rt.channel_settings.sender_lease_seconds + 1))
    harness.send()
    assert len(harness.fake.twilio_messages()) == 1  # not sent twice
    stored = row(harness.db, rid)
    assert stored.status == "sent" and stored.provider_id == accepted["_sid"]
    assert len(events(harness.db, "in_doubt_found")) == 1 and not events(harness.db, "in_doubt_resend")


def test_a_send_that_never_reached_twilio_is_still_resent(harness, clock):
    owner = add_owner(harness.db)
    rid = enqueue(harness.db, owner, "Pesan yang belum terkirim")
    sender, channel = harness.rt.sender, harness.rt.whatsapp
    assert len(sender.claim(channel, 10)) == 1  # claimed, then the process died before sending
    clock.shift(timedelta(seconds=harness.rt.channel_settings.sender_lease_seconds + 1))
    harness.send()
    assert len(harness.fake.twilio_messages()) == 1
    assert row(harness.db, rid).status == "sent" and len(events(harness.db, "in_doubt_resend")) == 1
