"""Helpers for the operations tests: processes started as a deployment starts them."""
from __future__ import annotations

import os
import socket
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import create_pg_database, drop_pg_database

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent / "umkm-bot"
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def clean_env(**changes: str) -> dict:
    """The test's environment without any channel or database setting, plus `changes`. The run's
    classifier cache (UMKM_CACHE_DIR, tests/conftest.py) stays: it holds no setting of the service."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("TWILIO_", "TELEGRAM_", "DATABASE_URL", "METRICS_", "WHATSAPP_", "UMKM_"))
           or k == "UMKM_CACHE_DIR"}
    env.update(CONTENT_DIR=str(REPO / "content"))
    env.update(changes)
    return env


@pytest.fixture
def empty_pg_url():
    """A brand-new PostgreSQL database that nothing has migrated yet."""
    if not PG_ADMIN_URL:
        pytest.skip("TEST_POSTGRES_URL is not set (make test sets it)")
    url = create_pg_database(prefix="umkm_ops")
    yield url
    drop_pg_database(url)


# The channel tests' fixtures: the app with both channels on, talking to the fake providers.
from tests.channels.conftest import fake, harness, make_harness  # noqa: E402,F401
