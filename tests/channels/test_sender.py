"""The outbox sender: windows and templates, priorities, order per owner, retries, provider errors,
delivery callbacks, quiet hours, rates. Outbound calls go through the real clients to the fake."""
from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from bot.clock import utcnow
from storage.models import OutboxMessage, Owner
from storage.models.channels import OutboxEvent
from tests.channels.conftest import TEMPLATE_SID


def add_owner(db, address="+6281234567001", channel="whatsapp", wrote_ago=timedelta(minutes=5), **fields) -> int:
    with db.session() as s:
        owner = Owner(channel=channel, address=address, lang="id", products=[],
                      last_inbound_at=utcnow() - wrote_ago if wrote_ago is not None else None, **fields)
        s.add(owner)
        s.flush()
        return owner.id


def enqueue(db, owner_id, text, kind="reply", priority=None, channel="whatsapp", address="+6281234567001",
            options=None, template_vars=None) -> int:
    with db.session() as s:
        row = OutboxMessage(owner_id=owner_id, channel=channel, address=address, kind=kind,
                            priority=priority if priority is not None else {"reply": 0, "broadcast": 20,
                                                                            "reminder": 10}.get(kind, 0),
                            text=text, options=options or [], template_vars=template_vars or {},
                            status="pending", created_at=utcnow())
        s.add(row)
        s.flush()
        return row.id


def row(db, row_id) -> OutboxMessage:
    with db.session() as s:
        return s.get(OutboxMessage, row_id)


def events(db, event):
    with db.session() as s:
        return s.scalars(select(OutboxEvent).where(OutboxEvent.event == event)).all()


# --- the 24-hour window ----------------------------------------------------------------------
def test_outside_window_goes_out_as_the_configured_template(make_harness, monkeypatch, clock):
    monkeypatch.setenv("WHATSAPP_TEMPLATE_REMINDER", TEMPLATE_SID)
    h = make_harness()
    owner = add_owner(h.db, wrote_ago=timedelta(days=3), name="Sari Dewi")
    rid = enqueue(h.db, owner, "Izin P-IRT Anda habis\ndalam 30 hari.", kind="reminder", options=["Perpanjang", "Nanti"])
    h.send()
    [sent] = h.fake.twilio_messages()
    assert sent["ContentSid"] == TEMPLATE_SID and "Body" not in sent
    variables = json.loads(sent["ContentVariables"])
    assert variables == {"1": "Sari", "2": "Izin P-IRT Anda habis / dalam 30 hari. / 1. Perpanjang / 2. Nanti"}
    assert row(h.db, rid).status == "sent"


def test_outside_window_without_template_is_recorded_unsendable_with_the_reason(harness, clock):
    owner = add_owner(harness.db, wrote_ago=timedelta(hours=25))
    rid = enqueue(harness.db, owner, "Pelatihan GMP minggu depan", kind="broadcast")
    harness.send()
    assert harness.fake.twilio_messages() == []
    stored = row(harness.db, rid)
    assert stored.status == "unsendable"
    assert "24-hour window" in stored.error and "'broadcast'" in stored.error
    assert len(events(harness.db, "unsendable")) == 1


def test_inside_window_goes_as_free_text(harness, clock):
    owner = add_owner(harness.db, wrote_ago=timedelta(hours=23))
    enqueue(harness.db, owner, "Pengingat", kind="reminder")
    harness.send()
    [sent] = harness.fake.twilio_messages()
    assert sent["Body"] == "Pengingat" and "ContentSid" not in sent


def test_63016_from_twilio_switches_to_the_template(make_harness, monkeypatch, clock):
    """Our clock says the window is open, WhatsApp says it is closed: believe WhatsApp."""
    monkeypatch.setenv("WHATSAPP_TEMPLATE_RELAY", TEMPLATE_SID)
    h = make_harness()
    owner = add_owner(h.db, wrote_ago=timedelta(hours=2))
    h.fake.twilio_errors["whatsapp:+6281234567001"].append(
        (400, 63016, "Failed to send freeform message because you are outside the allowed window."))
    rid = enqueue(h.db, owner, "Jawaban pendamping", kind="relay")
    h.send()
    first, second = h.fake.twilio_messages()
    assert "Body" in first and second["ContentSid"] == TEMPLATE_SID
    assert row(h.db, rid).status == "sent"
    assert len(events(h.db, "window_closed")) == 1


