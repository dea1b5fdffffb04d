"""Several sender processes on one PostgreSQL outbox, and a sender killed mid-send.

Real processes (`umkm-bot sender`), a real database (fresh_pg_url), the real twilio client
talking to the local fake provider."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

from sqlalchemy import func, select
from starlette.testclient import TestClient

from bot.app import create_app
from bot.channels import runtime
from bot.clock import utcnow
from bot.services import build_services
from storage.db import Database
from storage.models import OutboxMessage, Owner
from storage.models.channels import OutboxEvent
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN, OUR_NUMBER, PUBLIC, REPO, TG_SECRET, Harness, make_settings

BIN = Path(sys.executable).parent / "umkm-bot"


def _env(url: str, fake_url: str, data_dir: Path, **extra) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "WHATSAPP_", "SENDER_"))}
    env.update(
        DATABASE_URL=url, UMKM_DATA_DIR=str(data_dir), CONTENT_DIR=str(REPO / "content"),
        PUBLIC_BASE_URL=PUBLIC, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WHATSAPP_FROM=OUR_NUMBER, TWILIO_API_BASE=fake_url,
        TELEGRAM_BOT_TOKEN=BOT_TOKEN, TELEGRAM_WEBHOOK_SECRET=TG_SECRET, TELEGRAM_API_BASE=fake_url,
        SENDER_POLL_SECONDS="0.05",
    )
    env.update({k: str(v) for k, v in extra.items()})
    return env


def _fill(db: Database, owners: int, per_owner: int, channel: str = "whatsapp") -> None:
    now = utcnow()
    with db.session() as s:
        for n in range(owners):
            address = f"+6281{n:09d}" if channel == "whatsapp" else str(80000 + n)
            owner = Owner(channel=channel, address=address, lang="id", products=[], last_inbound_at=now)
            s.add(owner)
            s.flush()
            for m in range(per_owner):
                s.add(OutboxMessage(owner_id=owner.id, channel=channel, address=address, kind="reply", priority=0,
                                    text=f"{address} pesan {m}", options=[], template_vars={}, status="pending",
                                    created_at=now))


def test_several_senders_send_each_message_once_and_in_order(fresh_pg_url, fake, tmp_path):
    db = Database(fresh_pg_url)
    _fill(db, owners=60, per_owner=4)
    env = _env(fresh_pg_url, fake.url, tmp_path, WHATSAPP_RATE=60)
    processes = [subprocess.Popen([str(BIN), "sender", "--drain"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT, text=True) for _ in range(3)]
    outputs = [p.communicate(timeout=120)[0] for p in processes]
    assert all(p.returncode == 0 for p in processes), outputs
    # a sender that found nothing claimable for a moment exits early: drain what may be left
    settings = make_settings(fresh_pg_url, fake.url, tmp_path)
    runtime(build_services(settings, db=db)).sender.drain_sync()

    sent = fake.twilio_messages()
    bodies = [m["Body"] for m in sent]
    assert len(bodies) == 240 and len(set(bodies)) == 240  # every message once, none twice
    by_owner = defaultdict(list)
    for call in fake.calls("twilio", "Messages"):
        by_owner[call.data["To"]].append(int(call.data["Body"].rsplit(" ", 1)[1]))
    assert all(order == [0, 1, 2, 3] for order in by_owner.values())  # each owner's order kept
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sent")) == 240
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.provider_id)))) == 240
    counts = [int(out.split("sent=")[1].split()[0]) for out in outputs]
    assert sum(1 for c in counts if c > 0) >= 2, counts  # the work really was shared
    db.dispose()


def test_killed_sender_does_not_resend_a_message_twilio_accepted(fresh_pg_url, fake, tmp_path):
    """Kill -9 a sender while two sends are in flight. Twilio accepted both; for one, its status
    callback arrives: that one is never sent again. The other is in doubt: after the lease the
    sender finds it in Twilio's message list and records it instead of sending it twice."""
    db = Database(fresh_pg_url)
    _fill(db, owners=2, per_owner=1)
    accepted_with_callback, in_doubt = "whatsapp:+6281000000000", "whatsapp:+6281000000001"
    fake.hang.update({accepted_with_callback: 30, in_doubt: 30})
    env = _env(fresh_pg_url, fake.url, tmp_path, SENDER_LEASE_SECONDS=2, CHANNEL_HTTP_TIMEOUT=60)
    sender = subprocess.Popen([str(BIN), "sender"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 30
        while len(fake.twilio_messages()) < 2:
            assert time.monotonic() < deadline, "the sender never called Twilio"
            time.sleep(0.05)
    finally:
        sender.send_signal(signal.SIGKILL)
        sender.wait(timeout=10)
    fake.hang.clear()
    with db.session() as s:
        rows = {r.address: r for r in s.scalars(select(OutboxMessage))}
        assert {r.status for r in rows.values()} == {"sending"} and not any(r.provider_id for r in rows.values())

    # Twilio's status callback for the first message reaches the web app
    settings = make_settings(fresh_pg_url, fake.url, tmp_path)
    services = build_services(settings, db=db)
    with TestClient(create_app(services)) as client:
        harness = Harness(services, client, fake)
        first = rows["+6281000000000"]
        sid = fake.twilio_messages(to=accepted_with_callback)[0]["_sid"]
        assert harness.status_callback(first.id, sid, "sent").status_code == 200

    time.sleep(2.2)  # the dead sender's lease runs out
    runtime(services).sender.drain_sync()
    assert len(fake.twilio_messages(to=accepted_with_callback)) == 1
    [second] = fake.twilio_messages(to=in_doubt)  # not sent twice
    with db.session() as s:
        rows = {r.address: r for r in s.scalars(select(OutboxMessage))}
        assert rows["+6281000000000"].status == "sent" and rows["+6281000000000"].provider_id == sid
        assert rows["+6281000000001"].status == "sent" and rows["+6281000000001"].provider_id == second["_sid"]
        found = s.scalars(select(OutboxEvent).where(OutboxEvent.event == "in_doubt_found")).all()
        assert [e.outbox_id for e in found] == [rows["+6281000000001"].id]
    db.dispose()


def test_claims_skip_rows_locked_by_another_sender(pg_db, fake, tmp_path):
    """Two senders claiming at the same moment get disjoint rows (FOR UPDATE SKIP LOCKED)."""
    _fill(pg_db, owners=20, per_owner=1)
    settings = make_settings(pg_db.url, fake.url, tmp_path)
    services = build_services(settings, db=pg_db)
    rt = runtime(services)
    import threading

    barrier = threading.Barrier(4)
    claimed: list[list[int]] = []

    def claim():
        barrier.wait()
        claimed.append([item.id for group in rt.sender.claim(rt.whatsapp, 8) for item in group])

    threads = [threading.Thread(target=claim) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = [i for batch in claimed for i in batch]
    assert len(ids) == len(set(ids)) == 20
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "sending")) == 20
