"""How long one /metrics scrape takes when the outbox is large (the database gauges are queried at
scrape time: inbox and outbox depth and age, open cases, SLA breaches).

    .venv/bin/python bench/ops_metrics_scrape.py [--rows 100000] [--database postgres|sqlite|both]

PostgreSQL comes from TEST_POSTGRES_URL (an admin URL; `make bench` sets it): a scratch database
is created and dropped. The outbox is filled first (not timed) with rows spread over the five
kinds and the usual statuses (mostly sent/delivered, a few pending); then 20 scrapes are timed.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import insert  # noqa: E402

from bot import metrics  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from storage.models.channels import ChannelInbox  # noqa: E402
from storage.scratch import create_database, drop_database  # noqa: E402

KINDS = ("reply", "reply", "reply", "reminder", "broadcast", "broadcast", "relay", "alert")
STATUSES = ("delivered",) * 6 + ("sent", "read", "failed", "unsendable", "pending", "sending")


def fill(db: Database, rows: int) -> None:
    now = utcnow()
    batch = []
    with db.session() as session:
        for number in range(rows):
            batch.append({"channel": "whatsapp", "address": f"+62812{number:08d}", "kind": KINDS[number % len(KINDS)],
                          "priority": 0, "text": "x", "options": [], "template_vars": {}, "attempts": 1,
                          "status": STATUSES[number % len(STATUSES)],
                          "created_at": now - timedelta(seconds=number % 86400)})
            if len(batch) == 5000:
                session.execute(insert(OutboxMessage), batch)
                batch = []
        if batch:
            session.execute(insert(OutboxMessage), batch)
        session.execute(insert(ChannelInbox), [
            {"channel": "whatsapp", "message_id": f"SM{n}", "address": f"+62813{n:08d}", "payload": {},
             "status": ("done", "pending", "failed")[n % 3], "attempts": 1, "received_at": now}
            for n in range(max(1, rows // 100))])


def measure(db: Database, rows: int) -> dict:
    fill(db, rows)
    metrics.render(db)  # warm up
    times = []
    for _ in range(20):
        started = time.perf_counter()
        body = metrics.render(db)
        times.append(time.perf_counter() - started)
    return {"rows": rows, "p50_ms": statistics.median(times) * 1000, "max_ms": max(times) * 1000,
            "bytes": len(body)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
    args = parser.parse_args()
    results = []
    if args.database in ("sqlite", "both"):
        with tempfile.TemporaryDirectory() as folder:
            db = Database(f"sqlite:///{folder}/bench.sqlite3")
            db.migrate()
            results.append(("sqlite", measure(db, args.rows)))
            db.dispose()
    admin = os.environ.get("TEST_POSTGRES_URL", "")
    if args.database in ("postgres", "both") and admin:
        url = create_database(admin, prefix="umkm_bench")
        try:
            db = Database(url)
            db.migrate()
            results.append(("postgres", measure(db, args.rows)))
            db.dispose()
        finally:
            drop_database(admin, url)
    for name, figures in results:
        print(f"/metrics scrape, {name}, outbox {figures['rows']:,} rows: p50 {figures['p50_ms']:.0f} ms, "
              f"max {figures['max_ms']:.0f} ms, {figures['bytes']:,} bytes")


if __name__ == "__main__":
    main()