def test_63016_in_a_delivery_callback_queues_the_template(make_harness, monkeypatch, clock):
    monkeypatch.setenv("WHATSAPP_TEMPLATE_REMINDER", TEMPLATE_SID)
    h = make_harness()
    owner = add_owner(h.db, wrote_ago=timedelta(hours=2))
    rid = enqueue(h.db, owner, "Pengingat", kind="reminder")
    h.send()
    sid = row(h.db, rid).provider_id
    assert h.status_callback(rid, sid, "failed", "63016").status_code == 200
    assert h.status_callback(rid, sid, "failed", "63016").status_code == 200  # Twilio may repeat it
    assert row(h.db, rid).status == "failed"
    h.send()
    messages = h.fake.twilio_messages()
    assert len(messages) == 2 and messages[1]["ContentSid"] == TEMPLATE_SID


# --- provider errors ---------------------------------------------------------------------------
def test_21610_marks_the_owner_unreachable(harness, clock):
    owner = add_owner(harness.db)
    harness.fake.twilio_errors["whatsapp:+6281234567001"].append(
        (400, 21610, "Attempt to send to unsubscribed recipient"))
    first = enqueue(harness.db, owner, "satu")
    second = enqueue(harness.db, owner, "dua")
    harness.send()
    assert row(harness.db, first).status == "unsendable" and "21610" in row(harness.db, first).error
    assert row(harness.db, second).status == "unsendable"
    assert len(harness.fake.twilio_messages()) == 1
    with harness.db.session() as s:
        assert s.get(Owner, owner).unreachable_at is not None


def test_rate_limit_error_is_retried_with_backoff(harness, clock):
    owner = add_owner(harness.db)
    harness.fake.twilio_errors["whatsapp:+6281234567001"].append((429, 20429, "Too Many Requests"))
    rid = enqueue(harness.db, owner, "halo")
    harness.send()
    stored = row(harness.db, rid)
    assert stored.status == "pending" and stored.attempts == 1 and "20429" in stored.error
    assert stored.not_before > utcnow()
    clock.shift(timedelta(seconds=60))
    harness.send()
    stored = row(harness.db, rid)
    assert stored.status == "sent" and stored.attempts == 2 and stored.error is None
    assert len(events(harness.db, "retry")) == 1


def test_transient_errors_give_up_after_max_attempts_with_the_reason(make_harness, monkeypatch, clock):
    monkeypatch.setenv("SENDER_MAX_ATTEMPTS", "3")
    h = make_harness()
    owner = add_owner(h.db)
    h.fake.twilio_always["whatsapp:+6281234567001"] = (503, 20500, "Service Unavailable")
    rid = enqueue(h.db, owner, "halo")
    for _ in range(3):
        h.send()
        clock.shift(timedelta(minutes=20))
    stored = row(h.db, rid)
    assert stored.status == "failed" and stored.attempts == 3
    assert stored.error.startswith("gave up after 3 attempts") and "503" in stored.error


def test_invalid_recipient_fails_without_retry(harness, clock):
    owner = add_owner(harness.db)
    harness.fake.twilio_errors["whatsapp:+6281234567001"].append((400, 21211, "Invalid 'To' Phone Number"))
    rid = enqueue(harness.db, owner, "halo")
    harness.send()
    assert row(harness.db, rid).status == "failed" and row(harness.db, rid).attempts == 1


# --- order and priority ------------------------------------------------------------------------
def test_replies_go_before_bulk(make_harness, clock):
    harness = make_harness(whatsapp_rate=10.0)  # slots 100 ms apart: the order on the wire is the sender's
    owners = [add_owner(harness.db, address=f"+62812000{n:05d}") for n in range(6)]
    for n, owner in enumerate(owners):
        enqueue(harness.db, owner, f"broadcast {n}", kind="broadcast", address=f"+62812000{n:05d}")
    reply = enqueue(harness.db, owners[5], "jawaban", kind="reply", address="+6281200000005")
    harness.send()
    bodies = [m["Body"] for m in harness.fake.twilio_messages()]
    assert bodies[0] == "jawaban"
    assert sorted(bodies[1:]) == [f"broadcast {n}" for n in range(6)]
    assert row(harness.db, reply).status == "sent"


