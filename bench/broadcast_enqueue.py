"""Queue one broadcast to 100,000 owners and print how long it takes, next to raw-SQL floors.

    .venv/bin/python bench/broadcast_enqueue.py [--owners 100000] [--database postgres|sqlite|both]
                                                [--claim 80] [--feed-rows 20000]

PostgreSQL comes from TEST_POSTGRES_URL (an admin URL; `make bench` sets it): a scratch database is
created and dropped. The owners are inserted first (not timed). Then, timed separately:
  floor    measured first, in the same database, each rolled back:
             recipients  one raw INSERT ... SELECT of every owner into `broadcast_queue`: what
                         queueing writes now (the floor of this shape);
             old outbox  one raw INSERT ... SELECT of a fixed text for every owner into the outbox,
                         and the same plus the `broadcast_recipients` rows: what queueing wrote
                         before (outbox rows at enqueue time), for comparison
  plan     the preview: segment query + rendering the Jinja2 message for every owner (validation)
  enqueue  the broadcast's recipients recorded: one INSERT ... SELECT from owners per chunk of 10,000
           into `broadcast_queue`; no outbox row, no text
  again    a second enqueue of the same broadcast (a restart): must record 0
  feed     the part moved to the sender: writing `--feed-rows` recipients' outbox messages (rendered
           in the owner's words) in transactions of one claim's worth (`--claim` rows), as the
           sender's claims do (bot/broadcasts.py `feed_outbox`); messages per second
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import func, select, text  # noqa: E402

from bot import broadcasts  # noqa: E402
from bot.content import get_content  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from storage.models.events import Broadcast, BroadcastQueued, BroadcastRecipient  # noqa: E402
from storage.scratch import create_database, drop_database  # noqa: E402
from tests.broadcasts.factories import bulk_owners  # noqa: E402

MESSAGE = ("Halo {{ first_name or 'Bapak/Ibu' }}, ada Pelatihan Cara Produksi yang Baik (GMP) 72 jam "
           "untuk usaha {{ sector }} di {{ city }}. Produk Anda: {{ products or '-' }}. Balas DAFTAR untuk ikut.")

FLOOR_RECIPIENTS = "INSERT INTO broadcast_queue (broadcast_id, channel, owner_id) SELECT 0, channel, id FROM owners"
FLOOR_OUTBOX = (
    "INSERT INTO outbox (owner_id, channel, address, kind, priority, text, options, template_vars,"
    " dedupe_key, status, attempts, created_at) SELECT id, channel, address, 'broadcast', 20,"
    " 'Halo, ada Pelatihan GMP. Balas DAFTAR untuk ikut.', '[]', '{}', 'floor:' || id, 'pending', 0,"
    " created_at FROM owners"
)


def floors(db: Database) -> dict[str, float]:
    """The raw-SQL floors in the same database, each one statement (two on SQLite) rolled back."""
    statements = {
        "recipients": [FLOOR_RECIPIENTS],
        "outbox": [FLOOR_OUTBOX],
        "outbox_recipients": (
            [f"WITH written AS ({FLOOR_OUTBOX} RETURNING id, owner_id) INSERT INTO broadcast_recipients"
             " (broadcast_id, owner_id, outbox_id) SELECT 0, owner_id, id FROM written"] if db.is_postgres else
            [FLOOR_OUTBOX, "INSERT INTO broadcast_recipients (broadcast_id, owner_id, outbox_id)"
                           " SELECT 0, owner_id, id FROM outbox"]),
    }
    timings = {}
    for name, sqls in statements.items():
        with db.engine.connect() as conn:
            transaction = conn.begin()
            started = time.perf_counter()
            for sql in sqls:
                conn.execute(text(sql))
            timings[name] = time.perf_counter() - started
            transaction.rollback()
    return timings


def feed(db: Database, content, claim: int, rows: int) -> tuple[int, float]:
    """Write `rows` queued recipients' messages in transactions of `claim` rows, as the sender does."""
    written = 0
    started = time.perf_counter()
    while written < rows:
        with db.session() as session:
            n = broadcasts.feed_outbox(session, content, channel="whatsapp", limit=claim)
        if n == 0:
            break
        written += n
    return written, time.perf_counter() - started


