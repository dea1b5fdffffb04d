"""The outbox sender: delivers what the pipeline and the features wrote to the `outbox` table.

One lane per enabled channel, each at its own rate (WHATSAPP_RATE, default 80/s; TELEGRAM_RATE,
30/s overall, and TELEGRAM_PER_CHAT_RATE, 1/s per chat with a short burst). Replies (priority 0)
go before reminders and broadcasts; within one owner, messages go out in the order they were
written, one at a time.

How a message moves
-------------------
1. Claim (one short transaction): the due rows of a channel, best priority first, each the
   first unsent message of its owner in (priority, written) order (no earlier `pending`/`sending`
   row of the same address and the same or a better priority, no later one of a better
   priority), locked with `FOR UPDATE SKIP LOCKED` on PostgreSQL so several sender processes
   never take the same row. Reminders the sweep marked get their messages written first, about a
   claim's worth (bot/reminders.py `feed_outbox`), then the recipients queued broadcasts recorded,
   about what the claim leaves of its size (bot/broadcasts.py `feed_outbox`; during quiet hours
   only those of owners who wrote tonight: the others' would be held anyway). Policy is applied
   here: an opted-out owner gets nothing but direct replies, an unreachable owner nothing, quiet
   hours (20:00-07:00 WIB) hold reminders and broadcasts until morning unless the owner wrote
   during the night, and the channel chooses the form (WhatsApp: free text inside the 24-hour
   window, else the kind's approved template, else `unsendable` with the reason). A broadcast row queued before the recipients
   queue existed gets its words here (bot/broadcasts.py `write_text`; a message that cannot be
   written is `unsendable` with the reason). A claimed row becomes `sending`, its `attempts`
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
Twilio accepted is recorded as sent by the callback and is not sent again. When no callback came
(the database was away when Twilio called), the sender asks Twilio's message list for that
recipient since the row was written (`provider_has`) and records a match instead of resending.
Telegram has neither; an in-doubt Telegram message is resent (a repeated answer is better than a
lost one).
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
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, bindparam, case, exists, func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, aliased

from bot import metrics
from bot.channels.base import (
    Channel,
    ChannelError,
    OutboxItem,
    RecipientUnreachable,
    SendResult,
    TransientError,
    Unsendable,
    WindowClosed,
)
from bot.channels.config import ChannelSettings
from bot.clock import JAKARTA, as_utc, utcnow
from bot.config import Settings
from bot.content import get_content
from storage.db import Database
from storage.models import OutboxMessage, Owner
from storage.models.channels import OutboxEvent

log = logging.getLogger(__name__)

# Monotonic order of delivery states: a callback never moves a message back.
STATUS_RANK = {"pending": 0, "sending": 1, "sent": 2, "delivered": 3, "failed": 3, "read": 4, "unsendable": 5}
UNSENT = ("pending", "sending")
FINAL = ("unsendable", "cancelled")  # never sent: no callback moves them (cancelled: a withdrawn broadcast)
QUIET_KINDS = ("reminder", "broadcast")  # conversational kinds (reply, relay, alert) go any time
ALWAYS_TO_OPTED_OUT = ("reply",)  # the answer to the owner's own message (e.g. confirming BERHENTI)
MAX_BACKOFF = 900.0
RATE_LIMIT_PAUSE = 0.1  # seconds the channel waits after a 429 that names no wait
MAX_GROUP = 8
RECORD_INTERVAL = 0.02
NIGHT_FEED_SECONDS = 5.0  # quiet hours: how often to look for night writers with a broadcast queued
DRAIN_PATIENCE = 20  # idle polls a drain waits for messages held by another sender  # an owner's messages sent back to back by one task (a turn's replies)
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
    if row.status in FINAL:
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


def windows_closed(session: Session, owner_ids) -> dict[int, datetime]:
    """When WhatsApp last told us (63016) each owner's 24-hour window was closed."""
    if not owner_ids:
        return {}
    rows = session.execute(
        select(OutboxEvent.owner_id, func.max(OutboxEvent.created_at))
        .where(OutboxEvent.owner_id.in_(list(owner_ids)), OutboxEvent.event == "window_closed")
        .group_by(OutboxEvent.owner_id)
    ).all()
    return {owner_id: closed for owner_id, closed in rows}


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