def test_an_owners_messages_go_out_in_order_even_across_a_retry(harness, clock):
    owner = add_owner(harness.db)
    harness.fake.twilio_errors["whatsapp:+6281234567001"].append((500, 20500, "Internal error"))
    ids = [enqueue(harness.db, owner, f"pesan {n}") for n in range(4)]
    harness.send()
    assert [row(harness.db, i).status for i in ids] == ["pending"] * 4  # all wait behind the first
    clock.shift(timedelta(minutes=1))
    harness.send()
    bodies = [m["Body"] for m in harness.fake.twilio_messages()]
    assert bodies == ["pesan 0", "pesan 0", "pesan 1", "pesan 2", "pesan 3"]


def test_long_text_goes_out_in_parts(harness, clock):
    owner = add_owner(harness.db)
    paragraphs = [f"Paragraf {n}: " + "kata " * 60 for n in range(12)]
    enqueue(harness.db, owner, "\n\n".join(paragraphs))
    harness.send()
    parts = [m["Body"] for m in harness.fake.twilio_messages()]
    assert len(parts) > 1 and all(len(p) <= 1600 for p in parts)
    assert " ".join(parts).split() == "\n\n".join(paragraphs).split()


# --- delivery callbacks ------------------------------------------------------------------------
def test_delivery_status_never_goes_back(harness, clock):
    owner = add_owner(harness.db)
    rid = enqueue(harness.db, owner, "halo")
    harness.send()
    sid = row(harness.db, rid).provider_id
    for status, expected in [("delivered", "delivered"), ("sent", "delivered"), ("queued", "delivered"),
                             ("read", "read"), ("delivered", "read"), ("failed", "read")]:
        assert harness.status_callback(rid, sid, status).status_code == 200
        assert row(harness.db, rid).status == expected, status


def test_delivery_callback_before_the_sender_records_does_not_resend(harness, clock):
    """Twilio accepted the message and called back, but its sender never recorded the answer
    (it died): the callback makes the row sent, and no other sender sends it again."""
    owner = add_owner(harness.db)
    rid = enqueue(harness.db, owner, "halo")
    sender = harness.rt.sender
    channel = harness.rt.whatsapp
    [[item]] = sender.claim(channel, 10)
    asyncio.run(channel.send(item))  # accepted by Twilio; the sender dies before record_sent
    [accepted] = harness.fake.twilio_messages()
    assert harness.status_callback(rid, accepted["_sid"], "sent").status_code == 200
    clock.shift(timedelta(seconds=harness.rt.channel_settings.sender_lease_seconds + 1))
    harness.send()
    assert len(harness.fake.twilio_messages()) == 1
    stored = row(harness.db, rid)
    assert stored.status == "sent" and stored.provider_id == accepted["_sid"]


def test_sender_dying_without_an_answer_resends_once_after_the_lease(harness, clock):
    owner = add_owner(harness.db)
    rid = enqueue(harness.db, owner, "halo")
    sender, channel = harness.rt.sender, harness.rt.whatsapp
    assert len(sender.claim(channel, 10)) == 1  # claimed, then the process died before sending
    harness.send()
    assert harness.fake.twilio_messages() == []  # the lease still holds
    clock.shift(timedelta(seconds=harness.rt.channel_settings.sender_lease_seconds + 1))
    harness.send()
    assert len(harness.fake.twilio_messages()) == 1
    assert row(harness.db, rid).status == "sent" and row(harness.db, rid).attempts == 2
    assert len(events(harness.db, "in_doubt_resend")) == 1


# --- policy ------------------------------------------------------------------------------------
def test_quiet_hours_hold_broadcasts_until_morning(harness, clock):
    clock.move_to("2026-11-23 21:30:00+07:00")
    owner = add_owner(harness.db, wrote_ago=timedelta(hours=3))
    rid = enqueue(harness.db, owner, "Info pelatihan", kind="broadcast")
    reply = enqueue(harness.db, owner, "Jawaban", kind="reply")
    harness.send()
    assert [m["Body"] for m in harness.fake.twilio_messages()] == ["Jawaban"]
    held = row(harness.db, rid)
    assert held.status == "pending"
    assert held.not_before.isoformat() == "2026-11-24T00:00:00+00:00"  # 07:00 WIB
    assert row(harness.db, reply).status == "sent"
    clock.move_to("2026-11-24 07:01:00+07:00")
    harness.send()
    assert [m["Body"] for m in harness.fake.twilio_messages()] == ["Jawaban", "Info pelatihan"]


