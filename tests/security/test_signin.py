"""Sign-in cannot be turned against the service: rate limits, a hashing pool of its own, a
lockout per address and name that says nothing about which names exist, strong passwords,
an idle timeout. The flood itself, against the real `umkm-bot run`, is at the end."""
from __future__ import annotations

import importlib.util
import threading
from pathlib import Path

import pytest
from argon2 import PasswordHasher
from sqlalchemy import select

from bot.dashboard import auth, security
from storage.models.staff import StaffUser
from tests.dashboard.scripted import PASSWORD, make_user, sign_in

REPO = Path(__file__).resolve().parents[2]


def test_sign_in_is_rate_limited_per_address_with_a_bare_429(client, db):
    make_user(db, "staf", "staff")
    answers = [sign_in(client, "staf", f"wrong {n}").status_code for n in range(12)]
    assert answers[:5] == [401] * 4 + [429]  # the 5th wrong password locks this address + name
    assert answers[-1] == 429
    refused = client.post("/dash/login", data={"username": "staf", "password": PASSWORD})
    assert refused.status_code == 429 and refused.headers["retry-after"] == "60"
    assert "Terlalu banyak percobaan masuk" in refused.text  # answered before any page is rendered


def test_the_global_limit_holds_across_addresses():
    auth.throttle.configure(per_client="100/minute", global_limit="5/minute")
    admitted = [auth.throttle.admit(f"10.0.0.{n}") for n in range(8)]
    assert admitted == [True] * 5 + [False] * 3
    auth.throttle.configure(per_client="2/minute")
    assert [auth.throttle.admit("10.0.1.1") for _ in range(3)] == [True, True, False]
    assert auth.throttle.admit("10.0.1.2")  # another address is not affected


def test_hashing_runs_in_its_own_pool_and_a_full_pool_answers_429(client, db, monkeypatch):
    make_user(db, "staf", "staff")
    threads = []
    real_verify = auth._verify

    def spy(password_hash, password):
        threads.append(threading.current_thread().name)
        return real_verify(password_hash, password)

    monkeypatch.setattr(auth, "_verify", spy)
    assert sign_in(client, "staf").status_code == 303
    assert threads and all(name.startswith("password-hash") for name in threads)
    auth.throttle.configure(max_in_flight=0)
    assert sign_in(client, "staf").status_code == 429


def test_hashes_with_the_old_default_parameters_verify_and_are_rehashed(db):
    make_user(db, "lama", "staff")
    old = PasswordHasher()  # argon2-cffi's defaults: 64 MiB, 4 lanes
    with db.session() as session:
        session.scalars(select(StaffUser)).one().password_hash = old.hash(PASSWORD)
    assert auth.sign_in_split(db, "lama", PASSWORD).ok
    with db.session() as session:
        stored = session.scalars(select(StaffUser)).one().password_hash
    assert "m=19456,t=2,p=1" in stored and auth.sign_in_split(db, "lama", PASSWORD).ok


def test_lockout_is_per_address_and_name_and_the_same_for_unknown_names(db):
    make_user(db, "admin", "admin")
    outcomes = [auth.sign_in_split(db, "admin", "wrong", client="203.0.113.9").outcome for _ in range(5)]
    assert outcomes == ["bad"] * 4 + ["locked"]
    assert auth.sign_in_split(db, "admin", PASSWORD, client="203.0.113.9").outcome == "locked"
    assert auth.sign_in_split(db, "admin", PASSWORD, client="198.51.100.7").ok  # the admin is not locked out
    ghost = [auth.sign_in_split(db, "nobody", "wrong", client="203.0.113.9").outcome for _ in range(6)]
    assert ghost == ["bad"] * 4 + ["locked", "locked"]  # exactly what an existing name gets


@pytest.mark.parametrize("password", ["aaaaaaaaaaaa", "short pass", "password1234", "Qwertyuiop123!",
                                      "123456789012", "abcdefghijklmnop", "Indonesia2024"])
def test_weak_passwords_are_refused(db, password):
    with db.session() as session, pytest.raises(auth.UserError):
        auth.create_user(session, "baru", password, "staff")


def test_a_good_password_is_accepted(db):
    with db.session() as session:
        assert auth.create_user(session, "baru", "kopi tubruk pagi hari", "staff").id


def test_an_idle_session_is_signed_out(client, db, monkeypatch):
    make_user(db, "staf", "staff")
    assert sign_in(client, "staf").status_code == 303
    assert client.get("/dash/owners", follow_redirects=False).status_code == 200
    import time
    real = time.time
    monkeypatch.setattr(time, "time", lambda: real() + security.IDLE_TIMEOUT + 5)
    answer = client.get("/dash/owners", follow_redirects=False)
    assert answer.status_code == 303 and "/dash/login" in answer.headers["location"]


def test_a_sign_in_flood_does_not_stop_signed_webhooks(tmp_path):
    """The bench's flood, 40 concurrent clients as in the issue, for a shorter time, against the
    real service: every webhook answered 200 within Twilio's 15 s. The p99 is printed here and
    measured by `bench/signin_flood.py` against its 1 s target (speed is not asserted by a test:
    this machine may be shared)."""
    spec = importlib.util.spec_from_file_location("signin_flood", REPO / "bench" / "signin_flood.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    result = bench.measure(tmp_path, f"sqlite:///{tmp_path / 'umkm.sqlite3'}", clients=40, seconds=4, rate=10)
    assert result["webhooks"] >= 5
    assert result["webhook_statuses"] == {200: result["webhooks"]}
    assert result["max"] < 15
    assert 429 in result["sign_in_answers"]  # the flood met the limits, not the hashing pool
    print(f"sign-in flood, 40 clients: {result['webhooks']} webhooks, p50 {result['p50'] * 1000:.0f} ms, "
          f"p99 {result['p99'] * 1000:.0f} ms, max {result['max'] * 1000:.0f} ms")