def provider_has(channel: Channel, row: OutboxMessage) -> str | None:
    """Before a send in doubt goes out again, ask the provider whether it already has it
    (Twilio's message list for that recipient since the row was written). Channels that cannot
    say (Telegram) answer None: the message is resent, a repeat is better than a loss."""
    find = getattr(channel, "find_sent", None)
    if find is None:
        return None
    try:
        return find(row.address, row.text, as_utc(row.created_at) - timedelta(minutes=5))
    except Exception as exc:  # noqa: BLE001 - the provider cannot be asked now: resend, as before
        log.warning("outbox %s in doubt: the provider's message list could not be read (%s)", row.id,
                    type(exc).__name__)
        return None


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
        self._night_feeds: dict[str, float] = {}  # channel -> when its night writers were last looked for
        self._wake: asyncio.Event | None = None  # made in the loop that runs the lanes
        self.lanes = {name: Lane(self, channel) for name, channel in channels.items()}

    def wake(self) -> None:
        """New messages are waiting (call from the event loop the sender runs in)."""
        if self._wake is not None:
            self._wake.set()

    # --- claim ----------------------------------------------------------------------------
    def claim(self, channel: Channel, limit: int) -> list[list[OutboxItem]]:
        """Claim up to `limit` due messages as groups: each group is one owner's next messages,
        in order, to be sent one after the other by one task."""
        now = utcnow()
        lease = timedelta(seconds=self.cs.sender_lease_seconds)
        O = OutboxMessage
        earlier = aliased(OutboxMessage)
        blocked_by_earlier = exists().where(
            earlier.channel == O.channel, earlier.address == O.address, earlier.id < O.id,
            earlier.status.in_(UNSENT), earlier.priority <= O.priority,
        )
        # ... nor a better-priority one written after it: a swept reminder's message is written when
        # the sender claims it (bot/reminders.py), perhaps after a broadcast row of the same owner.
        later = aliased(OutboxMessage)
        blocked_by_better = exists().where(
            later.channel == O.channel, later.address == O.address, later.id > O.id,
            later.status.in_(UNSENT), later.priority < O.priority,
        )
        due = or_(
            and_(O.status == "pending", or_(O.not_before.is_(None), O.not_before <= now)),
            and_(O.status == "sending", O.not_before <= now),  # the lease ran out: the sender died
        )
        query = (
            select(O).where(O.channel == channel.name, due, ~blocked_by_earlier, ~blocked_by_better)
            .order_by(O.priority, O.id).limit(limit).with_for_update(skip_locked=True, of=O)
        )
        groups: list[list[OutboxItem]] = []
        with self.db.session() as session:
            self._write_reminders(session, channel, limit, now)
            self._write_broadcasts(session, channel, limit, now)
            firsts = session.scalars(query).all()
            # About a second's worth in all: followers only fill what the first rows left.
            followers = self._followers(session, channel, firsts, now, budget=limit - len(firsts))
            owner_ids = {row.owner_id for row in firsts if row.owner_id is not None}
            owners = {o.id: o for o in session.scalars(select(Owner).where(Owner.id.in_(owner_ids)))} if owner_ids else {}
            closed = windows_closed(session, owner_ids) if channel.name == "whatsapp" else {}
            for first in firsts:
                group = []
                for row in [first, *followers.get(first.id, [])]:
                    item = self._claim_row(session, channel, row, owners.get(row.owner_id), now, lease,
                                           closed.get(row.owner_id))
                    if isinstance(item, OutboxItem):
                        group.append(item)
                    elif item == "hold":
                        break  # held back (quiet hours): what follows must wait behind it
                if group:
                    groups.append(group)
        return groups

    def _followers(self, session: Session, channel: Channel, firsts: list[OutboxMessage],
                   now: datetime, budget: int) -> dict[int, list[OutboxMessage]]:
        """The messages right behind each claimed one, same owner and kind of priority, so a turn's
        replies go out back to back without a claim each."""
        if not firsts or budget <= 0:
            return {}
        O = OutboxMessage
        lowest = min(row.id for row in firsts)
        by_address = {row.address: row for row in firsts if row.status == "pending"}
        if not by_address:
            return {}
        candidates = session.scalars(
            select(O).where(O.channel == channel.name, O.address.in_(list(by_address)), O.id > lowest,
                            O.status.in_(UNSENT))
            .order_by(O.id).with_for_update(of=O)
        ).all()
        followers: dict[int, list[OutboxMessage]] = {}
        closed: set[str] = set()
        for row in candidates:
            first = by_address[row.address]
            if row.address in closed or row.id <= first.id or row.priority < first.priority:
                continue
            if row.priority > first.priority:
                continue  # bulk behind a reply waits for its own claim
            group = followers.setdefault(first.id, [])
            due = row.status == "pending" and (row.not_before is None or row.not_before <= now)
            if not due or len(group) >= MAX_GROUP - 1 or budget <= 0:
                closed.add(row.address)  # keep the order: nothing after a row that cannot go now
                continue
            group.append(row)
            budget -= 1
        return followers

    def _claim_row(self, session: Session, channel: Channel, row: OutboxMessage, owner: Owner | None,
                   now: datetime, lease: timedelta, closed: datetime | None = None) -> OutboxItem | str | None:
        """The row as an item to send now; None when it needs no send (recorded); "hold" when
        policy holds it back until later."""
        if row.provider_id:
            # Accepted by the provider after all (a callback arrived while the row was in doubt).
            advance_status(row, "sent", now)
            row.error = None
            return None
        if self._in_doubt(session, row):
            sid = provider_has(channel, row)
            if sid is not None:  # it did reach the provider: record it, never send it twice
                row.provider_id = sid
                advance_status(row, "sent", now)
                row.error, row.updated_at = None, now
                add_event(session, row, "in_doubt_found", "the provider's message list has it")
                return None
        if row.status == "sending":
            log.warning("outbox %s in doubt: its sender stopped mid-send; sending again", row.id)
            add_event(session, row, "in_doubt_resend", "lease ran out without an answer from the provider")
        reason = self._policy(row, owner, now)
        if isinstance(reason, datetime):
            row.status, row.not_before, row.updated_at = "pending", reason, now
            return "hold"
        try:
            if reason:
                raise Unsendable(reason)
            self._write_text(session, row, owner)
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

    def _write_reminders(self, session: Session, channel: Channel, limit: int, now: datetime) -> None:
        """Due reminders are marked by the sweep, not written (bot/reminders.py): write about a
        claim's worth of this channel's messages into the outbox first, in this transaction."""
        from bot import reminders  # late, like broadcasts below

        reminders.feed_outbox(session, get_content(self.settings.content_dir), now, channel=channel.name,
                              limit=max(limit, 1))

    def _write_broadcasts(self, session: Session, channel: Channel, limit: int, now: datetime) -> None:
        """Queued broadcasts record their recipients, not their messages (bot/broadcasts.py): write
        the messages of about what this claim leaves room for, in this transaction. During quiet
        hours only those of owners who wrote tonight (the others would wait for the morning in the
        outbox), looked for every NIGHT_FEED_SECONDS: finding them reads every owner."""
        from bot import broadcasts  # late, like reminders above

        content = get_content(self.settings.content_dir)
        period = quiet_period(now, self.settings.quiet_start_hour, self.settings.quiet_end_hour)
        if period is None:
            broadcasts.feed_outbox(session, content, now, channel=channel.name, ahead_of_sending=max(limit, 1))
            return
        looked = self._night_feeds.get(channel.name)
        if looked is not None and time.monotonic() - looked < NIGHT_FEED_SECONDS:
            return
        self._night_feeds[channel.name] = time.monotonic()
        broadcasts.feed_outbox(session, content, now, channel=channel.name, limit=max(limit, 1),
                               wrote_since=period[0])

    def _write_text(self, session: Session, row: OutboxMessage, owner: Owner | None) -> None:
        """A broadcast is queued without its words (bot/broadcasts.py): write them for this owner
        now, once, into the row (a retry or an in-doubt check then reads the same text)."""
        if row.kind != "broadcast":
            return
        from bot import broadcasts  # late: broadcasts imports segments, events and names

        if broadcasts.needs_text(row):
            problem = broadcasts.write_text(session, row, owner, get_content(self.settings.content_dir))
            if problem is not None:
                raise Unsendable(problem)

    @staticmethod
    def _in_doubt(session: Session, row: OutboxMessage) -> bool:
        """Was this row perhaps sent already? Its sender stopped mid-send (`sending` with the lease
        run out), or an earlier attempt ended without an answer (an `in_doubt` event)."""
        if row.status == "sending":
            return True
        return bool(row.attempts) and session.scalar(
            select(OutboxEvent.id).where(OutboxEvent.outbox_id == row.id, OutboxEvent.event == "in_doubt").limit(1)
        ) is not None

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
        self.record_sent_many([(item, result)])

    def record_sent_many(self, sent: list[tuple[OutboxItem, SendResult]]) -> None:
        """One transaction for a batch of accepted messages: each gets the provider's id, and
        `sent` unless a delivery callback already moved it further."""
        if not sent:
            return
        now = utcnow()
        O = OutboxMessage
        table = O.__table__
        unsent = or_(table.c.status == "pending", table.c.status == "sending")  # no IN: executemany
        statement = update(table).where(table.c.id == bindparam("oid")).values(
            provider_id=func.coalesce(table.c.provider_id, bindparam("pid")),
            status=case((unsent, "sent"), else_=table.c.status),
            sent_at=func.coalesce(table.c.sent_at, now),
            not_before=case((unsent, None), else_=table.c.not_before),
            error=None,
            updated_at=now,
        )
        with self.db.session() as session:
            attempts = dict(session.execute(
                select(O.id, O.attempts).where(O.id.in_([item.id for item, _ in sent]))
            ).all())
            session.connection().execute(statement, [{"oid": item.id, "pid": result.provider_id}
                                                     for item, result in sent])
        for item, _ in sent:
            if item.id in attempts and attempts[item.id] != item.attempt:
                log.warning("outbox %s was taken over by another sender while attempt %s was in flight",
                            item.id, item.attempt)
        self.stats.sent += len(sent)

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
                    # Without the provider's own wait, a short pause: the limiter already paces at
                    # the configured rate, so a 429 means a momentary bunching, not a wrong rate.
                    pause = exc.retry_after or RATE_LIMIT_PAUSE
                if row.attempts >= self.cs.sender_max_attempts:
                    row.status, row.not_before = "failed", None
                    row.error = f"gave up after {row.attempts} attempts: {error}"
                    add_event(session, row, "failed", row.error, code=exc.code)
                    self.stats.failed += 1
                else:
                    if exc.retry_after is not None:
                        delay = exc.retry_after
                    elif exc.rate_limited:
                        delay = RATE_LIMIT_PAUSE * 4
                    else:
                        delay = self.backoff(row.attempts)
                    if exc.in_doubt:
                        delay = max(delay, self.cs.sender_lease_seconds)  # give a callback time to arrive
                        add_event(session, row, "in_doubt", error, code=exc.code)
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

    def has_work(self, channel: Channel) -> bool:
        """Anything of this channel due now (perhaps waiting behind another sender's send)?"""
        now = utcnow()
        O = OutboxMessage
        from bot import broadcasts, reminders

        period = quiet_period(now, self.settings.quiet_start_hour, self.settings.quiet_end_hour)
        with self.db.session() as session:
            return session.scalar(select(exists().where(
                O.channel == channel.name, O.status == "pending",
                or_(O.not_before.is_(None), O.not_before <= now),
            ))) or reminders.has_marked(session, channel.name) or broadcasts.has_queued(
                session, channel.name, wrote_since=period[0] if period is not None else None)

    def release(self, items: list[OutboxItem]) -> None:
        """Give back claimed messages that were not tried (the one before them failed): they are
        pending again, behind it, and their claim does not count as an attempt."""
        with self.db.session() as session:
            for item in items:
                row = session.get(OutboxMessage, item.id, with_for_update=True)
                if row is not None and row.status == "sending" and row.attempts == item.attempt:
                    row.status, row.not_before, row.attempts = "pending", None, item.attempt - 1

    def backoff(self, attempts: int) -> float:
        base = self.cs.sender_backoff_seconds * (2 ** max(0, attempts - 1))
        return min(MAX_BACKOFF, base) * (1 + random.random() * 0.1)

    # --- running --------------------------------------------------------------------------
    def _prepare_loop(self) -> None:
        self._wake = asyncio.Event()
        # Sends through blocking clients (twilio) and every database call run in threads; the
        # default pool (cpu count + 4) would cap the sender far below the channels' rates.
        threads = sum(lane.max_in_flight for lane in self.lanes.values()) + 8
        asyncio.get_running_loop().set_default_executor(ThreadPoolExecutor(threads, thread_name_prefix="sender"))

    async def run(self, stop: asyncio.Event) -> None:
        """Send until `stop` is set; in-flight sends finish before this returns."""
        self._prepare_loop()
        try:
            await asyncio.gather(*(lane.run(stop) for lane in self.lanes.values()))
        finally:
            for channel in self.channels.values():
                await channel.close()

    async def drain(self, idle_rounds: int = 2) -> Stats:
        """Send everything that is due now, then return (tests, benchmarks, `umkm-bot sender --drain`)."""
        self._prepare_loop()
        try:
            await asyncio.gather(*(lane.run(None, idle_rounds=idle_rounds) for lane in self.lanes.values()))
        finally:
            for channel in self.channels.values():
                await channel.close()
        return self.stats

    def drain_sync(self) -> Stats:
        return asyncio.run(self.drain())