def test_owner_who_wrote_tonight_gets_reminders_at_night(harness, clock):
    clock.move_to("2026-11-23 22:00:00+07:00")
    owner = add_owner(harness.db, wrote_ago=timedelta(minutes=30))
    enqueue(harness.db, owner, "Pengingat", kind="reminder")
    harness.send()
    assert len(harness.fake.twilio_messages()) == 1


def test_opted_out_owner_gets_replies_but_no_broadcasts(harness, clock):
    owner = add_owner(harness.db, opted_out_at=utcnow())
    bulk = enqueue(harness.db, owner, "Info", kind="broadcast")
    reply = enqueue(harness.db, owner, "Anda tidak akan menerima pesan lagi.", kind="reply")
    harness.send()
    assert [m["Body"] for m in harness.fake.twilio_messages()] == ["Anda tidak akan menerima pesan lagi."]
    assert row(harness.db, bulk).status == "unsendable" and "opted out" in row(harness.db, bulk).error
    assert row(harness.db, reply).status == "sent"


# --- rates -------------------------------------------------------------------------------------
def test_channel_rate_is_respected(make_harness, clock):
    h = make_harness(whatsapp_rate=40.0)
    for n in range(41):
        address = f"+62813000{n:05d}"
        enqueue(h.db, add_owner(h.db, address=address), f"m{n}", address=address)
    started = time.monotonic()
    assert h.send().sent == 41
    elapsed = time.monotonic() - started
    assert elapsed >= 0.95  # 41 messages at 40/s: the last one a full second after the first
    stamps = sorted(c.at for c in h.fake.calls("twilio", "Messages"))
    assert stamps[-1] - stamps[0] >= 0.95


def test_telegram_keeps_one_message_per_second_per_chat(make_harness, monkeypatch, clock):
    monkeypatch.setenv("TELEGRAM_PER_CHAT_BURST", "1")
    h = make_harness()
    owner = add_owner(h.db, address="70001", channel="telegram")
    for n in range(3):
        enqueue(h.db, owner, f"bagian {n}", channel="telegram", address="70001")
    h.send()
    stamps = [c.at for c in h.fake.calls("telegram", "sendMessage")]
    assert len(stamps) == 3
    assert stamps[1] - stamps[0] >= 0.95 and stamps[2] - stamps[1] >= 0.95


@pytest.mark.parametrize("count", [1])
def test_unsent_rows_are_never_silently_dropped(harness, clock, count):
    """Every row ends in a state with a reason; none stays claimed after a drain."""
    ok = add_owner(harness.db, address="+6281200000001")
    late = add_owner(harness.db, address="+6281200000002", wrote_ago=timedelta(days=2))
    enqueue(harness.db, ok, "a", address="+6281200000001")
    enqueue(harness.db, late, "b", kind="reminder", address="+6281200000002")
    harness.send()
    with harness.db.session() as s:
        statuses = dict(s.execute(select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)).all())
    assert statuses == {"sent": 1, "unsendable": 1}


def test_a_turns_replies_are_claimed_as_one_group_each_once(harness, clock):
    """Regression: the follower lookup once counted a claimed row as its own follower."""
    first_owner = add_owner(harness.db, address="+6281200000001")
    second_owner = add_owner(harness.db, address="+6281200000002")
    a = [enqueue(harness.db, first_owner, f"a{n}", address="+6281200000001") for n in range(3)]
    b = [enqueue(harness.db, second_owner, f"b{n}", address="+6281200000002") for n in range(2)]
    bulk = enqueue(harness.db, first_owner, "info", kind="broadcast", address="+6281200000001")
    groups = harness.rt.sender.claim(harness.rt.whatsapp, 10)
    assert [[item.id for item in group] for group in groups] == [a, b]  # the bulk one waits behind a0-a2
    assert bulk not in [item.id for group in groups for item in group]
    harness.rt.sender.release([item for group in groups for item in group])
    harness.send()
    assert sorted(m["Body"] for m in harness.fake.twilio_messages()) == ["a0", "a1", "a2", "b0", "b1", "info"]
