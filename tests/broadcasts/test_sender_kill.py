"""A broadcast drained by real sender processes (`umkm-bot sender`) on PostgreSQL, two of them
killed with SIGKILL mid-broadcast (one while sends hang in flight) and others started in their
place: every owner receives the broadcast exactly once. The broadcast is queued as recipients only:
the senders write each message as they claim work, so the kills also land between writing and sending.

The WhatsApp API is the local fake provider (tests/channels/fake_providers.py), reached by the real
twilio client; it counts what it accepted. Like Twilio, it reports each accepted message back: a
thread here plays Twilio's status callback by calling `record_delivery_status`, which is what the
/webhooks/twilio/status route does. That is how a sender that restarts after a kill knows a message
in doubt was in fact accepted, and does not send it twice (bot/sender.py, "The guarantee").
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import func, select

from bot import broadcasts
from bot.channels.whatsapp import StatusUpdate
from bot.clock import utcnow
from bot.content import get_content
from bot.sender import record_delivery_status
from storage.db import Database
from storage.models import OutboxMessage
from storage.models.events import BroadcastQueued
from tests.broadcasts.factories import bulk_owners
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC, REPO
from tests.channels.fake_providers import FakeProviders

BIN = Path(sys.executable).parent / "umkm-bot"
OWNERS = 300


def _env(url: str, fake_url: str, data_dir: Path) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "WHATSAPP_", "SENDER_"))}
    env.update(
        DATABASE_URL=url, UMKM_DATA_DIR=str(data_dir), CONTENT_DIR=str(REPO / "content"), PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_WHATSAPP_FROM=OUR_NUMBER,
        TWILIO_API_BASE=fake_url, WHATSAPP_RATE="150", SENDER_POLL_SECONDS="0.05", SENDER_LEASE_SECONDS="3",
        CHANNEL_HTTP_TIMEOUT="60",
        QUIET_START_HOUR="0", QUIET_END_HOUR="0",  # no quiet hours: the test may run at any time of day
    )
    return env


class TwilioCallbacks(threading.Thread):
    """Reports every message the fake accepted as sent, as Twilio's status callback would."""

    def __init__(self, fake: FakeProviders, db: Database):
        super().__init__(daemon=True)
        self.fake, self.db, self.stop, self.seen = fake, db, threading.Event(), 0

    def run(self) -> None:
        while not self.stop.is_set():
            calls = self.fake.calls("twilio", "Messages")
            for call in calls[self.seen:]:
                if "StatusCallback" not in call.data:
                    continue  # a request cut off by the kill: Twilio would refuse it, and send nothing
                outbox = parse_qs(urlsplit(call.data["StatusCallback"]).query)["outbox"][0]
                record_delivery_status(self.db, StatusUpdate(int(outbox), call.data["_sid"], "sent", "sent", None))
            self.seen = len(calls)
            time.sleep(0.02)


def _sender(env: dict) -> subprocess.Popen:
    return subprocess.Popen([str(BIN), "sender"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _wait_for(fake: FakeProviders, accepted: int, timeout: float = 60) -> None:
    """Until the fake has seen `accepted` send requests."""
    deadline = time.monotonic() + timeout
    while len(fake.twilio_messages()) < accepted:
        assert time.monotonic() < deadline, f"only {len(fake.twilio_messages())} of {accepted} messages reached Twilio"
        time.sleep(0.02)


def _kill(process: subprocess.Popen) -> None:
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)


def _unsent(session) -> str:
    left = session.scalar(select(func.count()).select_from(OutboxMessage)
                          .where(OutboxMessage.status.in_(("pending", "sending"))))
    unwritten = session.scalar(select(func.count()).select_from(BroadcastQueued))
    return f"{left} messages never left the outbox, {unwritten} never written" if left or unwritten else ""


def run_senders_killed_mid_way(db: Database, env: dict, fake: FakeProviders, hung: list[str], first_dies_at: int,
                               second_dies_at: int, left) -> None:
    """The outage: a first sender dies with `hung` sends in flight after `first_dies_at` accepted
    messages; two more share the rest and one of them dies after `second_dies_at`; the last drains
    what is left. `left(session)` says what still waits to go out, or "" when nothing does."""
    callbacks = TwilioCallbacks(fake, db)
    callbacks.start()
    fake.hang.update({address: 20 for address in hung})
    try:
        first = _sender(env)
        _wait_for(fake, first_dies_at)
        _kill(first)
        fake.hang.clear()
        second, third = _sender(env), _sender(env)  # two at once: they share the rest (SKIP LOCKED)
        _wait_for(fake, second_dies_at)
        _kill(second)
        deadline = time.monotonic() + 90
        while True:
            with db.session() as session:
                waiting = left(session)
            if not waiting:
                break
            assert time.monotonic() < deadline, waiting
            time.sleep(0.2)
        _kill(third)
    finally:
        callbacks.stop.set()
        callbacks.join(timeout=5)
        fake.stop()


@pytest.mark.timeout(180)
def test_sender_killed_and_restarted_mid_broadcast_sends_each_owner_exactly_once(fresh_pg_url, tmp_path):
    db = Database(fresh_pg_url)
    bulk_owners(db, OWNERS, last_inbound_at=utcnow())  # inside the 24-hour window: free text
    content = get_content(REPO / "content")
    broadcast, checked = broadcasts.send_now(db, content, segment="all", template="Halo {{ first_name }}, pelatihan GMP!")
    assert checked.recipients == OWNERS
    with db.session() as session:  # queued as recipients: the senders write the messages
        assert session.scalar(select(func.count()).select_from(BroadcastQueued)) == OWNERS
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 0

    fake = FakeProviders().start()
    env = _env(fresh_pg_url, fake.url, tmp_path)
    # Two owners' sends hang at the provider: the first sender dies with them in flight.
    hung = [f"whatsapp:+6281{n:09d}" for n in (90, 91)]
    run_senders_killed_mid_way(db, env, fake, hung, 100, 180, _unsent)

    # Requests cut off by a kill carry no recipient: Twilio refuses them, nothing is delivered.
    received = Counter(message["To"] for message in fake.twilio_messages() if "To" in message)
    assert len(received) == OWNERS  # everybody got it ...
    assert set(received.values()) == {1}, {to: n for to, n in received.items() if n > 1}  # ... exactly once
    assert all(received[address] == 1 for address in hung)  # including the two in flight at the kill
    with db.session() as session:
        counts = broadcasts.progress(session, broadcast.id)
        providers = session.scalar(select(func.count(func.distinct(OutboxMessage.provider_id))))
    assert counts["sent"] == OWNERS and counts["queued"] == counts["failed"] == 0
    assert providers == OWNERS
    db.dispose()
