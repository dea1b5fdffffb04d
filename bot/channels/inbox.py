"""Between a webhook and the pipeline: accept with one write, handle in batches elsewhere.

Twilio waits 15 seconds for a webhook answer and Telegram retries slow ones, while a turn may
take a moment. So a webhook only stores the message in `channel_inbox` with one
`INSERT ... ON CONFLICT DO NOTHING` (a redelivered provider id hits the unique key and is dropped
right there) and answers 200, whatever the backlog. Nothing else runs in the web process.

Handling runs in inbox workers (`umkm-bot worker`, and inside `umkm-bot run` for the one-command
default; see bot/worker.py). A worker handles a BATCH in ONE transaction:

1. claim up to N rows of N different addresses with one statement: for each address only its
   oldest unfinished row, and only when it is due (not waiting for a retry); rows another worker
   holds are skipped (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite's write lock serialises
   batches, which are then one message long so that a webhook never waits behind a batch);
2. run each claimed message's turn (`pipeline.handle_turn`) inside its own savepoint, so one
   failing turn is rolled back alone and retried later with backoff while the others stand;
3. write every turn's message log and outbox rows with multi-row inserts, mark the handled rows
   done with one UPDATE, and commit.

Guarantees. Per-owner order: an address's later row is never claimed while an earlier one is
unfinished, and a claimed row stays locked by its batch until it commits. Exactly once: the turn's
writes and the row's `done` commit together; a worker killed mid-batch (even kill -9) leaves an
open transaction that the database rolls back, so the rows are simply claimable again (and the
pipeline's duplicate check, inbound_messages, stays a second line). A message whose turn fails is
retried with backoff; after INBOX_MAX_ATTEMPTS it is `failed` and the owner's later messages go on.
Rows left `processing` with a lease by older versions are taken over once the lease runs out.

Waking: on PostgreSQL the web process sends `NOTIFY umkm_inbox` from a thread of its own after
rows were stored (one NOTIFY for however many rows arrived meanwhile), and the workers LISTEN.
Not from the webhook's own transaction: a transaction that NOTIFYs takes a database-wide lock at
commit, which serialised the webhooks' commits (measured: 256 stores/s with it, 734 without, 16
threads). On SQLite (or while the listening connection is down) the workers poll.
"""
from __future__ import annotations

import asyncio
import functools
import logging
import threading
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, bindparam, delete, exists, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from bot import metrics
from bot.channels.base import Channel, Incoming
from bot.channels.config import ChannelSettings
from bot.clock import utcnow
from bot.content import Content
from bot.messages import Inbound, Media
from storage.db import Database
from storage.models import Owner
from storage.models.channels import ChannelInbox

log = logging.getLogger(__name__)

UNFINISHED = ("pending", "processing")
KEEP_DONE = timedelta(days=2)  # done rows only guard against late redeliveries
NOTIFY_CHANNEL = "umkm_inbox"
STORE_WRITERS = 2  # inserts of waiting webhooks in flight at once, per process
STORE_BATCH = 200  # rows per insert at most
INBOX = ChannelInbox.__table__
# Literal, so that PostgreSQL matches the partial indexes on unfinished rows.
UNFINISHED_SQL = text("channel_inbox.status IN ('pending', 'processing')")


_notifier_lock = threading.Lock()


def _resolve(future: asyncio.Future, answer: bool = False, exception: BaseException | None = None) -> None:
    """Answer a waiting webhook, also when it waits on another event loop than the writer's."""
    def settle() -> None:
        if not future.done():
            if exception is not None:
                future.set_exception(exception)
            else:
                future.set_result(answer)

    loop = future.get_loop()
    try:
        running = asyncio.get_running_loop()
    except RuntimeError:
        running = None
    if loop is running:
        settle()
    elif not loop.is_closed():
        loop.call_soon_threadsafe(settle)


class Notifier:
    """Sends `NOTIFY umkm_inbox` on a connection of its own, once per burst of stored rows: a poke
    while a NOTIFY is on its way is covered by the next one, so workers never miss a row."""

    def __init__(self, db: Database):
        self.db = db
        self.wanted = threading.Event()
        self.thread = threading.Thread(target=self._run, name="inbox-notify", daemon=True)
        self.thread.start()

    def poke(self) -> None:
        self.wanted.set()

    def _run(self) -> None:
        import psycopg

        conninfo = self.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        conn = None
        while True:
            self.wanted.wait()
            self.wanted.clear()
            try:
                if conn is None or conn.closed:
                    conn = psycopg.connect(conninfo, autocommit=True)
                conn.execute(f"NOTIFY {NOTIFY_CHANNEL}")
            except Exception as exc:  # the workers' polling covers the gap
                log.warning("inbox NOTIFY not sent: %s", exc)
                conn = None
                self.wanted.wait(1.0)


