"""Push many synthetic owners' registrations through the pipeline and print throughput and latency.

    .venv/bin/python bench/pipeline_bench.py [--owners 200] [--workers 4] [--database sqlite|postgres|both]

PostgreSQL comes from TEST_POSTGRES_URL (an admin URL; `make bench` sets it): a scratch database is
created and dropped. Each owner sends the 10 messages of a full registration; workers are threads,
each with its own owners, all in one process.
"""
from __future__ import annotations

import argparse
from contextlib import nullcontext
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.content import get_content  # noqa: E402
from bot.messages import Inbound  # noqa: E402
from bot.pipeline import handle  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.scratch import scratch_database  # noqa: E402

SCRIPT = ["halo", "1", "Siti Aminah", "Keripik Bu Siti", "makanan", "keripik singkong, sambal",
          "jaktim", "duren sawit", "1 5", "1"]


def run(db: Database, owners: int, workers: int) -> dict:
    content = get_content()
    latencies: list[float] = []
    lock = threading.Lock()

    def worker(index: int) -> None:
        local = []
        for owner in range(index, owners, workers):
            address = f"+62812{owner:08d}"
            for step, message in enumerate(SCRIPT):
                started = time.perf_counter()
                handle(Inbound(channel="whatsapp", address=address, text=message,
                               message_id=f"bench-{owner}-{step}"), db=db, content=content)
                local.append(time.perf_counter() - started)
        with lock:
            latencies.extend(local)

    handle(Inbound(channel="whatsapp", address="+620000", text="halo"), db=db, content=content)  # warm up
    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(i,)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    return {
        "messages": len(latencies),
        "seconds": elapsed,
        "per_second": len(latencies) / elapsed,
        "p50_ms": statistics.median(latencies) * 1000,
        "p99_ms": latencies[int(len(latencies) * 0.99) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=200)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(f"pipeline benchmark: {args.owners} owners x {len(SCRIPT)} messages, {args.workers} worker threads")
    for kind in kinds:
        admin = os.environ.get("TEST_POSTGRES_URL")
        if kind == "postgres" and not admin:
            print("postgres: skipped (set TEST_POSTGRES_URL, or run `make bench`)")
            continue
        with (scratch_database(admin, "umkm_bench") if kind == "postgres"
              else nullcontext(f"sqlite:///{tempfile.mkdtemp()}/bench.sqlite3")) as url:
            db = Database(url)
            db.migrate()
            try:
                r = run(db, args.owners, args.workers)
            finally:
                db.dispose()
        print(f"{kind:9s} {r['messages']} messages in {r['seconds']:.1f}s: {r['per_second']:.0f} msg/s, "
              f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms")


if __name__ == "__main__":
    main()
