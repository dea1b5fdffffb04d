"""Benchmark: sweep due reminders for 100,000 owners into the outbox.

    .venv/bin/python bench/gmp_reminders_sweep.py [--owners 100000] [--batch 25000] [--database postgres|sqlite|both] [--runs 3]

Builds a fresh SQLite file and (when TEST_POSTGRES_URL is set, as `make bench` does) a fresh
PostgreSQL database, gives every owner one due reminder (a mix of kinds, some opted out), then
runs one `sweep_due` in a separate process and prints the wall time, the rate, and the peak
resident memory of the sweeping process (plus how much it grew during the sweep), next to raw-SQL
floors measured in the same database just before, each rolled back (PostgreSQL: VACUUM ANALYZE
before each measurement, so none pays for the dead rows of the one before):

- the floor of what the sweep writes: one UPDATE marking every due row (the sweep writes no outbox
  row; the sender writes each message when it claims work, bot/reminders.py `feed_outbox`);
- the old full-row floor, for comparison: one INSERT ... SELECT of every due row into the outbox
  (same table, same indexes) and one UPDATE.

Then it times the part moved to the sender: writing marked reminders' outbox messages in
transactions of one claim's worth (--claim, default 80 rows), to show it keeps ahead of sending.
"""
from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from storage.scratch import scratch_database  # noqa: E402

NOW = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # 09:00 in Jakarta: outside quiet hours


KINDS = [("self_check", {"checklist": "cppb_irt", "level": "II"}),
         ("permit_renewal", {"permit": "pirt", "expires_on": "2027-05-01"}),
         ("stalled_step", {"step": "pkp", "step_label": {"id": "Sertifikat PKP", "en": "PKP certificate"},
                           "since": "2026-11-01"})]


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    return 0.0


def _rss_mb() -> float:
    return _status_mb("VmRSS")


def _peak_mb() -> float:
    """This process's peak resident memory (VmHWM). Not getrusage's ru_maxrss: a spawned child
    inherits its parent's peak through fork, so that figure showed the benchmark's own setup."""
    return _status_mb("VmHWM")


def _reset_peak() -> None:
    """Start the peak afresh from the current size (Linux >= 4.0), so the peak is the sweep's own."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


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
        kinds = KINDS
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
    from bot.reminders import _render, sweep_due
    from storage.db import Database

    content = Content(REPO / "content")
    db = Database(url)
    # Warm, as a scheduler process is after its first minute: connected, statements built, texts
    # loaded (a sweep a week early finds nothing due; one render per kind loads the templates).
    sweep_due(db, content, NOW - timedelta(days=7), batch_size=batch)
    for kind, payload in KINDS:
        _render(content, kind, "id", json.dumps(payload))
    before = _rss_mb()
    _reset_peak()
    started = time.perf_counter()
    report = sweep_due(db, content, NOW, batch_size=batch)
    elapsed = time.perf_counter() - started
    peak = _peak_mb()
    db.dispose()
    out.put({"elapsed": elapsed, "peak_mb": peak, "before_mb": before, "queued": report.queued,
             "suppressed": report.suppressed, "batches": report.batches})


FULL_ROW_SQL = (
    "INSERT INTO outbox (owner_id, channel, address, kind, priority, text, options, template_vars, dedupe_key,"
    " status, attempts, created_at, updated_at)"
    " SELECT r.owner_id, o.channel, o.address, 'reminder', 10, 'Pengingat: cek kebersihan dapur hari ini.', '[]',"
    " '{}', 'floor:' || r.id, 'pending', 0, :now, :now"
    " FROM reminders r JOIN owners o ON o.id = r.owner_id"
    " WHERE r.status = 'pending' AND r.due_at <= :now AND o.opted_out_at IS NULL"
)
FULL_ROW_MARK_SQL = "UPDATE reminders SET status = 'queued' WHERE status = 'pending' AND due_at <= :now"
# What the sweep writes now, at its least: every due row marked in one UPDATE, the same columns the
# sweep sets for a row to send (status, outcome, send mark, timestamps), no outbox row.
MARK_SQL = (
    "UPDATE reminders SET status = 'queued', outcome = NULL, last_queued_at = :now, send_occurrence = occurrence,"
    " updated_at = :now WHERE status = 'pending' AND due_at <= :now AND send_occurrence IS NULL"
)


def _timed(url: str, statements: list[str]) -> tuple[float, int]:
    """Run the statements in one transaction, time them, roll back; returns (seconds, rows of the first)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    now = NOW.replace(tzinfo=None) if "sqlite" in url else NOW
    try:
        with engine.connect() as conn:
            transaction = conn.begin()
            started = time.perf_counter()
            rows = [conn.execute(text(statement), {"now": now}).rowcount for statement in statements]
            elapsed = time.perf_counter() - started
            transaction.rollback()
    finally:
        engine.dispose()
    return elapsed, rows[0]


