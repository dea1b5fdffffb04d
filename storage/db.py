"""The database: engine, sessions, migrations on first use.

SQLite (the default) serialises writers: every transaction starts with BEGIN IMMEDIATE, so two
processes never interleave an owner's turn. PostgreSQL (DATABASE_URL) uses row locks
(`SELECT ... FOR UPDATE`) and `SKIP LOCKED` claims instead; that code is only really exercised
by the tests that run on PostgreSQL.
"""
from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator, TypeVar

from alembic.config import Config
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config(url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def _make_engine(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30, "check_same_thread": False})

        @event.listens_for(engine, "connect")
        def _sqlite_connect(dbapi_connection, _record):
            # Let SQLAlchemy, not the driver, decide when a transaction begins (see _sqlite_begin).
            dbapi_connection.isolation_level = None
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _sqlite_begin(conn):
            # Take the write lock up front: SQLite's deferred transactions deadlock when two
            # readers both try to upgrade, and SQLite has no row locks to take instead.
            conn.exec_driver_sql("BEGIN IMMEDIATE")

        return engine
    # No pre-ping: it costs a round trip on every checkout. A connection the server dropped
    # is invalidated by the pool when it fails; callers that can repeat their work use
    # `Database.retrying`, and the pool recycles connections before server-side timeouts.
    return create_engine(url, pool_size=10, max_overflow=20, pool_recycle=1800)


class Database:
    def __init__(self, url: str):
        self.url = url
        self.engine = _make_engine(url)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @property
    def is_postgres(self) -> bool:
        return self.dialect == "postgresql"

    def migrate(self) -> None:
        """Bring the schema to the newest revision (all feature branches), one process at a time."""
        from storage.migrate import upgrade

        upgrade(self.engine, self.url)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """One transaction: commits on success, rolls back on any error."""
        session = self.sessionmaker()
        try:
            with session.begin():
                yield session
        finally:
            session.close()

    def retrying(self, work: Callable[[], T], attempts: int = 3) -> T:
        """Run `work` (one whole transaction), again on a fresh connection when the one it got
        turned out to be dead (the server restarted, an idle connection was cut)."""
        for attempt in range(attempts):
            try:
                return work()
            except DBAPIError as exc:
                if not exc.connection_invalidated or attempt == attempts - 1:
                    raise
        raise AssertionError("unreachable")

    def dispose(self) -> None:
        self.engine.dispose()


_databases: dict[str, Database] = {}
_lock = threading.Lock()


def get_database(url: str | None = None, migrate: bool = True) -> Database:
    """The process's Database for a URL (DATABASE_URL by default), migrated on first use."""
    if url is None:
        from bot.config import load_settings

        url = load_settings().database_url
    with _lock:
        db = _databases.get(url)
        if db is None:
            db = Database(url)
            if migrate:
                db.migrate()
            _databases[url] = db
        return db


def forget_database(url: str) -> None:
    with _lock:
        db = _databases.pop(url, None)
    if db is not None:
        db.dispose()