def run(db: Database, owners: int, claim: int, feed_rows: int) -> dict:
    content = get_content()
    bulk_owners(db, owners)
    floor = floors(db)
    started = time.perf_counter()
    with db.session() as session:
        broadcast, checked = broadcasts.create(session, content, segment="all", template=MESSAGE)
    planned = time.perf_counter() - started
    started = time.perf_counter()
    recorded = broadcasts.enqueue(db, content, broadcast.id)
    enqueued = time.perf_counter() - started
    started = time.perf_counter()
    again = broadcasts.enqueue(db, content, broadcast.id)
    # A restart mid-way: the broadcast is "queuing" again and every recipient is recorded already.
    with db.session() as session:
        session.get(Broadcast, broadcast.id).status = "queuing"
    again += broadcasts.enqueue(db, content, broadcast.id)
    repeated = time.perf_counter() - started
    with db.session() as session:
        queued = session.scalar(select(func.count()).select_from(BroadcastQueued))
        stored = session.get(Broadcast, broadcast.id)
        assert (stored.status, stored.queued_count) == ("queued", owners), (stored.status, stored.queued_count)
    assert recorded == owners == queued == checked.recipients, (recorded, owners, queued)
    assert again == 0
    fed, fed_s = feed(db, content, claim, min(feed_rows, owners))
    with db.session() as session:
        rows = session.scalar(select(func.count()).select_from(OutboxMessage))
        linked = session.scalar(select(func.count()).select_from(BroadcastRecipient))
        left = session.scalar(select(func.count()).select_from(BroadcastQueued))
    assert fed == rows == linked == owners - left, (fed, rows, linked, left)
    return {"owners": owners, "plan_s": planned, "enqueue_s": enqueued, "again_s": repeated,
            "rows_per_s": recorded / enqueued, "floor": floor, "fed": fed, "fed_s": fed_s, "claim": claim}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--claim", type=int, default=80, help="recipients written per transaction (one claim)")
    parser.add_argument("--feed-rows", type=int, default=20_000, help="recipients the sender's part writes (0: none)")
    args = parser.parse_args()
    kinds = ["postgres", "sqlite"] if args.database == "both" else [args.database]
    for kind in kinds:
        if kind == "postgres":
            admin = os.environ.get("TEST_POSTGRES_URL")
            if not admin:
                print("postgres: skipped (TEST_POSTGRES_URL not set)")
                continue
            url = create_database(admin, "umkm_bench")
            cleanup = partial(drop_database, admin, url)
        else:
            folder = tempfile.TemporaryDirectory()
            url, cleanup = f"sqlite:///{folder.name}/bench.sqlite3", folder.cleanup
        db = Database(url)
        load = os.getloadavg()[0]
        try:
            db.migrate()
            r = run(db, args.owners, args.claim, args.feed_rows)
        finally:
            db.dispose()
            cleanup()
        f = r["floor"]
        print(f"{kind}: {r['owners']:,} recipients: enqueue {r['enqueue_s']:.2f}s ({r['rows_per_s']:,.0f}/s) | "
              f"floor (raw INSERT ... SELECT into broadcast_queue) {f['recipients']:.2f}s, "
              f"enqueue/floor {r['enqueue_s'] / f['recipients']:.1f}x | old outbox-row floor {f['outbox']:.2f}s, "
              f"{f['outbox_recipients']:.2f}s with recipient rows | restart re-enqueue {r['again_s']:.2f}s "
              f"recording 0 | preview/validation {r['plan_s']:.2f}s | sender writes the messages: "
              f"{r['fed']:,} in {r['fed_s']:.2f}s = {r['fed'] / r['fed_s']:,.0f} msgs/s in claims of {r['claim']} "
              f"(load average {load:.1f} at start on {os.cpu_count()} CPUs)", flush=True)


if __name__ == "__main__":
    main()