@functools.lru_cache(maxsize=16)
def _claim_query(limit: int):
    """The claim statement for a batch size, built once (`now` is its parameter)."""
    C = INBOX.c
    now = bindparam("now", type_=C.lease_until.type)
    earlier = INBOX.alias("earlier")
    unfinished_before = exists().where(
        earlier.c.channel == C.channel, earlier.c.address == C.address,
        earlier.c.id < C.id, text("earlier.status IN ('pending', 'processing')"),
    )
    due = or_(
        and_(C.status == "pending", or_(C.lease_until.is_(None), C.lease_until <= now)),
        and_(C.status == "processing", C.lease_until <= now),
    )
    return (
        select(C.id, C.attempts, C.status, C.channel, C.address, C.message_id, C.payload, C.received_at)
        .where(UNFINISHED_SQL, due, ~unfinished_before)
        .order_by(C.id)
        .limit(limit)
        .with_for_update(skip_locked=True, of=INBOX)
    )


# A batch's handled rows: done, their payload no longer kept (it may hold personal data).
DONE = (update(INBOX).where(INBOX.c.id.in_(bindparam("ids", expanding=True)))
        .values(status="done", payload={}, error=None, lease_until=None, attempts=INBOX.c.attempts + 1,
                processed_at=bindparam("now", type_=INBOX.c.processed_at.type)))


# A batch commits without waiting for its WAL flush. Safe: nothing of a batch leaves the database
# before the sender's claim of its replies commits synchronously, which flushes the WAL up to that
# claim, so past this batch's commit too. A batch lost in a server crash before then is lost whole
# (inbox rows pending again, no reply queued, no message id recorded): its turns run again, once.
ASYNC_COMMIT = text("SET LOCAL synchronous_commit = off")


class _TurnFailed(Exception):
    """A turn failed in a batch run without savepoints (the batch is rolled back and run carefully)."""


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    attempt: int
    channel: str
    address: str
    message_id: str
    payload: dict[str, Any]
    received_at: datetime


def _default_turn(session, db: Database, inbound: Inbound, content: Content, writes):
    from bot.pipeline import handle_turn

    return handle_turn(session, db, inbound, content, writes)


