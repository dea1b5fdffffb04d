"""Outgoing webhooks: other systems hear when an owner registers, a permit step is done, or a mentor
case opens or is resolved.

The outbox pattern, with the database as the source of truth: `collect()` looks at what happened
(registrations, done pathway steps, cases opened and resolved) since each subscription was made and
queues one `webhook_deliveries` row per event and subscription. The row's `event_key` is unique per
subscription, so collecting twice, from two processes or after a restart, never queues an event
twice. `deliver_due()` claims due rows (`FOR UPDATE SKIP LOCKED` on PostgreSQL, with a lease so a
crashed sender's rows come back), POSTs them signed, and records the answer: 2xx is delivered, any
other answer or no answer is retried on BACKOFF, then recorded `failed`. Nothing in the feature
areas had to change to emit events, and an event can never be lost between a state change and its
webhook.

Each POST carries:
    X-UMKM-Event: owner_registered | permit_step_done | case_opened | case_resolved
    X-UMKM-Delivery: the delivery id (the same on every retry: receivers de-duplicate with it)
    X-UMKM-Timestamp: Unix seconds
    X-UMKM-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>" with the subscription's secret>

Payloads hold ids, names and statuses, never phone numbers or message text. Deliveries about an
owner are erased with the owner (HAPUS DATA).
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import time
from datetime import datetime, timedelta
from typing import Any, Iterable

import httpx
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot import locations
from bot.clock import utcnow
from bot.content import Content
from bot.dashboard.owners import DONE
from storage.db import Database
from storage.models import Owner, Ticket
from storage.models.api import WebhookDelivery, WebhookSubscription
from storage.models.legality import PathwayStep

log = logging.getLogger(__name__)

EVENTS = ("owner_registered", "permit_step_done", "case_opened", "case_resolved")
BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(hours=1),
           timedelta(hours=6), timedelta(hours=24))
LEASE = timedelta(seconds=90)  # a claimed row comes back after this if its sender died mid-send
LOOKBACK = timedelta(days=7)  # how far back one collect looks (the unique key stops repeats)
TIMEOUT = 10.0
_URL = re.compile(r"^https?://[^\s/]+", re.IGNORECASE)


class WebhookError(ValueError):
    pass


def subscribe(session: Session, content: Content, name: str, url: str, events: list[str],
              area: str = "", by: str = "cli") -> tuple[WebhookSubscription, str]:
    name = (name or "").strip().lower()
    if not re.fullmatch(r"[a-z0-9][a-z0-9._-]{2,63}", name):
        raise WebhookError("name: 3-64 characters, lower-case letters, digits, dot, dash or underscore")
    if not _URL.match(url or "") or len(url) > 2000:
        raise WebhookError("url: an http:// or https:// address")
    unknown = [e for e in events if e not in EVENTS]
    if unknown or not events:
        raise WebhookError(f"events: one or more of {', '.join(EVENTS)}" + (f" (unknown: {', '.join(unknown)})" if unknown else ""))
    if area and locations.area_by_key(content, area) is None:
        raise WebhookError(f"area {area!r} is not a city area key")
    secret = secrets.token_urlsafe(32)
    sub = WebhookSubscription(name=name, url=url, secret=secret, events=sorted(set(events)), area=area,
                              active=True, created_by=by[:64], created_at=utcnow())
    session.add(sub)
    session.flush()
    return sub, secret


def sign(secret: str, timestamp: int, body: bytes) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def verify(secret: str, timestamp: str, body: bytes, signature: str, tolerance: int = 300,
           now: float | None = None) -> bool:
    """What a receiver does (and our tests do): a fresh timestamp and a matching signature."""
    try:
        ts = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs((now or time.time()) - ts) > tolerance:
        return False
    return hmac.compare_digest(sign(secret, ts, body), signature or "")


# --- collecting events ---------------------------------------------------------------------------
def _owner_part(owner: Owner) -> dict[str, Any]:
    return {"id": owner.id, "name": owner.name, "business_name": owner.business_name, "sector": owner.sector,
            "city": owner.city, "district": owner.district}


def _events_since(session: Session, event: str, since: datetime, area: str) -> Iterable[tuple[str, int, datetime, dict]]:
    """(event_key, owner_id, occurred_at, payload) of one kind of event since `since`."""
    in_area = [Owner.city == area] if area else []
    if event == "owner_registered":
        for owner in session.scalars(select(Owner).where(Owner.registered_at >= since, *in_area)):
            yield f"{event}:{owner.id}", owner.id, owner.registered_at, {"owner": _owner_part(owner)}
    elif event == "permit_step_done":
        rows = session.execute(select(PathwayStep, Owner).join(Owner, Owner.id == PathwayStep.owner_id)
                               .where(PathwayStep.status == DONE, PathwayStep.updated_at >= since, *in_area))
        for step, owner in rows:
            yield (f"{event}:{step.id}", owner.id, step.completed_at or step.updated_at,
                   {"owner": _owner_part(owner), "step": {"id": step.id, "step": step.step, "permit_kind": step.permit_kind,
                                                         "number": step.number, "product_id": step.product_id}})
    elif event in ("case_opened", "case_resolved"):
        column = Ticket.created_at if event == "case_opened" else Ticket.resolved_at
        rows = session.execute(select(Ticket, Owner).join(Owner, Owner.id == Ticket.owner_id)
                               .where(column >= since, *in_area))
        for ticket, owner in rows:
            yield (f"{event}:{ticket.id}", owner.id, getattr(ticket, "created_at" if event == "case_opened" else "resolved_at"),
                   {"owner": _owner_part(owner), "case": {"id": ticket.id, "topic": ticket.topic.split(":")[0],
                                                         "status": ticket.status, "rating": ticket.rating}})


def collect(db: Database, now: datetime | None = None) -> int:
    """Queue every new event for every active subscription; returns how many were new."""
    now = now or utcnow()
    insert = pg_insert if db.is_postgres else sqlite_insert
    queued = 0
    with db.session() as session:
        for sub in session.scalars(select(WebhookSubscription).where(WebhookSubscription.active.is_(True))):
            since = max(sub.created_at, now - LOOKBACK)
            rows = []
            for event in sub.events:
                for key, owner_id, occurred_at, payload in _events_since(session, event, since, sub.area):
                    rows.append({"subscription_id": sub.id, "event": event, "event_key": key[:128], "owner_id": owner_id,
                                 "payload": {"event": event, "occurred_at": occurred_at.isoformat(), **payload},
                                 "status": "pending", "attempts": 0, "next_attempt_at": now, "created_at": now})
            for start in range(0, len(rows), 500):
                result = session.execute(insert(WebhookDelivery).values(rows[start:start + 500])
                                         .on_conflict_do_nothing(index_elements=["subscription_id", "event_key"])
                                         .returning(WebhookDelivery.id))
                queued += len(result.all())
    return queued


# --- delivering ----------------------------------------------------------------------------------
def _claim(db: Database, now: datetime, limit: int) -> list[tuple[int, str, str, str, bytes]]:
    with db.session() as session:
        query = (select(WebhookDelivery, WebhookSubscription)
                 .join(WebhookSubscription, WebhookSubscription.id == WebhookDelivery.subscription_id)
                 .where(WebhookDelivery.status == "pending", WebhookDelivery.next_attempt_at <= now,
                        WebhookSubscription.active.is_(True))
                 .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(limit))
        if db.is_postgres:
            query = query.with_for_update(skip_locked=True, of=WebhookDelivery)
        claimed = []
        for delivery, sub in session.execute(query):
            delivery.next_attempt_at = now + LEASE  # ours until the answer is recorded
            body = json.dumps({"id": delivery.id, **delivery.payload}, ensure_ascii=False, sort_keys=True).encode()
            claimed.append((delivery.id, delivery.event, sub.url, sub.secret, body))
        return claimed


def _record(db: Database, delivery_id: int, ok: bool, error: str | None, now: datetime) -> None:
    with db.session() as session:
        delivery = session.get(WebhookDelivery, delivery_id, with_for_update=db.is_postgres)
        if delivery is None or delivery.status != "pending":
            return
        delivery.attempts += 1
        if ok:
            delivery.status, delivery.delivered_at, delivery.last_error = "sent", now, None
        elif delivery.attempts > len(BACKOFF):
            delivery.status, delivery.last_error = "failed", error
        else:
            delivery.next_attempt_at, delivery.last_error = now + BACKOFF[delivery.attempts - 1], error


def deliver_due(db: Database, now: datetime | None = None, client: httpx.Client | None = None,
                limit: int = 100) -> tuple[int, int]:
    """Send what is due; returns (delivered, failed attempts)."""
    now = now or utcnow()
    claimed = _claim(db, now, limit)
    if not claimed:
        return 0, 0
    own_client = client is None
    client = client or httpx.Client(timeout=TIMEOUT, follow_redirects=False)
    sent = failed = 0
    try:
        for delivery_id, event, url, secret, body in claimed:
            timestamp = int(time.time())
            headers = {"Content-Type": "application/json", "User-Agent": "asisten-umkm-webhooks/1",
                       "X-UMKM-Event": event, "X-UMKM-Delivery": str(delivery_id),
                       "X-UMKM-Timestamp": str(timestamp), "X-UMKM-Signature": sign(secret, timestamp, body)}
            try:
                response = client.post(url, content=body, headers=headers)
                ok, error = 200 <= response.status_code < 300, f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                ok, error = False, type(exc).__name__
            _record(db, delivery_id, ok, None if ok else error, now)
            if ok:
                sent += 1
            else:
                failed += 1
                log.warning("webhook delivery %s (%s) failed: %s", delivery_id, event, error)
    finally:
        if own_client:
            client.close()
    return sent, failed


def webhook_job(services) -> tuple[int, int]:
    """The scheduler's job: queue new events, then deliver what is due."""
    collect(services.db)
    return deliver_due(services.db)
