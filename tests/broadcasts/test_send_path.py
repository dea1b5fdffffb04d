"""From staff's "send" to what owners read, with the recipients queued and each message written by the
sender when it claims work: staff send through the dashboard, an owner stops messages (BERHENTI, a
signed Twilio webhook) after the broadcast was queued, the real sender delivers through the real
twilio client and python-telegram-bot to the local fake providers. Then the sender's guarantees one
by one: quiet hours, priorities and per-owner order, pacing, a cancel racing a sender, two senders.
Every test runs on SQLite and PostgreSQL unless it says otherwise."""
from __future__ import annotations

import threading
import time
from datetime import timedelta

from sqlalchemy import func, select

from bot import broadcasts
from bot.clock import utcnow
from storage.models import OutboxMessage, Owner
from storage.models.events import Broadcast, BroadcastQueued
from tests.broadcasts.factories import bulk_owners, make_owner
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401 - the channel fixtures
from tests.dashboard.scripted import csrf_of, make_user, sign_in

SITI = "+6281234567001"
TONO = "+6281234567003"
JOHN_CHAT = "70002"
MESSAGE = "Halo {{ first_name }}, ada Pelatihan GMP gratis di {{ city }}. Balas DAFTAR untuk ikut."
MESSAGE_EN = "Hello {{ first_name }}, there is a free GMP training in {{ city }}. Reply DAFTAR to join."


def _progress(client, broadcast_id: int) -> dict:
    answer = client.get(f"/dash/broadcasts/{broadcast_id}/progress")
    assert answer.status_code == 200
    return answer.json()["counts"]


def test_staff_send_and_owners_read_it_once_but_not_who_stopped_or_joined_later(harness, content, clock):
    with harness.db.session() as s:
        now = utcnow()
        siti = make_owner(s, name="Siti Aminah", address=SITI, last_inbound_at=now).id
        make_owner(s, name="John Tan", channel="telegram", address=JOHN_CHAT, lang="en", last_inbound_at=now)
        tono = make_owner(s, name="Tono", address=TONO, last_inbound_at=now).id
    make_user(harness.db, "staf", "staff")
    client = harness.client
    client.base_url = "https://testserver"  # staff sign in over https: the session cookie is Secure
    sign_in(client, "staf")
    token = csrf_of(client.get("/dash/broadcasts/new").text)
    sent = client.post("/dash/broadcasts", data={"message": MESSAGE, "message_en": MESSAGE_EN, "when": "now",
                                                 "csrf_token": token}, follow_redirects=False)
    assert sent.status_code == 303, sent.text
    broadcast_id = int(sent.headers["location"].rsplit("/", 1)[1])
    # Queued: three recipients recorded, none sent (a message counts as sent once the provider has it).
    assert _progress(client, broadcast_id) == {"queued": 3, "sent": 0, "delivered": 0, "read": 0, "failed": 0,
                                               "cancelled": 0, "total": 3, "done": 0}
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    # After the broadcast was queued: Tono stops messages, Rina registers (the segment is fixed).
    assert harness.twilio_post(harness.twilio_form("BERHENTI", sender=f"whatsapp:{TONO}")).status_code == 200
    with harness.db.session() as s:
        rina = make_owner(s, name="Rina", address="+6281234567004", last_inbound_at=utcnow()).id
        assert s.get(Owner, tono).opted_out_at is not None

    harness.send()

    assert [m["Body"] for m in harness.fake.twilio_messages(to=f"whatsapp:{SITI}")] == [
        "Halo Siti, ada Pelatihan GMP gratis di Jakarta Timur. Balas DAFTAR untuk ikut."]
    assert [m["text"] for m in harness.fake.telegram_messages(chat_id=JOHN_CHAT)] == [
        "Hello John, there is a free GMP training in Jakarta Timur. Reply DAFTAR to join."]
    [stopped] = [m["Body"] for m in harness.fake.twilio_messages(to=f"whatsapp:{TONO}")]
    assert stopped.startswith(content.t("global.stopped", "id"))  # his own answer, not the broadcast
    assert harness.fake.twilio_messages(to="whatsapp:+6281234567004") == []
    assert _progress(client, broadcast_id) == {"queued": 0, "sent": 2, "delivered": 0, "read": 0, "failed": 1,
                                               "cancelled": 0, "total": 3, "done": 3}
    with harness.db.session() as s:
        [why] = broadcasts.not_delivered(s, broadcast_id)
        assert s.scalar(select(OutboxMessage.owner_id).where(OutboxMessage.owner_id == rina)) is None
    assert why["status"] == "unsendable" and why["owner_ids"] == [tono] and "opted out" in why["reason"]
    # Everything once: the sender again, the scheduler's sweep again: nothing more goes out.
    assert broadcasts.sweep_job(harness.services) == []
    harness.send()
    assert len(harness.fake.twilio_messages(to=f"whatsapp:{SITI}")) == 1
    assert len(harness.fake.telegram_messages(chat_id=JOHN_CHAT)) == 1
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(
            OutboxMessage.owner_id == siti, OutboxMessage.kind == "broadcast")) == 1


