"""Owners and events for the broadcast tests, written straight to the database."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import itertools

from sqlalchemy import insert

from storage.models import Owner

CONSENTED = datetime(2026, 1, 10, 3, 0, tzinfo=timezone.utc)
_ADDRESSES = itertools.count(1000000)


def make_owner(session, **fields) -> Owner:
    defaults = dict(channel="whatsapp", lang="id", consent_at=CONSENTED, registered_at=CONSENTED,
                    products=[], has_permits=[], sector="food", city="jakarta-timur", district="cakung")
    defaults.update(fields)
    if "address" not in defaults:
        defaults["address"] = f"+62812{next(_ADDRESSES):07d}"
    owner = Owner(**defaults)
    session.add(owner)
    session.flush()
    return owner


def bulk_owners(db, count: int, start: int = 0, **fields) -> None:
    """Many reachable owners at once (for the bulk tests and benchmarks)."""
    now = datetime.now(timezone.utc)
    rows = [
        dict(channel="whatsapp", address=f"+6281{start + i:09d}", lang="id" if i % 10 else "en",
             consent_at=CONSENTED, registered_at=CONSENTED - timedelta(days=i % 300), name=f"Pemilik {start + i}",
             business_name=None, sector=("food", "cosmetics", "herbal")[i % 3], products=["keripik"] if i % 2 else [],
             city="jakarta-timur", district="cakung", has_permits=["nib"], created_at=now, **fields)
        for i in range(count)
    ]
    with db.engine.begin() as conn:
        for start_at in range(0, len(rows), 10000):
            conn.execute(insert(Owner.__table__), rows[start_at:start_at + 10000])


def write_queued(db, content, now=None) -> int:
    """What running senders do, claim after claim: write the outbox message of every recipient
    the queued broadcasts recorded (bot/broadcasts.py `feed_outbox`), here all of them at once."""
    from sqlalchemy import select

    from bot import broadcasts
    from storage.models.events import BroadcastQueued

    written = 0
    with db.session() as session:
        channels = set(session.scalars(select(BroadcastQueued.channel).distinct()))
    for channel in sorted(channels):
        while True:
            with db.session() as session:
                if not broadcasts.has_queued(session, channel):
                    break
                written += broadcasts.feed_outbox(session, content, now, channel=channel)
    return written
