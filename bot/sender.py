"""The outbox sender: delivers what the pipeline and the features wrote to the `outbox` table.

One lane per enabled channel, each at its own rate (WHATSAPP_RATE, default 80/s; TELEGRAM_RATE,
30/s overall, and TELEGRAM_PER_CHAT_RATE, 1/s per chat with a short burst). Replies (priority 0)
go before reminders and broadcasts; within one owner, messages go out in the order they were
written, one at a time.

How a message moves
-------------------
1. Claim (one short transaction): the due rows of a channel, best priority first, each the
   oldest unsent message of its owner (no earlier `pending`/`sending` row of the same address and
   the same or a better priority), locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL so several
   sender processes never take the same row. Policy is applied here: an opted-out owner gets
   nothing but direct replies, an unreachable owner nothing, quiet hours (20:00-07:00 WIB) hold
   reminders and broadcasts until morning unless the owner wrote during the night, and the channel
   chooses the form (WhatsApp: free text inside the 24-hour window, else the kind's approved
   template, else `unsendable` with the reason). A claimed row becomes `sending`, its `attempts`
   grows by one and `not_before` becomes the lease end (SENDER_LEASE_SECONDS).
2. Send, outside any transaction, through the channel's real client.
3. Record (one short transaction, fenced by `attempts`): `sent` with the provider's id, or the
   error: transient errors go back to `pending` with backoff (`not_before`) until
   SENDER_MAX_ATTEMPTS, then `failed`; a blocked owner makes the row `unsendable` and the owner
   unreachable; anything else the provider refuses is `failed` with its reason.
   Delivery callbacks later move `sent` to `delivered` and `read`, never back.

The guarantee
-------------
No two senders send the same row at the same time (row lock + `sending` + lease), and a message
is never silently dropped: every row ends `sent`/`delivered`/`read`, `failed` or `unsendable`,
with the reason in `error` and in `outbox_events`.

Delivery is at-least-once, and exactly-once wherever it can be known: the only way a message can
go out twice is a sender that dies (or times out reading the provider's answer) after the provider
accepted the message but before the answer was recorded. Then the row is "in doubt". Before
resending an in-doubt row the sender waits for the lease (or, after a read timeout, at least one
lease) and checks whether the provider's id has arrived meanwhile: WhatsApp messages carry a
status callback URL with the outbox id (`/webhooks/twilio/status?outbox=<id>`), so a message
Twilio accepted is recorded as sent by the callback and is not sent again. Telegram has no
callbacks; an in-doubt Telegram message is resent (a repeated answer is better than a lost one).
The window is the length of one HTTP call; a graceful stop (SIGTERM, Ctrl-C) finishes in-flight
sends before exiting, so only a hard kill opens it.

Several sender processes are safe on PostgreSQL. Rates are per process: with N senders, set the
rates to 1/N of the provider's limit (the usual deployment runs one sender).
SQLite (one process) serialises claims with its database write lock.
"""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot.channels.base import (
    Channel,
    ChannelError,
    OutboxItem,
    PermanentError,
    RecipientUnreachable,
    SendResult,
    TransientError,
    Unsendable,
    WindowClosed,
)
from bot.channels.config import ChannelSettings
from bot.clock import JAKARTA, as_utc, utcnow
from bot.config import Settings
from storage.db import Database
from storage.models import OutboxMessage, Owner
from storage.models.channels import OutboxEvent

log = logging.getLogger(__name__)

# Monotonic order of delivery states: a callback never moves a message back.
STATUS_RANK = {"pending": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "read": 4, "unsendable": 5}
UNSENT = ("pending", "sending")
QUIET_KINDS = ("reminder", "broadcast")  # conversational kinds (reply, relay, alert) go any time
ALWAYS_TO_OPTED_OUT = ("reply",)  # the answer to the owner's own message (e.g. confirming BERHENTI)
MAX_BACKOFF = 900.0
WINDOW_CLOSED_CODE = "63016"
BLOCKED_CODE = "21610"


