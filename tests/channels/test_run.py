"""The service as it runs: uvicorn on a local port, webhooks over real HTTP, the sender and
Telegram long polling in the same process."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import uvicorn
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot import pipeline
from bot.app import create_app
from bot.channels import runtime
from bot.worker import InboxWorker
from bot.services import build_services
from storage.models import OutboxMessage
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, BOT_TOKEN, OUR_NUMBER, PUBLIC, REPO, TG_SECRET, make_settings

BIN = Path(sys.executable).parent / "umkm-bot"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def _signed_post(url: str, form: dict, path: str = "/webhooks/twilio") -> httpx.Response:
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}{path}", form)
    return httpx.post(url + path, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)


def _form(text: str, sid: str, sender: str = "whatsapp:+6281234567001") -> dict:
    return {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID, "From": sender,
            "To": OUR_NUMBER, "Body": text, "NumMedia": "0", "ProfileName": "Bu Sari"}


def test_run_serves_webhooks_sends_replies_and_polls_telegram(fake, tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "DATABASE_URL"))}
    env.update(
        UMKM_DATA_DIR=str(tmp_path), UMKM_PORT=str(port), CONTENT_DIR=str(REPO / "content"),
        PUBLIC_BASE_URL=PUBLIC, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
        TWILIO_WHATSAPP_FROM=OUR_NUMBER, TWILIO_API_BASE=fake.url, TELEGRAM_BOT_TOKEN=BOT_TOKEN,
        TELEGRAM_WEBHOOK_SECRET=TG_SECRET, TELEGRAM_API_BASE=fake.url, SENDER_POLL_SECONDS="0.05",
    )
    fake.updates.append({"update_id": 777001, "message": {
        "message_id": 1, "date": 1795400000, "text": "halo",
        "from": {"id": 70009, "is_bot": False, "first_name": "Sari", "language_code": "id"},
        "chat": {"id": 70009, "type": "private", "first_name": "Sari"}}})
    process = subprocess.Popen([str(BIN), "run", "--telegram-polling"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        def healthy():
            try:
                return httpx.get(f"{base}/health", timeout=2).json()
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                return None

        # A cold start fits the classifier (no cache in tmp_path), in the web process and each inbox
        # worker at once; next to the suite's other worker on two cores that took over 40 s once.
        health = _wait_for(healthy, 90, "the service to start")
        assert health["channels"] == {"whatsapp": True, "telegram": True}
        response = _signed_post(base, _form("halo", "SM" + "1" * 32))
        assert response.status_code == 200
        assert _signed_post(base, _form("halo", "SM" + "1" * 32)).status_code == 200  # redelivered
        unsigned = httpx.post(f"{base}/webhooks/twilio", data=_form("halo", "SM" + "2" * 32), timeout=10)
        assert unsigned.status_code == 403
        # the sender running inside `run` answers through the real twilio client
        _wait_for(lambda: len(fake.twilio_messages()) >= 2, 30, "the WhatsApp replies")
        # and long polling picked up the Telegram update and answered it
        _wait_for(lambda: len(fake.telegram_messages("70009")) >= 2, 30, "the Telegram replies")
        assert fake.calls("telegram", "deleteWebhook")
        time.sleep(0.3)
        assert len(fake.twilio_messages()) == 2  # the redelivery was not answered again
    finally:
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=30)
    assert process.returncode == 0, output  # a graceful stop
    assert f"Base URL: {PUBLIC}" in output
    assert f"{PUBLIC}/webhooks/twilio" in output and "long polling" in output
    assert "umkm-bot chat" in output
    assert "6281234567001" not in output  # logs never carry the owner's number


def test_webhook_answers_before_the_turn_is_done(db, fake, tmp_path):
    """A slow turn (here: a pipeline hook held until the test releases it) does not hold Twilio: the webhook answers at once
    and the turn runs in the inbox worker (here in a thread of its own, as `umkm-bot worker` would)."""
    gate = threading.Event()

    def slow_hook(session, inbound, content):
        # Held until the test has its answer: a webhook that waited for the turn would only
        # answer after this gives up, with the turn's replies already in the outbox.
        gate.wait(60)
        return None

    settings = make_settings(db.url, fake.url, tmp_path)
    services = build_services(settings, db=db)
    app = create_app(services)
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    worker_loop = asyncio.new_event_loop()
    stop_worker = asyncio.Event()
    worker = threading.Thread(target=worker_loop.run_until_complete,
                              args=(InboxWorker(runtime(services).inbox, poll=0.05).run(stop_worker),), daemon=True)
    worker.start()
    pipeline.INBOUND_HOOKS.append(slow_hook)
    try:
        _wait_for(lambda: server.started, 10, "uvicorn")
        # The turn cannot finish while the gate is shut, and the client gives up after 10 s: an
        # answer here means the webhook did not wait for the turn. (Nothing reads the database
        # now: on SQLite the held turn owns the write lock.)
        response = _signed_post(f"http://127.0.0.1:{port}", _form("halo", "SM" + "3" * 32))
        assert response.status_code == 200
        assert not gate.is_set()

        def outbox_rows():
            with db.session() as s:
                return s.scalar(select(func.count()).select_from(OutboxMessage))

        gate.set()
        _wait_for(outbox_rows, 10, "the turn to finish")
    finally:
        gate.set()
        pipeline.INBOUND_HOOKS.remove(slow_hook)
        server.should_exit = True
        thread.join(10)
        worker_loop.call_soon_threadsafe(stop_worker.set)
        worker.join(10)
