"""Benchmark: sweep due reminders for 100,000 owners into the outbox.

    .venv/bin/python bench/gmp_reminders_sweep.py [--owners 100000] [--batch 5000] [--database postgres|sqlite|both] [--runs 3]

Builds a fresh SQLite file and (when TEST_POSTGRES_URL is set, as `make bench` does) a fresh
PostgreSQL database, gives every owner one due reminder (a mix of kinds, some opted out), then
runs one `sweep_due` in a separate process and prints the wall time, the rate, and the peak
resident memory of the sweeping process (plus how much it grew during the sweep), next to a raw-SQL
floor measured in the same database just before: one INSERT ... SELECT of every due row into the
outbox and one UPDATE, rolled back.
"""
from __future__ import annotations

import argparse
import multiprocessing
import os
import resource
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from storage.scratch import scratch_database  # noqa: E402

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 09:00 in Jakarta: outside quiet hours


def _rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def populate(url: str, owners: int) -> None:
    from sqlalchemy import insert, select

    from storage.db import Database
    from storage.models import Owner
    from storage.models.reminders import Reminder, ReminderOptOut

    db = Database(url)
    db.migrate()
    chunk = 10_000
    with db.session() as s:
        for start in range(0, owners, chunk):
            s.execute(insert(Owner), [
                {"channel": "whatsapp" if i % 3 else "telegram", "address": f"+6281{i:09d}",
                 "lang": "en" if i % 10 == 0 else "id", "products": [], "has_permits": [],
                 "created_at": NOW, "opted_out_at": NOW - timedelta(days=1) if i % 50 == 0 else None}
                for i in range(start, min(start + chunk, owners))])
    with db.session() as s:
        ids = list(s.scalars(select(Owner.id).order_by(Owner.id)))
        kinds = [("self_check", {"checklist": "cppb_irt", "level": "II"}),
                 ("permit_renewal", {"permit": "pirt", "expires_on": "2027-05-01"}),
                 ("stalled_step", {"step": "pkp", "step_label": {"id": "Sertifikat PKP", "en": "PKP certificate"},
                                   "since": "2026-11-01"})]
        for start in range(0, len(ids), chunk):
            rows = []
            for n, owner_id in enumerate(ids[start:start + chunk], start):
                kind, payload = kinds[n % 3]
                rows.append({"owner_id": owner_id, "kind": kind, "subject": "", "dedupe_key": f"bench:{owner_id}",
                             "due_at": NOW - timedelta(minutes=n % 4000), "status": "pending", "occurrence": 0,
                             "snooze_count": 0, "payload": payload, "created_at": NOW, "updated_at": NOW})
            s.execute(insert(Reminder), rows)
        s.execute(insert(ReminderOptOut), [{"owner_id": oid, "kind": "stalled_step", "created_at": NOW}
                                           for oid in ids[7::97]])
    db.dispose()


def sweep_child(url: str, batch: int, out) -> None:
    from bot.content import Content
    from bot.reminders import sweep_due
    from storage.db import Database

    content = Content(REPO / "content")
    db = Database(url)
    before = _rss_mb()
    started = time.perf_counter()
    report = sweep_due(db, content, NOW, batch_size=batch)
    elapsed = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    db.dispose()
    out.put({"elapsed": elapsed, "peak_mb": peak, "before_mb": before, "queued": report.queued,
             "suppressed": report.suppressed, "batches": report.batches})


FLOOR_SQL = (
    "INSERT INTO outbox (owner_id, channel, address, kind, priority, text, options, template_vars, dedupe_key,"
    " status, attempts, created_at, updated_at)"
    " SELECT r.owner_id, o.channel, o.address, 'reminder', 10, 'Pengingat: cek kebersihan dapur hari ini.', '[]',"
    " '{}', 'floor:' || r.id, 'pending', 0, :now, :now"
    " FROM reminders r JOIN owners o ON o.id = r.owner_id"
    " WHERE r.status = 'pending' AND r.due_at <= :now AND o.opted_out_at IS NULL"
)


def floor(url: str) -> tuple[float, int]:
    """The raw-SQL floor in the same database: one INSERT ... SELECT of every due row into the
    outbox (same table, same indexes) plus one UPDATE marking them, then rolled back."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            started = time.perf_counter()
            written = conn.execute(text(FLOOR_SQL), {"now": NOW.replace(tzinfo=None) if "sqlite" in url else NOW}).rowcount
            conn.execute(text("UPDATE reminders SET status = 'queued' WHERE status = 'pending' AND due_at <= :now"),
                         {"now": NOW.replace(tzinfo=None) if "sqlite" in url else NOW})
            elapsed = time.perf_counter() - started
            transaction.rollback()
    finally:
        engine.dispose()
    return elapsed, written


def run(label: str, url: str, owners: int, batch: int) -> None:
    t0 = time.perf_counter()
    populate(url, owners)
    setup = time.perf_counter() - t0
    floor_s, floor_rows = floor(url)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=sweep_child, args=(url, batch, out))
    proc.start()
    result = out.get()
    proc.join()
    handled = result["queued"] + result["suppressed"]
    print(f"{label:10s} owners={owners:,} batch={batch} setup={setup:.1f}s | sweep {result['elapsed']:.2f}s "
          f"({handled / result['elapsed']:,.0f} reminders/s), queued={result['queued']:,} "
          f"suppressed={result['suppressed']:,} batches={result['batches']} | peak RSS {result['peak_mb']:.0f} MB "
          f"(+{result['peak_mb'] - result['before_mb']:.0f} MB during sweep) | raw-SQL floor {floor_s:.2f}s "
          f"({floor_rows:,} rows, INSERT ... SELECT + UPDATE) ratio {result['elapsed'] / floor_s:.1f}x "
          f"(load average {os.getloadavg()[0]:.1f})", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=10_000)
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole measurement (fresh databases)")
    args = parser.parse_args()
    for _ in range(args.runs):
        if args.database in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.owners, args.batch)
        if args.database == "sqlite":
            continue
        admin_url = os.environ.get("TEST_POSTGRES_URL", "")
        if not admin_url:
            print("postgresql skipped: set TEST_POSTGRES_URL (make bench does)")
            continue
        with scratch_database(admin_url, "umkm_bench") as url:
            run("postgresql", url, args.owners, args.batch)


if __name__ == "__main__":
    main()