# --- rate limiting ---------------------------------------------------------------------------
class RateLimiter:
    """Spaces sends `1/rate` apart, allowing a burst of `burst` back to back (GCRA)."""

    def __init__(self, rate: float, burst: int = 1):
        self.interval = 1.0 / rate if rate > 0 else 0.0
        self.burst = max(1, burst)
        self.next_free = 0.0

    def reserve(self) -> float:
        """Take the next slot; returns how long to wait for it."""
        if not self.interval:
            return 0.0
        now = time.monotonic()
        slot = max(now - (self.burst - 1) * self.interval, self.next_free)
        self.next_free = slot + self.interval
        return max(0.0, slot - now)

    async def acquire(self) -> None:
        wait = self.reserve()
        if wait > 0:
            await asyncio.sleep(wait)

    def sent(self) -> None:
        """Pace from the moment the provider accepted the last message, not from when it was
        started: a slow request must not squeeze the next one closer than the rate (per chat)."""
        if self.interval:
            self.next_free = max(self.next_free, time.monotonic() + self.interval - (self.burst - 1) * self.interval)

    def pause(self, seconds: float) -> None:
        self.next_free = max(self.next_free, time.monotonic() + seconds)


class ChatLimiters:
    """One limiter per chat, forgetting the least recently used beyond `size`."""

    def __init__(self, rate: float, burst: int, size: int = 10_000):
        self.rate, self.burst, self.size = rate, burst, size
        self._limiters: OrderedDict[str, RateLimiter] = OrderedDict()

    def get(self, address: str) -> RateLimiter:
        limiter = self._limiters.pop(address, None) or RateLimiter(self.rate, self.burst)
        self._limiters[address] = limiter
        while len(self._limiters) > self.size:
            self._limiters.popitem(last=False)
        return limiter


# --- quiet hours -------------------------------------------------------------------------------
def quiet_period(now: datetime, start_hour: int, end_hour: int) -> tuple[datetime, datetime] | None:
    """(start, end) in UTC of the quiet period `now` falls in (Jakarta time), or None by day."""
    if start_hour == end_hour:
        return None
    local = as_utc(now).astimezone(JAKARTA)
    hour = local.hour
    wraps = start_hour > end_hour  # 20:00 -> 07:00 crosses midnight
    in_quiet = (hour >= start_hour or hour < end_hour) if wraps else (start_hour <= hour < end_hour)
    if not in_quiet:
        return None
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0)
    start = midnight + timedelta(hours=start_hour)
    if wraps and hour < end_hour:
        start -= timedelta(days=1)
    length = (24 - start_hour + end_hour) if wraps else (end_hour - start_hour)
    end = start + timedelta(hours=length)  # Jakarta keeps no daylight saving time
    return as_utc(start), as_utc(end)


# --- recording -------------------------------------------------------------------------------
def add_event(session: Session, row: OutboxMessage | None, event: str, detail: str = "",
              code: str | None = None, owner_id: int | None = None, channel: str | None = None) -> None:
    session.add(OutboxEvent(
        outbox_id=row.id if row is not None else None,
        owner_id=owner_id if owner_id is not None else (row.owner_id if row is not None else None),
        channel=channel or (row.channel if row is not None else ""),
        event=event, code=code, detail=detail[:2000], created_at=utcnow(),
    ))


def advance_status(row: OutboxMessage, status: str, now: datetime) -> bool:
    """Move a row forward to `status` (sent < delivered < read; failed beside delivered).

    An unsent row (pending in a retry, or sending) may jump to any delivery state: the provider
    accepted it after all. A delivered row never goes back to sent, a read row never to delivered."""
    if row.status == "unsendable":
        return False
    if row.status in UNSENT or STATUS_RANK.get(status, 0) > STATUS_RANK.get(row.status, 0):
        if row.status in UNSENT:
            row.not_before = None
            row.sent_at = row.sent_at or now
        row.status = status
        row.updated_at = now
        return True
    return False


