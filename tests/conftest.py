"""Shared fixtures. Every test that takes `db` runs twice: on SQLite and on a real PostgreSQL
server (TEST_POSTGRES_URL, set by `make test`). Each run of the suite gets its own databases,
migrated once; every test starts from empty tables.
"""
from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import IntegrityError

from bot.content import get_content
from storage.db import Database
from storage.models import Base
from storage.scratch import drop_database

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "")
ARTIFACTS = REPO / "test-artifacts"


# Tests that measure a service under load inside the suite (their own clients flood it for a few
# seconds): with pytest-xdist (`make test`) they run while the other worker waits, so that its tests
# do not take the CPU their load generator needs. Listed here rather than marked in each file.
ALONE = {
    "tests/security/test_signin.py::test_a_sign_in_flood_does_not_stop_signed_webhooks",
}


def pytest_configure(config):
    """One cache folder for the understanding classifier (bot/nlu/model.py) for this run and every
    process its tests start: the first fit of the run is stored, every later start loads it. Empty at
    the start of each run, as on a fresh CI machine (unless UMKM_CACHE_DIR is set already).
    With pytest-xdist the workers inherit it, and the lock files of ALONE, from the main process."""
    if not os.environ.get("UMKM_CACHE_DIR"):
        config._umkm_cache_dir = tempfile.mkdtemp(prefix="umkm-test-cache-")
        os.environ["UMKM_CACHE_DIR"] = config._umkm_cache_dir
    if not os.environ.get("UMKM_TEST_LOCKS"):
        config._umkm_test_locks = tempfile.mkdtemp(prefix="umkm-test-locks-")
        os.environ["UMKM_TEST_LOCKS"] = config._umkm_test_locks


def pytest_unconfigure(config):
    for attribute, variable in (("_umkm_cache_dir", "UMKM_CACHE_DIR"), ("_umkm_test_locks", "UMKM_TEST_LOCKS")):
        folder = getattr(config, attribute, None)
        if folder:
            os.environ.pop(variable, None)
            shutil.rmtree(folder, ignore_errors=True)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item, nextitem):
    """Every test holds a shared lock while it runs (setup to teardown), an ALONE test an exclusive
    one. A turnstile in front gives the exclusive one its turn: once it waits there, no new test
    starts until it has run. In one process (no xdist) nothing ever waits."""
    folder = os.environ.get("UMKM_TEST_LOCKS")
    if not folder or not os.environ.get("PYTEST_XDIST_WORKER"):
        yield
        return
    alone = item.nodeid.split("[")[0] in ALONE
    with open(Path(folder) / "turnstile", "a") as turnstile, open(Path(folder) / "tests", "a") as tests:
        fcntl.flock(turnstile, fcntl.LOCK_EX)
        if not alone:
            fcntl.flock(turnstile, fcntl.LOCK_UN)
        fcntl.flock(tests, fcntl.LOCK_EX if alone else fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(tests, fcntl.LOCK_UN)
            if alone:
                fcntl.flock(turnstile, fcntl.LOCK_UN)


def create_pg_database(prefix: str = "umkm_test", template: str | None = None) -> str:
    """A new PostgreSQL database (a copy of `template`, a database URL, when given) that commits
    without waiting for its WAL to reach the disk: ~0.3 ms instead of ~2 ms a commit here. What other
    connections see, locks and SKIP LOCKED are unchanged; only a crash of the server could lose the
    last commits, and no test crashes it."""
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            source = f' TEMPLATE "{make_url(template).database}"' if template else ""
            conn.execute(text(f'CREATE DATABASE "{name}"{source}'))
            conn.execute(text(f'ALTER DATABASE "{name}" SET synchronous_commit = off'))
    finally:
        admin.dispose()
    return make_url(PG_ADMIN_URL).set(database=name).render_as_string(hide_password=False)


def drop_pg_database(url: str) -> None:
    drop_database(PG_ADMIN_URL, url)


@pytest.fixture(scope="session")
def _pg_template():
    """A migrated PostgreSQL database that the test databases are copied from (CREATE DATABASE ...
    TEMPLATE, ~0.15 s) instead of each running every migration (~1 s). Nothing connects to it after."""
    if not PG_ADMIN_URL:
        pytest.skip("TEST_POSTGRES_URL is not set (make test sets it)")
    url = create_pg_database("umkm_test_template")
    database = Database(url)
    database.migrate()
    database.dispose()
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session")
def _sqlite_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def _postgres_db(_pg_template):
    url = create_pg_database(template=_pg_template)
    db = Database(url)
    yield db
    db.dispose()
    drop_pg_database(url)


def _empty(db: Database) -> None:
    """Every table emptied, every id counter back at its start.

    DELETE, not TRUNCATE, on PostgreSQL too: a TRUNCATE of the 35 tables gives each a new file and
    costs ~0.35 s a test (half a second of the run per PostgreSQL test, 3 minutes a suite); deleting
    the few rows a test left behind costs ~15 ms. Children before parents (the foreign keys); should
    the order ever not suit the database (a key the models do not know), TRUNCATE ... CASCADE still does.
    """
    tables = [t.name for t in reversed(Base.metadata.sorted_tables)]
    try:
        with db.engine.begin() as conn:
            for table in tables:
                conn.execute(text(f'DELETE FROM "{table}"'))
            if db.is_postgres:  # what TRUNCATE ... RESTART IDENTITY did: ids start again at 1
                conn.execute(text("SELECT setval(seqrelid, seqstart, false) FROM pg_sequence"))
    except IntegrityError:
        if not db.is_postgres:
            raise
        with db.engine.begin() as conn:
            conn.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables) + " RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["sqlite", "postgres"])
def db(request) -> Database:
    """An empty, migrated database; the test runs once per database kind."""
    database = request.getfixturevalue(f"_{request.param}_db")
    _empty(database)
    return database


@pytest.fixture
def pg_db(request) -> Database:
    """PostgreSQL only: for row locks and SKIP LOCKED, which SQLite ignores."""
    database = request.getfixturevalue("_postgres_db")
    _empty(database)
    return database


@pytest.fixture
def fresh_pg_url(_pg_template):
    """A brand-new PostgreSQL database URL, migrated, for tests that start other processes."""
    url = create_pg_database(template=_pg_template)
    yield url
    drop_pg_database(url)


@pytest.fixture(scope="session")
def content():
    return get_content(REPO / "content")


@pytest.fixture
def clock():
    """Frozen time (2026-11-23 09:00 WIB, a Monday) that a test moves with clock.shift(...)."""
    with time_machine.travel("2026-11-23 02:00:00+00:00", tick=False) as traveller:
        yield traveller


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(autouse=True)
def _fresh_sign_in_limits():
    """Sign-in rate limits and lockouts live in process memory: each test starts with none."""
    from bot.dashboard import auth

    auth.lockouts.clear()
    auth.throttle.configure()
    yield