class Inbox:
    def __init__(self, db: Database, content: Content, channels: dict[str, Channel], cs: ChannelSettings,
                 turn: Callable[..., Any] | None = None):
        self.db = db
        self.content = content
        self.channels = channels
        self.cs = cs
        self.turn = metrics.observe_inbox_turn(turn or _default_turn)
        self.on_handled: Callable[[], None] | None = None  # e.g. wake the sender in this process
        self.on_stored: Callable[[], None] | None = None  # wake an inbox worker running in this process
        self._waiting: list[tuple[Incoming, asyncio.Future]] = []  # webhooks waiting for their write
        self._writers = 0

    # --- storing (in the webhook request) -------------------------------------------------------
    def store(self, incoming: Incoming) -> bool:
        """Keep one message with one INSERT; False when this provider id was already stored."""
        return self.store_many([incoming])[0]

    @metrics.count_inbound
    def store_many(self, items: list[Incoming]) -> list[bool]:
        """Keep several messages with ONE multi-row INSERT ... ON CONFLICT DO NOTHING (one commit);
        for each, False when its provider id was already stored (or came twice in `items`)."""
        dialect_insert = pg_insert if self.db.is_postgres else sqlite_insert
        now = utcnow()
        rows = {}
        for item in items:
            rows.setdefault((item.channel, item.message_id), {
                "channel": item.channel, "message_id": item.message_id, "address": item.address,
                "payload": dict(item.data), "status": "pending", "attempts": 0, "received_at": now})
        statement = (
            dialect_insert(INBOX).values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["channel", "message_id"])
            .returning(INBOX.c.channel, INBOX.c.message_id)
        )

        def write() -> set[tuple[str, str]]:
            if self.db.is_postgres:  # one statement: one round trip, no BEGIN/COMMIT around it
                with self.db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                    return {tuple(row) for row in conn.execute(statement)}
            with self.db.engine.begin() as conn:
                return {tuple(row) for row in conn.execute(statement)}

        new = self.db.retrying(write)
        if new:
            if self.on_stored is not None:
                self.on_stored()
            if self.db.is_postgres:
                self._notifier().poke()
        answers = []
        for item in items:
            key = (item.channel, item.message_id)
            answers.append(key in new)
            new.discard(key)  # a second copy in the same call is a duplicate
            if not answers[-1]:
                log.info("duplicate %s message dropped: %s", item.channel, item.message_id)
        return answers

    async def store_async(self, incoming: Incoming) -> bool:
        """`store` for a webhook: concurrent requests of this process are written together, one
        INSERT and one commit for whatever arrived while the previous write was under way (group
        commit; each request still answers only once its row is committed)."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((incoming, future))
        if self._writers < STORE_WRITERS:
            self._writers += 1
            loop.create_task(self._write_waiting())
        return await future

    async def _write_waiting(self) -> None:
        try:
            while self._waiting:
                batch, self._waiting = self._waiting[:STORE_BATCH], self._waiting[STORE_BATCH:]
                try:
                    answers = await asyncio.to_thread(self.store_many, [item for item, _ in batch])
                except Exception as exc:
                    for _, future in batch:
                        _resolve(future, exception=exc)
                    continue
                for (_, future), answer in zip(batch, answers):
                    _resolve(future, answer)
        finally:
            self._writers -= 1

    def _notifier(self) -> "Notifier":
        notifier = self.__dict__.get("_notify")
        if notifier is None:
            with _notifier_lock:
                notifier = self.__dict__.setdefault("_notify", Notifier(self.db))
        return notifier

    def mark_blocked(self, incoming: Incoming) -> None:
        """The owner blocked the bot: stop sending to them until they write again."""
        with self.db.session() as session:
            session.execute(
                update(Owner)
                .where(Owner.channel == incoming.channel, Owner.address == incoming.address,
                       Owner.unreachable_at.is_(None))
                .values(unreachable_at=utcnow())
            )

    # --- claiming --------------------------------------------------------------------------------
    def claim(self, session, limit: int) -> list[ClaimedMessage]:
        """Lock up to `limit` due rows, each the oldest unfinished row of its address, in the
        session's transaction (they stay locked until it ends)."""
        query = _claim_query(limit)
        claimed = []
        for row in session.execute(query, {"now": utcnow()}):
            if row.status == "processing":
                log.warning("inbox %s taken over after its worker's lease ran out", row.id)
            claimed.append(ClaimedMessage(row.id, (row.attempts or 0) + 1, row.channel, row.address,
                                          row.message_id, dict(row.payload or {}), row.received_at))
        return claimed

    def prune(self) -> int:
        with self.db.session() as session:
            result = session.execute(
                delete(ChannelInbox).where(ChannelInbox.status == "done",
                                           ChannelInbox.processed_at < utcnow() - KEEP_DONE)
            )
            return result.rowcount or 0

    # --- handling a batch -------------------------------------------------------------------------
    def _inbound(self, claimed: ClaimedMessage, data: dict[str, Any]) -> Inbound:
        return Inbound(
            channel=claimed.channel,
            address=claimed.address,
            text=data.get("text") or "",
            media=tuple(Media(kind=m.get("kind", "other"), url=m.get("url", ""),
                              content_type=m.get("content_type", ""), provider_id=m.get("provider_id", ""))
                        for m in data.get("media") or []),
            message_id=claimed.message_id,
            received_at=claimed.received_at,
            payload=data.get("payload") or "",
            profile_name=data.get("profile_name") or "",
            lang_hint=data.get("lang_hint") or "",
        )

    def _prepare(self, batch: list[ClaimedMessage], loop: asyncio.AbstractEventLoop | None) -> list[Any]:
        """Each message's data after its channel's `before_handle` (keeping photos, answering a
        button tap), all of the batch at once; an exception in place of a message that failed."""
        async def one(claimed: ClaimedMessage):
            data = {**claimed.payload, "message_id": claimed.message_id}
            channel = self.channels.get(claimed.channel)
            return await channel.before_handle(data) if channel is not None else data

        async def every():
            return await asyncio.gather(*(one(c) for c in batch), return_exceptions=True)

        if loop is None:
            return asyncio.run(every())
        future: Future = asyncio.run_coroutine_threadsafe(every(), loop)
        return future.result()

    def work_batch(self, limit: int = 32, loop: asyncio.AbstractEventLoop | None = None) -> int:
        """Claim, handle and finish one batch in one transaction; returns how many rows it claimed.

        The turns run one after another without a savepoint each (a savepoint costs two round trips
        and a flush per turn). Should one of them fail, the whole transaction is rolled back and the
        batch runs again at once, now with a savepoint per turn, so that the failing turn alone is
        rolled back and retried later. `loop`: the event loop the channels' async parts run on
        (None: a private one)."""
        if not self.db.is_postgres:
            limit = 1  # SQLite: one write lock for the whole batch; keep it one turn short
        prepared: dict[int, Any] = {}  # a message's channel preparation is done once, even if run twice
        try:
            return self._work_batch(limit, loop, prepared, careful=False)
        except _TurnFailed as failed:
            log.info("inbox %s failed in a batch; handling the batch again with a savepoint per turn", failed)
            return self._work_batch(limit, loop, prepared, careful=True)

    def _work_batch(self, limit: int, loop: asyncio.AbstractEventLoop | None, prepared: dict[int, Any],
                    careful: bool) -> int:
        from bot import turn_batch
        from bot.pipeline import TurnWrites

        erased: list[str] = []
        with self.db.session() as session:
            if self.db.is_postgres:
                session.execute(ASYNC_COMMIT)
            batch = self.claim(session, limit)
            if not batch:
                return 0
            fresh = [c for c in batch if c.id not in prepared]
            if fresh:
                prepared.update(zip((c.id for c in fresh), self._prepare(fresh, loop)))
            writes = TurnWrites()
            done: list[int] = []
            failed: list[tuple[ClaimedMessage, str]] = []
            inbounds: list[tuple[ClaimedMessage, Inbound]] = []
            for claimed in batch:
                data = prepared[claimed.id]
                if isinstance(data, BaseException):
                    failed.append((claimed, f"{type(data).__name__}: {data}"))
                else:
                    inbounds.append((claimed, self._inbound(claimed, data)))
            # What every turn needs to know, for the whole batch at once (bot/turn_batch.py).
            turn_batch.load(session, [inbound for _, inbound in inbounds], record_messages=not careful)
            for claimed, inbound in inbounds:
                if not careful:
                    try:
                        result = self.turn(session, self.db, inbound, self.content, writes)
                    except Exception as exc:
                        raise _TurnFailed(claimed.id) from exc
                    erased.extend(result.erased_media)
                    done.append(claimed.id)
                    continue
                mark = writes.mark()
                try:
                    with session.begin_nested():
                        result = self.turn(session, self.db, inbound, self.content, writes)
                        erased.extend(result.erased_media)
                except Exception as exc:
                    log.exception("inbox %s (%s) not handled", claimed.id, claimed.channel)
                    writes.rollback_to(mark)
                    failed.append((claimed, f"{type(exc).__name__}: {exc}"))
                    continue
                done.append(claimed.id)
            turn_batch.forget(session)
            writes.flush(session)
            now = utcnow()
            if done:
                session.execute(DONE, {"ids": done, "now": now})
            for claimed, error in failed:
                self._failed(session, claimed, error, now)
        if erased:
            from bot.pipeline import _erase_evidence

            _erase_evidence(erased)
        if done and self.on_handled is not None:
            self.on_handled()
        return len(batch)

    def _failed(self, session, claimed: ClaimedMessage, error: str, now: datetime) -> None:
        values: dict[str, Any] = {"attempts": claimed.attempt, "error": error[:2000]}
        if claimed.attempt >= self.cs.inbox_max_attempts:
            values.update(status="failed", processed_at=now, lease_until=None)
            log.error("inbox %s failed for good after %s attempts", claimed.id, claimed.attempt)
        else:
            values.update(status="pending", lease_until=now + timedelta(seconds=min(300, 2 ** claimed.attempt)))
        session.execute(update(INBOX).where(INBOX.c.id == claimed.id).values(**values))

    def work_until_idle(self, limit: int = 32) -> int:
        """Handle everything that is due now (tests, `umkm-bot worker --drain`)."""
        handled = 0
        while True:
            claimed = self.work_batch(limit)
            if not claimed:
                return handled
            handled += claimed