def mark_owner_unreachable(session: Session, owner_id: int | None, now: datetime) -> None:
    if owner_id is None:
        return
    owner = session.get(Owner, owner_id)
    if owner is not None and owner.unreachable_at is None:
        owner.unreachable_at = now


def window_closed_at(session: Session, owner_id: int | None) -> datetime | None:
    if owner_id is None:
        return None
    return session.scalar(
        select(func.max(OutboxEvent.created_at)).where(OutboxEvent.owner_id == owner_id,
                                                       OutboxEvent.event == "window_closed")
    )


def retry_as_template(session: Session, row: OutboxMessage, now: datetime) -> None:
    """WhatsApp closed the window under a free-text message (63016): note it for the owner and
    queue the same message again; the sender then uses the kind's template, or records it
    unsendable. The copy's dedupe key makes repeated callbacks harmless."""
    add_event(session, row, "window_closed", "WhatsApp refused free text: outside the 24-hour window",
              code=WINDOW_CLOSED_CODE)
    try:
        with session.begin_nested():
            session.add(OutboxMessage(
                owner_id=row.owner_id, channel=row.channel, address=row.address, kind=row.kind,
                priority=row.priority, text=row.text, options=list(row.options or []),
                template_vars=dict(row.template_vars or {}), dedupe_key=f"63016:{row.id}",
                status="pending", attempts=0, created_at=now,
            ))
    except IntegrityError:
        pass


def record_delivery_status(db: Database, update) -> bool:
    """Store a delivery callback (bot.channels.whatsapp.StatusUpdate) monotonically."""
    now = utcnow()
    with db.session() as session:
        row = None
        if update.outbox_id is not None:
            row = session.get(OutboxMessage, update.outbox_id, with_for_update=True)
            if row is not None and row.provider_id and update.message_sid not in row.provider_id.split(","):
                row = None  # a callback for another send of this row; find that one by its id
        if row is None:
            row = session.scalars(
                select(OutboxMessage).where(OutboxMessage.provider_id == update.message_sid).with_for_update()
            ).first()
        if row is None:
            log.info("delivery callback for an unknown message %s", update.message_sid)
            return False
        if not row.provider_id:
            # The sender died before recording Twilio's answer: the callback tells us Twilio has it.
            row.provider_id = update.message_sid
        was = row.status
        moved = advance_status(row, update.status, now)
        if moved and update.status == "failed":
            row.error = f"twilio {update.provider_status} {update.error_code or ''}".strip()
            add_event(session, row, "failed", row.error, code=update.error_code)
            if update.error_code == WINDOW_CLOSED_CODE:
                retry_as_template(session, row, now)
            elif update.error_code == BLOCKED_CODE:
                mark_owner_unreachable(session, row.owner_id, now)
                add_event(session, row, "unreachable", "owner blocked or unsubscribed", code=BLOCKED_CODE)
        log.info("delivery status outbox=%s %s -> %s%s", row.id, was, row.status, "" if moved else " (kept)")
        return moved


# --- the sender ------------------------------------------------------------------------------
@dataclass
class Stats:
    sent: int = 0
    failed: int = 0
    retried: int = 0
    unsendable: int = 0


