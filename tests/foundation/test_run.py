"""`umkm-bot run` (what `make run` calls) starts the service on embedded defaults, with no tokens."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

BIN = Path(sys.executable).parent / "umkm-bot"
TOKENS = ("TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TELEGRAM_BOT_TOKEN", "DATABASE_URL")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _due_reminder(tmp_path) -> None:
    """A registered owner whose self-check reminder fell due yesterday (while nothing ran)."""
    from datetime import timedelta

    from bot.clock import utcnow
    from bot.reminders import schedule
    from storage.db import Database
    from storage.models import Owner

    db = Database(f"sqlite:///{tmp_path / 'umkm.sqlite3'}")
    db.migrate()
    with db.session() as session:
        owner = Owner(channel="telegram", address="777", lang="id", products=["keripik"], name="Siti",
                      business_name="Warung Siti", sector="food", consent_at=utcnow(), registered_at=utcnow(),
                      has_permits=[])
        session.add(owner)
        session.flush()
        schedule(session, owner.id, "self_check", utcnow() - timedelta(days=1), "run-test-self-check",
                 payload={"checklist": "cppb_irt"})
    db.dispose()


def _reminders_in_outbox(tmp_path) -> int:
    from sqlalchemy import func, select

    from storage.db import Database
    from storage.models import OutboxMessage
    from storage.models.reminders import Reminder

    db = Database(f"sqlite:///{tmp_path / 'umkm.sqlite3'}")
    try:
        with db.session() as session:
            # Handed to the sender: marked by the sweep (no channel is on here, so no sender writes
            # the message yet; `umkm-bot chat` would), or already written into the outbox.
            marked = session.scalar(select(func.count()).select_from(Reminder).where(Reminder.send_occurrence == 0))
            return marked + session.scalar(
                select(func.count()).select_from(OutboxMessage).where(OutboxMessage.kind == "reminder"))
    finally:
        db.dispose()


def test_run_serves_health_on_sqlite_without_tokens(tmp_path):
    _due_reminder(tmp_path)
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in TOKENS}
    # No quiet hours: this test may run at any time of day (quiet hours have their own tests).
    env.update(UMKM_DATA_DIR=str(tmp_path), UMKM_PORT=str(port), QUIET_START_HOUR="0", QUIET_END_HOUR="0")
    process = subprocess.Popen([str(BIN), "run"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stdout.read()
                assert time.monotonic() < deadline, "service did not start in 30 s"
                time.sleep(0.3)
        assert response.status_code == 200
        body = response.json()
        assert body["database"] == "ok"
        assert body["channels"] == {"whatsapp": False, "telegram": False}
        # The scheduler runs in the same process: the missed reminder reaches the outbox once.
        deadline = time.monotonic() + 20
        while _reminders_in_outbox(tmp_path) == 0:
            assert time.monotonic() < deadline, "the reminder sweep did not run"
            time.sleep(0.3)
        assert _reminders_in_outbox(tmp_path) == 1
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "umkm-bot chat" in output
