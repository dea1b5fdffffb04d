"""Shared fixtures. Every test that takes `db` runs twice: on SQLite and on a real PostgreSQL
server (TEST_POSTGRES_URL, set by `make test`). Each run of the suite gets its own databases,
migrated once; every test starts from empty tables.
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from bot.content import get_content
from storage.db import Database
from storage.models import Base
from storage.scratch import create_database, drop_database

REPO = Path(__file__).resolve().parent.parent
PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "")
ARTIFACTS = REPO / "test-artifacts"


def pytest_configure(config):
    """One cache folder for the understanding classifier (bot/nlu/model.py) for this run and every
    process its tests start: the first fit of the run is stored, every later start loads it. Empty at
    the start of each run, as on a fresh CI machine (unless UMKM_CACHE_DIR is set already)."""
    if not os.environ.get("UMKM_CACHE_DIR"):
        config._umkm_cache_dir = tempfile.mkdtemp(prefix="umkm-test-cache-")
        os.environ["UMKM_CACHE_DIR"] = config._umkm_cache_dir


def pytest_unconfigure(config):
    folder = getattr(config, "_umkm_cache_dir", None)
    if folder:
        os.environ.pop("UMKM_CACHE_DIR", None)
        shutil.rmtree(folder, ignore_errors=True)


def _create_pg_database() -> str:
    return create_database(PG_ADMIN_URL, prefix="umkm_test")


def _drop_pg_database(url: str) -> None:
    drop_database(PG_ADMIN_URL, url)


@pytest.fixture(scope="session")
def _sqlite_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("sqlite") / "test.sqlite3"
    db = Database(f"sqlite:///{path}")
    db.migrate()
    yield db
    db.dispose()


@pytest.fixture(scope="session")
def _postgres_db():
    if not PG_ADMIN_URL:
        pytest.skip("TEST_POSTGRES_URL is not set (make test sets it)")
    url = _create_pg_database()
    db = Database(url)
    db.migrate()
    yield db
    db.dispose()
    _drop_pg_database(url)


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
def fresh_pg_url():
    """A brand-new PostgreSQL database URL, migrated, for tests that start other processes."""
    if not PG_ADMIN_URL:
        pytest.skip("TEST_POSTGRES_URL is not set (make test sets it)")
    url = _create_pg_database()
    database = Database(url)
    database.migrate()
    database.dispose()
    yield url
    _drop_pg_database(url)


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
