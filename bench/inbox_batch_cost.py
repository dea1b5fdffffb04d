"""Benchmark: what one inbox turn costs the worker, measured on PostgreSQL without HTTP in the way.

    .venv/bin/python bench/inbox_batch_cost.py [--owners 300] [--rounds 10] [--batch 32] [--concurrency 1]
        [--profile] [--top 40] [--sort cumulative|tottime] [--plain 1] [--statements 25]

Needs TEST_POSTGRES_URL (an admin URL; `scripts/postgres-test-server url` prints the local one); a
scratch database is created and dropped. The same message mix as bench/webhook_load.py
(--owners distinct WhatsApp numbers, --rounds messages each, round after round) is stored in the
inbox first, then one `Inbox.work_until_idle(--batch)` handles it all, as an inbox worker does.

Printed: messages handled, CPU ms per message of this process (the worker) and of the PostgreSQL
backends serving it, SQL statements, transactions and round trips per message (statements plus
BEGIN and COMMIT/ROLLBACK of each transaction), and the wall-clock rate (noisy on a shared machine:
the CPU figures are the ones to compare). With --statements N, the N most frequent statements
(first 110 characters) with their count per message. With --profile the run is repeated on a fresh
database under cProfile and the --top functions by cumulative time are printed too.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

sys.path.insert(0, str(Path(__file__).resolve().parent))
from webhook_load import TEXTS, cpu_seconds  # noqa: E402  (the same message mix and CPU reading)


class Counting:
    """Counts statements (by text), transactions and round trips on an engine."""

    def __init__(self, engine):
        from sqlalchemy import event

        self.statements: Counter[str] = Counter()
        self.begins = 0
        self.ends = 0
        self.on = False
        self.seconds: Counter[str] = Counter()
        event.listen(engine, "before_cursor_execute", self._statement)
        event.listen(engine, "after_cursor_execute", self._done)
        event.listen(engine, "begin", self._begin)
        event.listen(engine, "commit", self._end)
        event.listen(engine, "rollback", self._end)

    def _statement(self, conn, cursor, statement, parameters, context, executemany):
        if self.on:
            self.statements[" ".join(statement.split())[:110]] += 1
            conn.info["bench_started"] = time.perf_counter()

    def _done(self, conn, cursor, statement, parameters, context, executemany):
        started = conn.info.pop("bench_started", None)
        if self.on and started is not None:
            self.seconds[" ".join(statement.split())[:110]] += time.perf_counter() - started

    def _begin(self, conn):
        if self.on:
            self.begins += 1

    def _end(self, conn):
        if self.on:
            self.ends += 1


def one_run(admin_url: str, owners: int, rounds: int, batch: int, profile: bool, concurrency: int = 1) -> dict:
    from sqlalchemy import text

    from bot.channels import runtime
    from bot.channels.base import Incoming
    from bot.config import load_settings
    from bot.services import build_services
    from storage.db import Database
    from storage.scratch import scratch_database

    with scratch_database(admin_url, prefix="umkm_bench") as url:
        os.environ["DATABASE_URL"] = url
        db = Database(url)
        db.migrate()
        inbox = runtime(build_services(load_settings(), db)).inbox
        # Warm up (content, the language model, compiled statements): one owner's messages, not counted.
        inbox.store_many([Incoming(kind="message", channel="whatsapp", address="+6289999999999", message_id=f"W{r}",
                                   data={"text": text, "profile_name": "Bu Sari"}) for r, text in enumerate(TEXTS)])
        inbox.work_until_idle(batch)
        items = [Incoming(kind="message", channel="whatsapp", address=f"+628{o:010d}", message_id=f"SM{r}_{o}",
                          data={"text": TEXTS[r % len(TEXTS)], "profile_name": "Bu Sari"})
                 for r in range(rounds) for o in range(owners)]
        for i in range(0, len(items), 200):
            inbox.store_many(items[i:i + 200])
        counting = Counting(db.engine)
        def backends() -> list[int]:
            with db.engine.connect() as conn:
                return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database()")))

        before = {pid: cpu_seconds([pid]) for pid in backends()}
        profiler = cProfile.Profile(time.process_time) if profile else None  # CPU time, not wall: the machine is shared
        counting.on = True
        wall0, cpu0 = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        if concurrency == 1:
            inbox.work_until_idle(batch)
        else:  # as `umkm-bot worker --concurrency N`: N batches in flight in this process
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(concurrency) as pool:
                list(pool.map(lambda _: inbox.work_until_idle(batch), range(concurrency)))
        if profiler:
            profiler.disable()
        wall, cpu = time.perf_counter() - wall0, time.process_time() - cpu0
        counting.on = False
        pg = sum(cpu_seconds([pid]) - before.get(pid, 0.0) for pid in backends())
        done = 0
        with db.engine.connect() as conn:
            done = conn.scalar(text("SELECT count(*) FROM channel_inbox WHERE status = 'done'")) - len(TEXTS)
            outbox = conn.scalar(text("SELECT count(*) FROM outbox WHERE address <> '+6289999999999'"))
        db.dispose()
    return {"done": done, "outbox": outbox, "wall": wall, "cpu": cpu, "pg": pg,
            "statements": counting.statements, "seconds": counting.seconds, "transactions": counting.begins, "ends": counting.ends,
            "profiler": profiler}


def report(label: str, run: dict, show_statements: int) -> None:
    n = max(1, run["done"])
    statements = sum(run["statements"].values())
    round_trips = statements + run["transactions"] + run["ends"]
    print(f"{label}: {run['done']} messages done ({run['outbox']} outbox rows) in {run['wall']:.2f} s wall "
          f"({run['done'] / run['wall']:.0f} msg/s)")
    print(f"  worker CPU {1000 * run['cpu'] / n:.2f} ms/msg, PostgreSQL backends {1000 * run['pg'] / n:.2f} ms/msg")
    print(f"  statements {statements / n:.2f}/msg, transactions {run['transactions'] / n:.3f}/msg, "
          f"round trips {round_trips / n:.2f}/msg")
    if show_statements:
        print("  per message: statements, ms waiting for them (wall clock)")
    for statement, count in run["statements"].most_common(show_statements):
        print(f"    {count / n:6.3f} {1000 * run['seconds'][statement] / n:6.3f}  {statement}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owners", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--concurrency", type=int, default=1, help="batches in flight at once (threads)")
    parser.add_argument("--profile", action="store_true", help="repeat the run under cProfile")
    parser.add_argument("--top", type=int, default=40, help="functions shown with --profile")
    parser.add_argument("--sort", default="cumulative", help="cProfile order: cumulative or tottime")
    parser.add_argument("--save", help="also write the cProfile statistics to this file")
    parser.add_argument("--plain", type=int, default=1, help="plain runs (0: only the profiled one)")
    parser.add_argument("--statements", type=int, default=0, help="most frequent statements shown")
    args = parser.parse_args()
    admin_url = os.environ.get("TEST_POSTGRES_URL")
    if not admin_url:
        raise SystemExit("TEST_POSTGRES_URL is not set (scripts/postgres-test-server url)")
    for _ in range(args.plain):
        plain = one_run(admin_url, args.owners, args.rounds, args.batch, profile=False, concurrency=args.concurrency)
        report("plain", plain, args.statements)
    if args.profile:
        profiled = one_run(admin_url, args.owners, args.rounds, args.batch, profile=True)
        report("under cProfile", profiled, 0)
        stats = pstats.Stats(profiled["profiler"])
        if args.save:
            stats.dump_stats(args.save)
        stats.sort_stats(args.sort).print_stats(args.top)


if __name__ == "__main__":
    main()
