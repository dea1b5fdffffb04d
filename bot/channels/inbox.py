"""Between a webhook and the pipeline: answer the provider at once, then handle in order.

Twilio waits 15 seconds for a webhook answer and Telegram retries slow ones, while a turn may
take a moment (database locks, a photo to keep). So a webhook only stores the message in
`channel_inbox` (a redelivered provider id hits the unique key and is dropped right there) and
answers 200; the message is handed to `pipeline.handle` right after the response.

Order per owner: an address's messages are handled one at a time, oldest first, also with several
web workers: a row is claimed only when no earlier row of the same address is unfinished, and the
claim skips rows another worker has locked (PostgreSQL `FOR UPDATE SKIP LOCKED`; SQLite's write lock
serialises claims). A claimed row is `processing` with a lease; if its worker dies, another worker
takes it over after the lease (the periodic sweep of `umkm-bot run`), and the pipeline's own
duplicate check (inbound_messages) makes a second hand-over harmless. A message whose handling
fails is retried with backoff; after INBOX_MAX_ATTEMPTS it is `failed` and the owner's later
messages go on.
"""
from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Callable

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import aliased

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


@dataclass(frozen=True)
class ClaimedMessage:
    id: int
    attempt: int
    channel: str
    address: str
    message_id: str
    payload: dict[str, Any]
    received_at: datetime


def _default_handle(inbound: Inbound, db: Database, content: Content):
    from bot.pipeline import handle

    return handle(inbound, db=db, content=content)


class Inbox:
    def __init__(self, db: Database, content: Content, channels: dict[str, Channel], cs: ChannelSettings,
                 handle: Callable[..., Any] | None = None):
        self.db = db
        self.content = content
        self.channels = channels
        self.cs = cs
        self.handle = handle or _default_handle
        self.on_handled: Callable[[], None] | None = None  # e.g. wake the sender in this process

    # --- storing (in the webhook request) -------------------------------------------------------
    @metrics.count_inbound
    def store(self, incoming: Incoming) -> bool:
        """Keep one message; False when this provider id was already stored (a redelivery)."""
        with self.db.session() as session:
            try:
                with session.begin_nested():
                    session.add(ChannelInbox(
                        channel=incoming.channel, message_id=incoming.message_id, address=incoming.address,
                        payload=dict(incoming.data), status="pending", attempts=0, received_at=utcnow(),
                    ))
            except IntegrityError:
                log.info("duplicate %s message dropped: %s", incoming.channel, incoming.message_id)
                return False
        return True

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
    def _due(self, now: datetime):
        C = ChannelInbox
        return or_(
            and_(C.status == "pending", or_(C.lease_until.is_(None), C.lease_until <= now)),
            and_(C.status == "processing", C.lease_until <= now),
        )

    def claim_next(self, channel: str, address: str) -> ClaimedMessage | None:
        now = utcnow()
        C = ChannelInbox
        earlier = aliased(ChannelInbox)
        unfinished_before = exists().where(
            earlier.channel == C.channel, earlier.address == C.address, earlier.id < C.id,
            earlier.status.in_(UNFINISHED),
        )
        query = (
            select(C)
            .where(C.channel == channel, C.address == address, self._due(now), ~unfinished_before)
            .order_by(C.id)
            .limit(1)
            .with_for_update(skip_locked=True, of=C)
        )
        with self.db.session() as session:
            row = session.scalars(query).first()
            if row is None:
                return None
            if row.status == "processing":
                log.warning("inbox %s taken over after its worker's lease ran out", row.id)
            row.status = "processing"
            row.attempts = (row.attempts or 0) + 1
            row.lease_until = now + timedelta(seconds=self.cs.inbox_lease_seconds)
            return ClaimedMessage(row.id, row.attempts, row.channel, row.address, row.message_id,
                                  dict(row.payload or {}), row.received_at)

    def waiting_addresses(self, limit: int = 200) -> list[tuple[str, str]]:
        now = utcnow()
        C = ChannelInbox
        with self.db.session() as session:
            rows = session.execute(
                select(C.channel, C.address).where(C.status.in_(UNFINISHED), self._due(now))
                .group_by(C.channel, C.address).limit(limit)
            ).all()
        return [(channel, address) for channel, address in rows]

    def finish(self, claimed: ClaimedMessage, error: str | None) -> None:
        now = utcnow()
        with self.db.session() as session:
            row = session.get(ChannelInbox, claimed.id, with_for_update=True)
            if row is None or row.status != "processing" or row.attempts != claimed.attempt:
                return  # another worker took it over meanwhile
            if error is None:
                row.status, row.payload, row.error = "done", {}, None
                row.processed_at, row.lease_until = now, None
            elif row.attempts >= self.cs.inbox_max_attempts:
                row.status, row.error, row.processed_at, row.lease_until = "failed", error[:2000], now, None
                log.error("inbox %s failed for good after %s attempts", row.id, row.attempts)
            else:
                row.status, row.error = "pending", error[:2000]
                row.lease_until = now + timedelta(seconds=min(300, 2 ** row.attempts))

    def prune(self) -> int:
        with self.db.session() as session:
            result = session.execute(
                delete(ChannelInbox).where(ChannelInbox.status == "done",
                                           ChannelInbox.processed_at < utcnow() - KEEP_DONE)
            )
            return result.rowcount or 0

    # --- handling (after the response) ------------------------------------------------------------
    async def drain(self, channel: str, address: str) -> int:
        """Handle this address's waiting messages in order; returns how many were handled."""
        handled = 0
        while True:
            claimed = await asyncio.to_thread(self.claim_next, channel, address)
            if claimed is None:
                return handled
            await self.process(claimed)
            handled += 1

    async def drain_many(self, incoming: list[Incoming]) -> None:
        for channel, address in dict.fromkeys((i.channel, i.address) for i in incoming):
            await self.drain(channel, address)

    async def process(self, claimed: ClaimedMessage) -> None:
        channel = self.channels.get(claimed.channel)
        data = {**claimed.payload, "message_id": claimed.message_id}
        try:
            if channel is not None:
                data = await channel.before_handle(data)
            inbound = Inbound(
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
            await asyncio.to_thread(self.handle, inbound, db=self.db, content=self.content)
        except Exception as exc:
            log.exception("inbox %s (%s) not handled", claimed.id, claimed.channel)
            await asyncio.to_thread(self.finish, claimed, f"{type(exc).__name__}: {exc}")
            return
        await asyncio.to_thread(self.finish, claimed, None)
        if self.on_handled is not None:
            self.on_handled()

    async def sweep(self, concurrency: int = 8) -> int:
        """Handle whatever is waiting: rows whose worker died, retries that are due."""
        addresses = await asyncio.to_thread(self.waiting_addresses)
        if not addresses:
            return 0
        gate = asyncio.Semaphore(concurrency)

        async def one(channel: str, address: str) -> int:
            async with gate:
                return await self.drain(channel, address)

        return sum(await asyncio.gather(*(one(c, a) for c, a in addresses)))

    async def run(self, stop: asyncio.Event, every: float = 5.0) -> None:
        last_prune = 0.0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            try:
                await self.sweep()
                if loop.time() - last_prune > 3600:
                    await asyncio.to_thread(self.prune)
                    last_prune = loop.time()
            except Exception:
                log.exception("inbox sweep failed")
            try:
                await asyncio.wait_for(stop.wait(), timeout=every)
            except asyncio.TimeoutError:
                pass