class Sender:
    def __init__(self, db: Database, channels: dict[str, Channel], settings: Settings,
                 channel_settings: ChannelSettings):
        self.db = db
        self.channels = channels
        self.settings = settings
        self.cs = channel_settings
        self.stats = Stats()
        self._wake: asyncio.Event | None = None  # made in the loop that runs the lanes
        self.lanes = {name: Lane(self, channel) for name, channel in channels.items()}

    def wake(self) -> None:
        """New messages are waiting (call from the event loop the sender runs in)."""
        if self._wake is not None:
            self._wake.set()

    # --- claim ----------------------------------------------------------------------------
    def claim(self, channel: Channel, limit: int, address: str | None = None,
              max_priority: int | None = None) -> list[OutboxItem]:
        now = utcnow()
        lease = timedelta(seconds=self.cs.sender_lease_seconds)
        O = OutboxMessage
        earlier = aliased(OutboxMessage)
        blocked_by_earlier = exists().where(
            earlier.channel == O.channel, earlier.address == O.address, earlier.id < O.id,
            earlier.status.in_(UNSENT), earlier.priority <= O.priority,
        )
        due = or_(
            and_(O.status == "pending", or_(O.not_before.is_(None), O.not_before <= now)),
            and_(O.status == "sending", O.not_before <= now),  # the lease ran out: the sender died
        )
        query = select(O).where(O.channel == channel.name, due, ~blocked_by_earlier)
        if address is not None:
            query = query.where(O.address == address)
        if max_priority is not None:
            query = query.where(O.priority <= max_priority)
        query = query.order_by(O.priority, O.id).limit(limit).with_for_update(skip_locked=True, of=O)
        items: list[OutboxItem] = []
        with self.db.session() as session:
            rows = session.scalars(query).all()
            owner_ids = {row.owner_id for row in rows if row.owner_id is not None}
            owners = {o.id: o for o in session.scalars(select(Owner).where(Owner.id.in_(owner_ids)))} if owner_ids else {}
            for row in rows:
                item = self._claim_row(session, channel, row, owners.get(row.owner_id), now, lease)
                if item is not None:
                    items.append(item)
        return items

    def _claim_row(self, session: Session, channel: Channel, row: OutboxMessage, owner: Owner | None,
                   now: datetime, lease: timedelta) -> OutboxItem | None:
        if row.provider_id:
            # Accepted by the provider after all (a callback arrived while the row was in doubt).
            advance_status(row, "sent", now)
            row.error = None
            return None
        if row.status == "sending":
            log.warning("outbox %s in doubt: its sender stopped mid-send; sending again", row.id)
            add_event(session, row, "in_doubt_resend", "lease ran out without an answer from the provider")
        reason = self._policy(row, owner, now)
        if isinstance(reason, datetime):
            row.status, row.not_before, row.updated_at = "pending", reason, now
            return None
        try:
            if reason:
                raise Unsendable(reason)
            closed = window_closed_at(session, row.owner_id) if channel.name == "whatsapp" else None
            outgoing = channel.prepare(row, owner, now, closed)
        except Unsendable as exc:
            self._unsendable(session, row, str(exc), now)
            return None
        row.status = "sending"
        row.attempts = (row.attempts or 0) + 1
        row.not_before = now + lease
        row.updated_at = now
        return OutboxItem(id=row.id, owner_id=row.owner_id, channel=row.channel, address=row.address,
                          kind=row.kind, priority=row.priority, attempt=row.attempts, outgoing=outgoing)

    def _policy(self, row: OutboxMessage, owner: Owner | None, now: datetime) -> str | datetime | None:
        """None: may go now; a datetime: hold until then; a string: unsendable, for this reason."""
        if owner is not None:
            if owner.unreachable_at is not None:
                return f"owner unreachable since {as_utc(owner.unreachable_at).isoformat()} (blocked or unsubscribed)"
            if owner.opted_out_at is not None and row.kind not in ALWAYS_TO_OPTED_OUT:
                return f"owner opted out (BERHENTI/STOP) at {as_utc(owner.opted_out_at).isoformat()}"
        if row.kind in QUIET_KINDS:
            period = quiet_period(now, self.settings.quiet_start_hour, self.settings.quiet_end_hour)
            if period is not None:
                start, end = period
                wrote_tonight = owner is not None and owner.last_inbound_at is not None \
                    and as_utc(owner.last_inbound_at) >= start
                if not wrote_tonight:
                    return end
        return None

    def _unsendable(self, session: Session, row: OutboxMessage, reason: str, now: datetime) -> None:
        row.status, row.error, row.not_before, row.updated_at = "unsendable", reason, None, now
        add_event(session, row, "unsendable", reason)
        self.stats.unsendable += 1
        log.info("outbox %s unsendable: %s", row.id, reason)

    # --- record ---------------------------------------------------------------------------
    def record_sent(self, item: OutboxItem, result: SendResult) -> None:
        now = utcnow()
        with self.db.session() as session:
            row = session.get(OutboxMessage, item.id, with_for_update=True)
            if row is None:
                return  # the owner's data was erased meanwhile
            if row.attempts != item.attempt:
                log.warning("outbox %s was taken over by another sender while attempt %s was in flight",
                            row.id, item.attempt)
            row.provider_id = row.provider_id or result.provider_id
            advance_status(row, "sent", now)
            row.error = None
        self.stats.sent += 1

    def record_failure(self, item: OutboxItem, exc: ChannelError) -> float | None:
        """Store a failed send. Returns seconds to pause the whole channel (rate limit), if any."""
        now = utcnow()
        pause = None
        with self.db.session() as session:
            row = session.get(OutboxMessage, item.id, with_for_update=True)
            if row is None:
                return None
            if row.status != "sending" or row.attempts != item.attempt:
                # A delivery callback already says the provider has it, or another sender took over.
                log.info("outbox %s: failure of attempt %s ignored (now %s)", row.id, item.attempt, row.status)
                return None
            error = str(exc)[:1000]
            row.updated_at = now
            if isinstance(exc, RecipientUnreachable):
                row.status, row.error, row.not_before = "unsendable", error, None
                mark_owner_unreachable(session, row.owner_id, now)
                add_event(session, row, "unreachable", error, code=exc.code)
                self.stats.unsendable += 1
            elif isinstance(exc, WindowClosed) and item.outgoing.form != "template" \
                    and row.attempts < self.cs.sender_max_attempts:
                add_event(session, row, "window_closed", error, code=exc.code)
                row.status, row.error, row.not_before = "pending", error, None  # next claim: template or unsendable
            elif isinstance(exc, TransientError):
                if exc.rate_limited:
                    pause = exc.retry_after or 1.0
                if row.attempts >= self.cs.sender_max_attempts:
                    row.status, row.not_before = "failed", None
                    row.error = f"gave up after {row.attempts} attempts: {error}"
                    add_event(session, row, "failed", row.error, code=exc.code)
                    self.stats.failed += 1
                else:
                    delay = exc.retry_after if exc.retry_after is not None else self.backoff(row.attempts)
                    if exc.in_doubt:
                        delay = max(delay, self.cs.sender_lease_seconds)  # give a callback time to arrive
                    row.status, row.error = "pending", error
                    row.not_before = now + timedelta(seconds=delay)
                    add_event(session, row, "retry", f"in {delay:.1f}s: {error}", code=exc.code)
                    self.stats.retried += 1
            else:
                row.status, row.error, row.not_before = "failed", error, None
                add_event(session, row, "failed", error, code=exc.code)
                self.stats.failed += 1
            log.info("outbox %s attempt %s: %s -> %s", row.id, item.attempt, type(exc).__name__, row.status)
        return pause

    def backoff(self, attempts: int) -> float:
        base = self.cs.sender_backoff_seconds * (2 ** max(0, attempts - 1))
        return min(MAX_BACKOFF, base) * (1 + random.random() * 0.1)

    # --- running --------------------------------------------------------------------------
    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; in-flight sends finish before this returns."""
        self._wake = asyncio.Event()
        try:
            await asyncio.gather(*(lane.run(stop) for lane in self.lanes.values()))
        finally:
            for channel in self.channels.values():
                await channel.close()

    async def drain(self, idle_rounds: int = 2) -> Stats:
        """Send everything that is due now, then return (tests, benchmarks, `umkm-bot sender --drain`)."""
        self._wake = asyncio.Event()
        try:
            await asyncio.gather(*(lane.run(None, idle_rounds=idle_rounds) for lane in self.lanes.values()))
        finally:
            for channel in self.channels.values():
                await channel.close()
        return self.stats

    def drain_sync(self) -> Stats:
        return asyncio.run(self.drain())


class Lane:
    """One channel's share of the sender: claims, paces and sends that channel's messages."""

    def __init__(self, sender: Sender, channel: Channel):
        self.sender = sender
        self.channel = channel
        self.limiter = RateLimiter(channel.rate, burst=1)
        self.chats = ChatLimiters(channel.per_chat_rate, channel.per_chat_burst) if channel.per_chat_rate else None
        self.max_in_flight = max(1, channel.max_in_flight)
        self.tasks: set[asyncio.Task] = set()

    def batch_size(self, room: int) -> int:
        # About a second's worth: claimed rows wait for their rate slot while holding a lease.
        return max(1, min(room, int(self.channel.rate) or 1))

    async def run(self, stop: asyncio.Event | None, idle_rounds: int | None = None) -> None:
        idle = 0
        poll = self.sender.cs.sender_poll_seconds
        try:
            while stop is None or not stop.is_set():
                room = self.max_in_flight - len(self.tasks)
                if room <= 0:
                    await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    items = await asyncio.to_thread(self.sender.claim, self.channel, self.batch_size(room))
                except Exception:  # the database is away for a moment: keep the lane alive
                    log.exception("%s: claiming from the outbox failed", self.channel.name)
                    items = []
                    if idle_rounds is not None:
                        raise
                for item in items:
                    task = asyncio.create_task(self.deliver(item))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                if items:
                    idle = 0
                    continue
                if idle_rounds is not None and not self.tasks:
                    idle += 1
                    if idle >= idle_rounds:
                        return
                wake = self.sender._wake
                waiters = [asyncio.ensure_future(wake.wait())]
                if stop is not None:
                    waiters.append(asyncio.ensure_future(stop.wait()))
                if self.tasks:
                    waiters.append(asyncio.ensure_future(asyncio.wait(set(self.tasks))))
                done, pending = await asyncio.wait(waiters, timeout=poll, return_when=asyncio.FIRST_COMPLETED)
                for waiter in pending:
                    waiter.cancel()
                wake.clear()
        finally:
            if self.tasks:
                await asyncio.gather(*self.tasks, return_exceptions=True)

    async def deliver(self, item: OutboxItem) -> None:
        """Send one message, then the same owner's next reply right away, keeping their order."""
        while item is not None:
            ok = await self.send_one(item)
            if not ok or item.priority > 0:
                return
            follow = await asyncio.to_thread(self.sender.claim, self.channel, 1, item.address, 0)
            item = follow[0] if follow else None

    async def send_one(self, item: OutboxItem) -> bool:
        await self.limiter.acquire()
        chat = self.chats.get(item.address) if self.chats is not None else None
        if chat is not None:
            await chat.acquire()
        try:
            result = await self.channel.send(item)
        except ChannelError as exc:
            pause = await asyncio.to_thread(self.sender.record_failure, item, exc)
            if pause:
                log.warning("%s rate limited by the provider: pausing %.1fs", self.channel.name, pause)
                self.limiter.pause(pause)
            return False
        except Exception as exc:  # a bug or an unexpected library error: the message may have gone out
            log.exception("outbox %s: unexpected error while sending", item.id)
            await asyncio.to_thread(self.sender.record_failure, item,
                                    TransientError(f"unexpected {type(exc).__name__}: {exc}", in_doubt=True))
            return False
        if chat is not None:
            chat.sent()
        await asyncio.to_thread(self.sender.record_sent, item, result)
        return True
