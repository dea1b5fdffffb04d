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
