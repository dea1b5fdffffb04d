from __future__ import annotations

import pytest
from starlette.testclient import TestClient

from bot.app import create_app
from tests.dashboard.scripted import make_services


@pytest.fixture
def services(db, content, tmp_path):
    return make_services(db, content, tmp_path)


@pytest.fixture
def client(services):
    with TestClient(create_app(services), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    """argon2 with small parameters: the same algorithm and code paths, a few ms per hash instead of
    a few hundred (the lockout tests verify many passwords)."""
    from argon2 import PasswordHasher

    from bot.dashboard import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
