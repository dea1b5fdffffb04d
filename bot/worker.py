"""Inbox workers: the processes that run the owners' turns, apart from the web processes.

A webhook only stores the message (bot/channels/inbox.py). An `InboxWorker` handles what was
stored, in batches: one statement claims up to `batch` rows of as many different owners
(`FOR UPDATE SKIP LOCKED` on PostgreSQL), their turns run in one transaction with a savepoint
each, and the batch commits with the replies in the outbox. Several worker processes (and several
batches per process with `concurrency`) share the queue safely; see the inbox's docstring for the
order and exactly-once guarantees.

Waking: on PostgreSQL a dedicated connection LISTENs on `umkm_inbox`, which the web processes
NOTIFY after storing rows; the worker also polls every `poll` seconds (retries that became due, a listening
connection that dropped). On SQLite it polls, and a worker in the web process (`umkm-bot run`) is
woken directly by the webhook.

`umkm-bot worker` runs one; `umkm-bot run` starts child worker processes on PostgreSQL (two on a
machine with two or more cores, one batch at a time each, so the turns never share the web
process's interpreter lock) and works the inbox in its own event loop
on SQLite (where one writer at a time is the rule anyway).
"""
from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from bot.channels.inbox import NOTIFY_CHANNEL, Inbox

log = logging.getLogger(__name__)

PRUNE_EVERY = 3600.0
# SQLite, worker in the web process: while webhooks keep arriving, turns wait (at most
# INGEST_FIRST_MAX seconds in a row) so that the webhooks' inserts never queue behind them.
# PostgreSQL: after a batch that emptied the queue, wait this long for more before the next claim.
GATHER = 0.02
DEFAULT_BATCH = 64  # messages (of as many owners) per batch transaction on PostgreSQL
INGEST_QUIET = 0.05
INGEST_FIRST_MAX = 2.0


class InboxWorker:
    def __init__(self, inbox: Inbox, batch: int = 32, concurrency: int = 1, poll: float | None = None):
        self.inbox = inbox
        self.batch = batch
        self.concurrency = max(1, concurrency)
        postgres = inbox.db.is_postgres
        self.poll = poll if poll is not None else (1.0 if postgres else 0.25)
        self.gather = GATHER if postgres else 0.0  # SQLite takes one message per batch anyway
        self.handled = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._last_stored = 0.0

    def wake(self) -> None:
        """Something was stored in this process (callable from any thread)."""
        if self._wake is not None and self._loop is not None:
            self._last_stored = time.monotonic()
            self._loop.call_soon_threadsafe(self._wake.set)

    async def _ingest_first(self) -> None:
        """SQLite: one writer at a time, so let a burst of webhooks in before the next turn."""
        if self.inbox.db.is_postgres:
            return
        waited = 0.0
        while time.monotonic() - self._last_stored < INGEST_QUIET and waited < INGEST_FIRST_MAX:
            await asyncio.sleep(INGEST_QUIET / 2)
            waited += INGEST_QUIET / 2

    async def run(self, stop: asyncio.Event) -> None:
        """Work the inbox until `stop` is set; a batch in progress finishes first."""
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self.inbox.on_stored = self.wake
        jobs = [self._work(stop) for _ in range(self.concurrency)]
        listener = asyncio.create_task(self._listen(stop)) if self.inbox.db.is_postgres else None
        try:
            await asyncio.gather(*jobs, self._prune(stop))
        finally:
            self.inbox.on_stored = None
            if listener is not None:
                listener.cancel()
                await asyncio.gather(listener, return_exceptions=True)

    async def _work(self, stop: asyncio.Event) -> None:
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            self._wake.clear()
            await self._ingest_first()
            try:
                claimed = await asyncio.to_thread(self.inbox.work_batch, self.batch, loop)
            except Exception:
                log.exception("inbox batch failed; trying again shortly")
                claimed = 0
                await asyncio.sleep(min(self.poll, 1.0))
            self.handled += claimed
            if claimed >= self.batch:
                continue  # a full batch: more are waiting, look again at once
            if not claimed:
                await self._sleep(stop)
            if self.gather and not stop.is_set():
                # Let the messages arriving meanwhile gather: one batch for them, not one batch each
                # (a batch has a fixed cost of a few statements whatever its size).
                await asyncio.sleep(self.gather)

    async def _sleep(self, stop: asyncio.Event) -> None:
        stopping = asyncio.ensure_future(stop.wait())
        woken = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({stopping, woken}, timeout=self.poll, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            woken.cancel()

    async def _prune(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                pruned = await asyncio.to_thread(self.inbox.prune)
                if pruned:
                    log.info("pruned %d handled inbox rows", pruned)
            except Exception:
                log.exception("inbox prune failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=PRUNE_EVERY)
            except asyncio.TimeoutError:
                pass

    async def _listen(self, stop: asyncio.Event) -> None:
        import psycopg

        conninfo = self.inbox.db.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        while not stop.is_set():
            try:
                conn = await psycopg.AsyncConnection.connect(conninfo, autocommit=True)
                async with conn:
                    await conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
                    self._wake.set()  # whatever was stored while nobody listened
                    while not stop.is_set():
                        async for _ in conn.notifies(timeout=1.0):
                            self._wake.set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the polling goes on meanwhile
                log.warning("inbox LISTEN connection lost (%s); polling until it is back", exc)
                await asyncio.sleep(1.0)


def default_count() -> int:
    """Inbox worker processes for `umkm-bot run` on PostgreSQL: one per core, at most two (the web
    process and PostgreSQL need the rest)."""
    return 2 if (os.cpu_count() or 1) >= 2 else 1


def spawn(count: int, batch: int, concurrency: int = 1, nice: int = 0) -> list[subprocess.Popen]:
    """Start `count` `umkm-bot worker` processes with this process's environment. `nice`: their
    lower CPU priority, so that on shared cores the webhooks are answered first; the backlog of
    turns then waits in the inbox, which is what it is for."""
    binary = Path(sys.executable).parent / "umkm-bot"
    command = [str(binary)] if binary.exists() else [sys.executable, "-c", "from bot.cli import main; main()"]
    # METRICS_PORT belongs to this process's deployment unit, not to each child (they would all
    # bind the same port): a deployment that scrapes its workers runs `umkm-bot worker` services.
    env = {key: value for key, value in os.environ.items() if key != "METRICS_PORT"}
    return [subprocess.Popen([*command, "worker", "--batch", str(batch), "--concurrency", str(concurrency),
                              "--nice", str(nice)], env=env) for _ in range(count)]


def stop_children(children: list[subprocess.Popen], timeout: float = 30.0) -> None:
    """Ask child workers to finish their batch and stop; wait for them."""
    for child in children:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
    for child in children:
        try:
            child.wait(timeout)
        except subprocess.TimeoutExpired:
            log.error("inbox worker %s did not stop in %ss; killed (its batch rolls back)", child.pid, timeout)
            child.kill()
            child.wait()
