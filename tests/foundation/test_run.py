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


def test_run_serves_health_on_sqlite_without_tokens(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k not in TOKENS}
    env.update(UMKM_DATA_DIR=str(tmp_path), UMKM_PORT=str(port))
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
        assert (tmp_path / "umkm.sqlite3").exists()
    finally:
        process.terminate()
        output, _ = process.communicate(timeout=15)
    assert "umkm-bot chat" in output