def test_quiet_hours_only_owners_who_wrote_tonight_get_it_at_night(harness, clock):
    clock.move_to("2026-11-23 21:30:00+07:00")
    with harness.db.session() as s:
        night = make_owner(s, name="Ani", address="+6281234567011", last_inbound_at=utcnow() - timedelta(minutes=20))
        day = make_owner(s, name="Budi", address="+6281234567012", last_inbound_at=utcnow() - timedelta(hours=5))
        night, day = night.id, day.id
    broadcasts.send_now(harness.db, harness.services.content, segment="all", template="Halo {{ first_name }}")
    harness.send()
    assert [m["Body"] for m in harness.fake.twilio_messages()] == ["Halo Ani"]
    with harness.db.session() as s:  # Budi's message is not even written: it would only wait
        assert s.scalars(select(OutboxMessage.owner_id)).all() == [night]
        assert s.scalars(select(BroadcastQueued.owner_id)).all() == [day]
    clock.move_to("2026-11-24 07:01:00+07:00")
    harness.send()
    assert [m["Body"] for m in harness.fake.twilio_messages()] == ["Halo Ani", "Halo Budi"]


def test_a_reply_goes_before_a_broadcast_and_broadcasts_go_in_the_order_they_were_queued(harness, content, clock):
    with harness.db.session() as s:
        siti = make_owner(s, name="Siti", address=SITI, last_inbound_at=utcnow()).id
    broadcasts.send_now(harness.db, content, segment="all", template="Pertama untuk {{ first_name }}")
    clock.shift(timedelta(minutes=1))
    broadcasts.send_now(harness.db, content, segment="all", template="Kedua untuk {{ first_name }}")
    with harness.db.session() as s:  # a reply written after both were queued
        s.add(OutboxMessage(owner_id=siti, channel="whatsapp", address=SITI, kind="reply", priority=0, text="Jawaban",
                            options=[], template_vars={}, status="pending", attempts=0, created_at=utcnow()))
    harness.send()
    assert [m["Body"] for m in harness.fake.twilio_messages()] == ["Jawaban", "Pertama untuk Siti", "Kedua untuk Siti"]


def test_the_sender_writes_about_what_it_sends_not_ahead(db, content):
    bulk_owners(db, 40)
    broadcasts.send_now(db, content, segment="all", template="Halo {{ first_name }}")

    def claim(size: int) -> int:  # what the sender writes at the start of a claim of `size` rows
        with db.session() as session:
            return broadcasts.feed_outbox(session, content, channel="whatsapp", ahead_of_sending=size)

    assert claim(10) == 10
    assert claim(10) == 0  # the ten written are not sent yet: nothing more
    assert claim(16) == 6
    with db.session() as session:  # four of them leave the outbox
        for row in session.scalars(select(OutboxMessage).order_by(OutboxMessage.id).limit(4)):
            row.status = "sent"
    assert claim(16) == 4
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(BroadcastQueued)) == 20


def test_a_cancel_waits_for_a_sender_writing_the_broadcast_and_withdraws_what_it_wrote(db, content):
    bulk_owners(db, 20)
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template="Halo {{ first_name }}")
    withdrawn = []
    canceller = threading.Thread(target=lambda: withdrawn.append(broadcasts.cancel(db, broadcast.id)))
    with db.session() as session:  # a sender's claim, in its transaction
        assert broadcasts.feed_outbox(session, content, channel="whatsapp", limit=8) == 8
        canceller.start()
        time.sleep(0.5)
        assert canceller.is_alive()  # the cancel waits for the claim to commit
    canceller.join(30)
    assert withdrawn == [20]  # the eight messages written meanwhile, and the twelve not written
    with db.session() as session:
        statuses = session.scalars(select(OutboxMessage.status)).all()
        counts = broadcasts.progress(session, broadcast.id)
    assert statuses == ["cancelled"] * 8
    assert counts["cancelled"] == 20 and counts["queued"] == 0


def test_two_senders_write_different_recipients_at_the_same_time(pg_db, content):
    """PostgreSQL: a sender's claim locks the recipients it writes (SKIP LOCKED); another sender
    writes the next ones meanwhile, never the same."""
    bulk_owners(pg_db, 30)
    broadcast, _ = broadcasts.send_now(pg_db, content, segment="all", template="Halo {{ first_name }}")
    with pg_db.session() as first:
        assert broadcasts.feed_outbox(first, content, channel="whatsapp", limit=10) == 10
        with pg_db.session() as second:  # while the first has not committed
            assert broadcasts.feed_outbox(second, content, channel="whatsapp", limit=10) == 10
    with pg_db.session() as session:
        owners = session.scalars(select(OutboxMessage.owner_id)).all()
        left = session.scalar(select(func.count()).select_from(BroadcastQueued))
        assert session.get(Broadcast, broadcast.id).status == "queued"
    assert len(owners) == 20 == len(set(owners)) and left == 10


def test_the_console_shows_an_owner_their_queued_broadcast_once(db, content, tmp_path, clock):
    """No provider configured (the console, `umkm-bot chat`): the owner's queued broadcast is written
    for them when they look, once; the other recipients stay queued for the sender."""
    from bot.console import deliver_waiting
    from tests.dashboard.scripted import make_services

    services = make_services(db, content, tmp_path)
    with db.session() as s:
        make_owner(s, name="Siti Aminah", address=SITI)
        budi = make_owner(s, name="Budi").id
    broadcasts.send_now(db, content, segment="all", template="Halo {{ first_name }}")
    assert [reply.text for reply in deliver_waiting(services, "whatsapp", SITI)] == ["Halo Siti"]
    assert deliver_waiting(services, "whatsapp", SITI) == []
    with db.session() as s:
        assert s.scalars(select(BroadcastQueued.owner_id)).all() == [budi]
