"""Outgoing webhooks against a real local HTTP receiver: signed with HMAC, retried after a 500 on
the backoff table, queued once however often events are collected, and delivered once after a
restart and with two senders at the same time on PostgreSQL."""
from __future__ import annotations

import json
import threading
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import func, select

from bot.api import webhooks
from storage.db import Database
from storage.models.api import WebhookDelivery
from tests.dashboard.scripted import ask_for_mentor, register_owner

SITI = "+628120000051"


class Receiver:
    """A local webhook receiver: records every POST; answers from `statuses` (then 200)."""

    def __init__(self, statuses=()):
        self.posts: list[dict] = []
        self.statuses = list(statuses)
        self.lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with receiver.lock:
                    receiver.posts.append({"headers": dict(self.headers), "body": body})
                    status = receiver.statuses.pop(0) if receiver.statuses else 200
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def _subscribe(db, content, url, events=("owner_registered", "case_opened")):
    with db.session() as session:
        return webhooks.subscribe(session, content, "dinas-dki", url, list(events))[1]


def test_a_registration_is_posted_signed_and_without_the_phone_number(db, content, clock, receiver):
    secret = _subscribe(db, content, receiver.url)
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    assert webhooks.collect(db) == 1
    assert webhooks.deliver_due(db) == (1, 0)
    [post] = receiver.posts
    headers = post["headers"]
    assert headers["X-UMKM-Event"] == "owner_registered"
    assert webhooks.verify(secret, headers["X-UMKM-Timestamp"], post["body"], headers["X-UMKM-Signature"])
    assert not webhooks.verify("another-secret", headers["X-UMKM-Timestamp"], post["body"], headers["X-UMKM-Signature"])
    payload = json.loads(post["body"])
    assert payload["owner"]["name"] == "Siti Aminah" and payload["id"] == int(headers["X-UMKM-Delivery"])
    assert "8120000051" not in post["body"].decode()
    with db.session() as session:
        assert session.scalar(select(WebhookDelivery.status)) == "sent"


def test_a_500_is_retried_on_the_backoff_table_with_the_same_delivery_id(db, content, clock, receiver):
    receiver.statuses = [500, 503]
    _subscribe(db, content, receiver.url)
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    webhooks.collect(db)
    assert webhooks.deliver_due(db) == (0, 1)
    assert webhooks.deliver_due(db) == (0, 0)  # not due again yet
    clock.shift(timedelta(seconds=31))
    assert webhooks.deliver_due(db) == (0, 1)  # second failure: 2 minutes now
    clock.shift(timedelta(seconds=60))
    assert webhooks.deliver_due(db) == (0, 0)
    clock.shift(timedelta(seconds=61))
    assert webhooks.deliver_due(db) == (1, 0)
    assert len({p["headers"]["X-UMKM-Delivery"] for p in receiver.posts}) == 1 and len(receiver.posts) == 3
    with db.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 3, None)


def test_a_receiver_that_never_answers_2xx_is_given_up_after_the_table(db, content, clock, receiver):
    receiver.statuses = [500] * 20
    _subscribe(db, content, receiver.url)
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    webhooks.collect(db)
    for wait in (timedelta(0), *webhooks.BACKOFF):
        clock.shift(wait + timedelta(seconds=1))
        webhooks.deliver_due(db)
    with db.session() as session:
        delivery = session.scalars(select(WebhookDelivery)).one()
        assert (delivery.status, delivery.attempts, delivery.last_error) == ("failed", 7, "HTTP 500")


def test_collecting_again_or_after_a_restart_never_queues_or_sends_twice(db, content, clock, receiver):
    _subscribe(db, content, receiver.url)
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    ask_for_mentor(db, content, SITI)
    assert webhooks.collect(db) == 2 and webhooks.collect(db) == 0
    assert webhooks.deliver_due(db) == (2, 0)
    restarted = Database(db.url)  # a new process: new engine and pool, same database
    try:
        assert webhooks.collect(restarted) == 0
        assert webhooks.deliver_due(restarted) == (0, 0)
    finally:
        restarted.dispose()
    assert sorted(p["headers"]["X-UMKM-Event"] for p in receiver.posts) == ["case_opened", "owner_registered"]


def test_a_claim_left_by_a_crashed_sender_comes_back_after_its_lease(db, content, clock, receiver):
    _subscribe(db, content, receiver.url)
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    webhooks.collect(db)
    from bot.clock import utcnow

    assert len(webhooks._claim(db, utcnow(), 10)) == 1  # claimed, then the process died before sending
    assert webhooks.deliver_due(db) == (0, 0)
    clock.shift(webhooks.LEASE + timedelta(seconds=1))
    assert webhooks.deliver_due(db) == (1, 0)
    assert len(receiver.posts) == 1


def test_two_senders_at_once_deliver_each_event_once(pg_db, content, clock, receiver):
    db = pg_db  # row locks and SKIP LOCKED: PostgreSQL only
    _subscribe(db, content, receiver.url)
    for i in range(12):
        register_owner(db, content, f"+6281200001{i:02d}", f"Pemilik {i}", f"Usaha {i}")
    assert webhooks.collect(db) == 12
    other = Database(db.url)
    results = []
    try:
        threads = [threading.Thread(target=lambda d=d: results.append(webhooks.deliver_due(d, limit=5)))
                   for d in (db, other, db, other)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        while sum(webhooks.deliver_due(db)):
            pass
    finally:
        other.dispose()
    ids = [p["headers"]["X-UMKM-Delivery"] for p in receiver.posts]
    assert len(ids) == 12 and len(set(ids)) == 12
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(WebhookDelivery)
                              .where(WebhookDelivery.status == "sent")) == 12


def test_subscriptions_are_checked(db, content):
    with db.session() as session:
        for args in (("x", "https://a.example/h", ["owner_registered"]),
                     ("dinas", "ftp://a.example/h", ["owner_registered"]),
                     ("dinas", "https://a.example/h", ["permit_expired"]),
                     ("dinas", "https://a.example/h", [])):
            with pytest.raises(webhooks.WebhookError):
                webhooks.subscribe(session, content, *args)
        with pytest.raises(webhooks.WebhookError):
            webhooks.subscribe(session, content, "dinas", "https://a.example/h", ["case_opened"], area="gotham")