def vacuum(url: str) -> None:
    """PostgreSQL: clear the dead rows a rolled-back floor left (autovacuum would, in service), so
    the sweep and each floor start from the same clean tables."""
    if "sqlite" in url:
        return
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(text("VACUUM ANALYZE reminders, outbox, owners"))
    finally:
        engine.dispose()


def floors(url: str) -> dict[str, tuple[float, int]]:
    """The raw-SQL floors in the same database, each rolled back: the minimal write of what the sweep
    writes (one UPDATE marking every due row), and the old full-row floor (one INSERT ... SELECT of
    every due row into the outbox, same table and indexes, plus one UPDATE marking them)."""
    result = {}
    for name, statements in (("mark", [MARK_SQL]), ("full_row", [FULL_ROW_SQL, FULL_ROW_MARK_SQL])):
        vacuum(url)
        result[name] = _timed(url, statements)
    vacuum(url)
    return result


def feed_child(url: str, claim: int, rows: int, out) -> None:
    """The sender's share, moved out of the sweep: write `rows` marked reminders' outbox messages in
    transactions of `claim` rows (one claim's worth), as the sender's claims do."""
    from bot.content import Content
    from bot.reminders import feed_outbox
    from storage.db import Database

    content = Content(REPO / "content")
    db = Database(url)
    written = 0
    started = time.perf_counter()
    while written < rows:
        with db.session() as session:
            n = feed_outbox(session, content, NOW, channel="whatsapp", limit=claim)
        if n == 0:
            break
        written += n
    elapsed = time.perf_counter() - started
    db.dispose()
    out.put({"elapsed": elapsed, "written": written})


def run(label: str, url: str, owners: int, batch: int, claim: int, feed_rows: int) -> None:
    t0 = time.perf_counter()
    populate(url, owners)
    setup = time.perf_counter() - t0
    measured = floors(url)
    ctx = multiprocessing.get_context("spawn")
    out = ctx.Queue()
    proc = ctx.Process(target=sweep_child, args=(url, batch, out))
    proc.start()
    result = out.get()
    proc.join()
    handled = result["queued"] + result["suppressed"]
    mark_s, mark_rows = measured["mark"]
    full_s, full_rows = measured["full_row"]
    print(f"{label:10s} owners={owners:,} batch={batch} setup={setup:.1f}s | sweep {result['elapsed']:.2f}s "
          f"({handled / result['elapsed']:,.0f} reminders/s), queued={result['queued']:,} "
          f"suppressed={result['suppressed']:,} batches={result['batches']} | peak RSS {result['peak_mb']:.0f} MB "
          f"(+{result['peak_mb'] - result['before_mb']:.0f} MB during sweep) | raw-SQL floor {mark_s:.2f}s "
          f"({mark_rows:,} rows, one UPDATE marking them) ratio {result['elapsed'] / mark_s:.1f}x | "
          f"old full-row floor {full_s:.2f}s ({full_rows:,} rows, INSERT ... SELECT into outbox + UPDATE), "
          f"sweep/full-row {result['elapsed'] / full_s:.2f}x (load average {os.getloadavg()[0]:.1f})", flush=True)
    if feed_rows:
        proc = ctx.Process(target=feed_child, args=(url, claim, feed_rows, out))
        proc.start()
        fed = out.get()
        proc.join()
        print(f"{'':10s} the sender's share: {fed['written']:,} outbox messages written in claims of {claim} "
              f"in {fed['elapsed']:.2f}s ({fed['written'] / fed['elapsed']:,.0f}/s; WhatsApp sends 80/s)", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=25_000, help="rows per sweep chunk (bot/reminders.py DEFAULT_BATCH)")
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
    parser.add_argument("--runs", type=int, default=1, help="repeat the whole measurement (fresh databases)")
    parser.add_argument("--claim", type=int, default=80, help="rows per sender claim when timing the sender's share")
    parser.add_argument("--feed", type=int, default=20_000,
                        help="marked reminders whose outbox messages are then written as the sender does (0: skip)")
    args = parser.parse_args()
    for _ in range(args.runs):
        if args.database in ("sqlite", "both"):
            with tempfile.TemporaryDirectory() as tmp:
                run("sqlite", f"sqlite:///{tmp}/bench.sqlite3", args.owners, args.batch, args.claim, args.feed)
        if args.database == "sqlite":
            continue
        admin_url = os.environ.get("TEST_POSTGRES_URL", "")
        if not admin_url:
            print("postgresql skipped: set TEST_POSTGRES_URL (make bench does)")
            continue
        with scratch_database(admin_url, "umkm_bench") as url:
            run("postgresql", url, args.owners, args.batch, args.claim, args.feed)


if __name__ == "__main__":
    main()