class Recorder:
    """Records accepted sends in small batches (every RECORD_INTERVAL): one transaction for
    many messages instead of one each, which is what lets one process keep up with 80/s.
    A send's task waits for its record before the owner's next message goes out."""

    def __init__(self, sender: Sender):
        self.sender = sender
        self.waiting: list[tuple[OutboxItem, SendResult, asyncio.Future]] = []
        self.task: asyncio.Task | None = None

    async def sent(self, item: OutboxItem, result: SendResult) -> None:
        done = asyncio.get_running_loop().create_future()
        self.waiting.append((item, result, done))
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._flush())
        await done

    async def _flush(self) -> None:
        while self.waiting:
            await asyncio.sleep(RECORD_INTERVAL)  # let a few more sends finish
            batch, self.waiting = self.waiting, []
            try:
                await asyncio.to_thread(self.sender.record_sent_many, [(i, r) for i, r, _ in batch])
            except Exception as exc:
                for _, _, done in batch:
                    done.set_exception(exc)
            else:
                for _, _, done in batch:
                    done.set_result(None)


class Lane:
    """One channel's share of the sender: claims, paces and sends that channel's messages."""

    def __init__(self, sender: Sender, channel: Channel):
        self.sender = sender
        self.recorder = Recorder(sender)
        self.channel = channel
        self.limiter = RateLimiter(channel.rate, burst=1)
        self.chats = ChatLimiters(channel.per_chat_rate, channel.per_chat_burst) if channel.per_chat_rate else None
        self.max_in_flight = max(1, channel.max_in_flight)
        self.tasks: set[asyncio.Task] = set()

    def batch_size(self) -> int:
        # About a second's worth: claimed rows wait for their rate slot while holding a lease.
        return max(1, min(self.max_in_flight, int(self.channel.rate) or 1))

    async def run(self, stop: asyncio.Event | None, idle_rounds: int | None = None) -> None:
        idle = 0
        poll = self.sender.cs.sender_poll_seconds
        batch = self.batch_size()
        try:
            while stop is None or not stop.is_set():
                room = self.max_in_flight - len(self.tasks)
                if self.tasks and room < max(1, batch // 2):
                    # Claim in batches, not one row per finished send: a claim is a transaction.
                    await asyncio.wait(self.tasks, return_when=asyncio.FIRST_COMPLETED)
                    continue
                try:
                    groups = await asyncio.to_thread(self.sender.claim, self.channel, min(room, batch))
                except Exception:  # the database is away for a moment: keep the lane alive
                    log.exception("%s: claiming from the outbox failed", self.channel.name)
                    groups = []
                    if idle_rounds is not None:
                        raise
                for group in groups:
                    task = asyncio.create_task(self.deliver(group))
                    self.tasks.add(task)
                    task.add_done_callback(self.tasks.discard)
                if groups:
                    idle = 0
                    continue
                if idle_rounds is not None and not self.tasks:
                    idle += 1
                    # Draining ends when nothing is due, not merely nothing claimable here:
                    # another sender may hold an owner's earlier message for a moment.
                    if idle >= idle_rounds * DRAIN_PATIENCE or (
                            idle >= idle_rounds and not await asyncio.to_thread(self.sender.has_work, self.channel)):
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

    async def deliver(self, group: list[OutboxItem]) -> None:
        """Send one owner's claimed messages in order; after a failure, give the rest back."""
        for number, item in enumerate(group):
            if not await self.send_one(item):
                if group[number + 1:]:
                    await asyncio.to_thread(self.sender.release, group[number + 1:])
                return

    async def send_one(self, item: OutboxItem) -> bool:
        await self.limiter.acquire()
        chat = self.chats.get(item.address) if self.chats is not None else None
        if chat is not None:
            await chat.acquire()
        try:
            result = await self.channel.send(item)
        except ChannelError as exc:
            pause = await asyncio.to_thread(self.sender.record_failure, item, exc)
            metrics.send_result(self.channel.name, exc, paused=pause)
            if pause:
                log.warning("%s rate limited by the provider: pausing %.1fs", self.channel.name, pause)
                self.limiter.pause(pause)
            return False
        except Exception as exc:  # a bug or an unexpected library error: the message may have gone out
            log.exception("outbox %s: unexpected error while sending", item.id)
            metrics.send_result(self.channel.name, exc)
            await asyncio.to_thread(self.sender.record_failure, item,
                                    TransientError(f"unexpected {type(exc).__name__}: {exc}", in_doubt=True))
            return False
        metrics.send_result(self.channel.name, None)
        if chat is not None:
            chat.sent()
        try:
            await self.recorder.sent(item, result)
        except Exception:  # the database is away: the row stays `sending` and is in doubt later
            log.exception("outbox %s: sent (%s) but not recorded", item.id, result.provider_id)
            return False
        return True
