"""Inbox workers on PostgreSQL: batches across owners, and a worker killed (SIGKILL) mid-batch.

Real `umkm-bot worker` processes on a fresh database; messages enter through signed Twilio
webhooks of the real app (the web side only stores them)."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

import pytest
from sqlalchemy import func, select, text
from starlette.testclient import TestClient

from bot.app import create_app
from bot.channels import runtime
from bot.services import build_services
from storage.db import Database
from storage.models import InboundMessage, MessageLog, OutboxMessage, Owner
from storage.models.channels import ChannelInbox
from tests.channels.conftest import Harness, make_settings
from tests.channels.test_sender_postgres import _env

BIN = Path(sys.executable).parent / "umkm-bot"
TEXTS = ["halo", "ya", "Bu Sari"]
pytestmark = pytest.mark.postgres_only


def _post_all(harness: Harness, owners: int) -> None:
    """Every owner's three messages, interleaved across owners, stored by the real webhook."""
    for text_ in TEXTS:
        for n in range(owners):
            form = harness.twilio_form(text_, sender=f"whatsapp:+62812{n:08d}")
            response = harness.client.post("/webhooks/twilio", data=form,
                                           headers=_signature(form))
            assert response.status_code == 200


def _signature(form: dict) -> dict:
    from twilio.request_validator import RequestValidator

    from tests.channels.conftest import AUTH_TOKEN, PUBLIC

    return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}/webhooks/twilio", form)}


def _count(db: Database, query) -> int:
    with db.session() as s:
        return s.scalar(query)


def _assert_each_handled_once_in_order(db: Database, owners: int) -> None:
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChannelInbox).where(ChannelInbox.status != "done")) == 0
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == owners * len(TEXTS)
        said: dict[int, list[str]] = defaultdict(list)
        for owner_id, words in s.execute(select(MessageLog.owner_id, MessageLog.text)
                                         .where(MessageLog.direction == "in").order_by(MessageLog.id)):
            said[owner_id].append(words)
        assert len(said) == owners
        assert all(words == TEXTS for words in said.values()), "a message was handled twice, lost or out of order"
        # every turn's replies were queued with it: each owner got the consent question, then the name question
        assert s.scalar(select(func.count(func.distinct(OutboxMessage.owner_id)))) == owners
        assert s.scalar(select(func.count()).select_from(Owner).where(Owner.consent_at.is_not(None))) == owners


def test_worker_killed_mid_batch_loses_nothing_and_repeats_nothing(fresh_pg_url, fake, tmp_path):
    owners = 60
    db = Database(fresh_pg_url)
    db.migrate()
    settings = make_settings(fresh_pg_url, fake.url, tmp_path)
    services = build_services(settings, db=db)
    with TestClient(create_app(services)) as client:
        _post_all(Harness(services, client, fake), owners)
    total = owners * len(TEXTS)
    assert _count(db, select(func.count()).select_from(ChannelInbox).where(ChannelInbox.status == "pending")) == total

    env = _env(fresh_pg_url, fake.url, tmp_path)
    victim = subprocess.Popen([str(BIN), "worker", "--batch", "20"], env=env, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    try:
        # Wait until the worker has committed a batch and holds the next one open (its claimed
        # rows locked, its turns under way), then kill it without warning.
        deadline = time.monotonic() + 60
        while True:
            assert victim.poll() is None, victim.stderr.read()
            done = _count(db, select(func.count()).select_from(ChannelInbox).where(ChannelInbox.status == "done"))
            with db.engine.connect() as conn:
                open_batch = conn.scalar(text(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'channel_inbox' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()"))
            if done >= 20 and open_batch:
                victim.send_signal(signal.SIGKILL)
                break
            assert time.monotonic() < deadline, "the worker never held a batch open"
            time.sleep(0.005)
        victim.wait(10)
    finally:
        if victim.poll() is None:
            victim.kill()
    done_at_kill = _count(db, select(func.count()).select_from(ChannelInbox).where(ChannelInbox.status == "done"))
    assert done_at_kill < total, "the kill came too late to interrupt anything"
    # The killed batch's transaction was rolled back: its rows are claimable again at once (no lease to wait for).
    survivor = subprocess.run([str(BIN), "worker", "--drain"], env=env, capture_output=True, text=True, timeout=120)
    assert survivor.returncode == 0, survivor.stderr
    _assert_each_handled_once_in_order(db, owners)
    db.dispose()


def test_two_workers_share_the_queue_each_message_once_in_order(fresh_pg_url, fake, tmp_path):
    owners = 30
    db = Database(fresh_pg_url)
    db.migrate()
    settings = make_settings(fresh_pg_url, fake.url, tmp_path)
    services = build_services(settings, db=db)
    with TestClient(create_app(services)) as client:
        _post_all(Harness(services, client, fake), owners)
    env = _env(fresh_pg_url, fake.url, tmp_path)
    workers = [subprocess.Popen([str(BIN), "worker", "--batch", "8", "--concurrency", "2"], env=env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True) for _ in range(2)]
    try:
        deadline = time.monotonic() + 90
        while _count(db, select(func.count()).select_from(ChannelInbox).where(ChannelInbox.status != "done")):
            for w in workers:
                assert w.poll() is None, w.stderr.read()
            assert time.monotonic() < deadline, "the workers did not finish"
            time.sleep(0.1)
    finally:
        for w in workers:
            w.send_signal(signal.SIGTERM)
        for w in workers:
            assert w.wait(30) == 0, w.stderr.read()
    _assert_each_handled_once_in_order(db, owners)
    db.dispose()
