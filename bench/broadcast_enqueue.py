"""Write one broadcast to 100,000 owners into the outbox and print how long it takes.

    .venv/bin/python bench/broadcast_enqueue.py [--owners 100000] [--database postgres|sqlite|both]

PostgreSQL comes from TEST_POSTGRES_URL (an admin URL; `make bench` sets it): a scratch database is
created and dropped. The owners are inserted first (not timed). Then, timed separately:
  plan     the preview: segment query + rendering the Jinja2 message for every owner (validation)
  enqueue  one INSERT ... SELECT from owners per chunk of 10,000 (outbox rows, ON CONFLICT DO NOTHING,
           and their recipient rows); each message is written for its owner later, by the sender
  again    a second enqueue of the same broadcast (a restart): must write 0 rows
  floor    measured first, in the same database: one raw INSERT ... SELECT of a fixed text for
           every owner into the outbox, rolled back (what the database alone needs); and the same
           with the recipient rows, which a broadcast must write too
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

from sqlalchemy import func, select  # noqa: E402

from bot import broadcasts  # noqa: E402
from bot.content import get_content  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from storage.scratch import create_database, drop_database  # noqa: E402
from storage.models.events import Broadcast  # noqa: E402
from tests.broadcasts.factories import bulk_owners  # noqa: E402

MESSAGE = ("Halo {{ first_name or 'Bapak/Ibu' }}, ada Pelatihan Cara Produksi yang Baik (GMP) 72 jam "
           "untuk usaha {{ sector }} di {{ city }}. Produk Anda: {{ products or '-' }}. Balas DAFTAR untuk ikut.")


FLOOR_OUTBOX = (
    "INSERT INTO outbox (owner_id, channel, address, kind, priority, text, options, template_vars,"
    " dedupe_key, status, attempts, created_at) SELECT id, channel, address, 'broadcast', 20,"
    " 'Halo, ada Pelatihan GMP. Balas DAFTAR untuk ikut.', '[]', '{}', 'floor:' || id, 'pending', 0,"
    " created_at FROM owners"
)


def floor(db: Database) -> tuple[float, float]:
    """The raw-SQL floors in the same database, each rolled back: every owner's row into the
    outbox with one INSERT ... SELECT (same table, same indexes, one fixed text); and the same
    plus each recipient row (what a broadcast must write), PostgreSQL in one statement."""
    from sqlalchemy import text

    timings = []
    for with_recipients in (False, True):
        with db.engine.connect() as conn:
            transaction = conn.begin()
            broadcast_id = 0  # rolled back; the recipients' broadcast_id is not checked per row
            started = time.perf_counter()
            if not with_recipients:
                conn.execute(text(FLOOR_OUTBOX))
            elif db.is_postgres:
                conn.execute(text(f"WITH written AS ({FLOOR_OUTBOX} RETURNING id, owner_id) INSERT INTO"
                                  " broadcast_recipients (broadcast_id, owner_id, outbox_id)"
                                  " SELECT :b, owner_id, id FROM written"), {"b": broadcast_id})
            else:
                conn.execute(text(FLOOR_OUTBOX))
                conn.execute(text("INSERT INTO broadcast_recipients (broadcast_id, owner_id, outbox_id)"
                                  " SELECT :b, owner_id, id FROM outbox"), {"b": broadcast_id})
            timings.append(time.perf_counter() - started)
            transaction.rollback()
    return timings[0], timings[1]


def run(db: Database, owners: int) -> dict:
    content = get_content()
    bulk_owners(db, owners)
    floor_s, floor_recipients_s = floor(db)
    started = time.perf_counter()
    with db.session() as session:
        broadcast, checked = broadcasts.create(session, content, segment="all", template=MESSAGE)
    planned = time.perf_counter() - started
    started = time.perf_counter()
    written = broadcasts.enqueue(db, content, broadcast.id)
    enqueued = time.perf_counter() - started
    started = time.perf_counter()
    again = broadcasts.enqueue(db, content, broadcast.id)
    # A restart mid-way: the broadcast is "queuing" again and every row already exists.
    with db.session() as session:
        session.get(Broadcast, broadcast.id).status = "queuing"
    again += broadcasts.enqueue(db, content, broadcast.id)
    repeated = time.perf_counter() - started
    with db.session() as session:
        rows = session.scalar(select(func.count()).select_from(OutboxMessage))
    assert written == owners == rows == checked.recipients, (written, owners, rows)
    assert again == 0
    return {"owners": owners, "plan_s": planned, "enqueue_s": enqueued, "again_s": repeated,
            "rows_per_s": written / enqueued, "floor_s": floor_s,
            "floor_recipients_s": floor_recipients_s}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
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
        try:
            db.migrate()
            r = run(db, args.owners)
        finally:
            db.dispose()
            cleanup()
        print(f"{kind}: {r['owners']} recipients: preview/validation {r['plan_s']:.2f}s, "
              f"enqueue {r['enqueue_s']:.2f}s ({r['rows_per_s']:,.0f} rows/s), "
              f"restart re-enqueue {r['again_s']:.2f}s writing 0 rows | raw-SQL floor {r['floor_s']:.2f}s "
              f"(one INSERT ... SELECT into the outbox), {r['floor_recipients_s']:.2f}s with the recipient rows; "
              f"enqueue/floor {r['enqueue_s'] / r['floor_s']:.1f}x, {r['enqueue_s'] / r['floor_recipients_s']:.1f}x "
              f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)", flush=True)


if __name__ == "__main__":
    main()
