"""Dashboard search on PostgreSQL at programme scale: 100,000 owners and 1,000,000 logged messages.

Fills a scratch database set-based (generate_series), then times the searches staff and mentors
run (a word in every message, a rare word, a word with an owner name, a mentor's area-scoped search,
a case search) and prints p50/p95 per query. It also prints each query's plan, so a missing index
shows at once.

    TEST_POSTGRES_URL=$(scripts/postgres-test-server url) .venv/bin/python bench/search_bench.py [--owners N --messages M]
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sqlalchemy import text  # noqa: E402

from bot.dashboard.scope import Viewer, owner_visibility  # noqa: E402
from bot.dashboard.search import SearchQuery, search_cases, search_messages  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.scratch import scratch_database  # noqa: E402

WORDS = ["keripik", "sambal", "bolu", "jamu", "sabun", "pirt", "halal", "label", "nib", "kemasan", "dapur",
         "oven", "pendamping", "izin", "bpom", "lulur", "rendang", "kopi", "madu", "minyak"]
AREAS = ["jakarta-barat", "jakarta-timur", "jakarta-selatan", "jakarta-utara", "jakarta-pusat"]


def fill(db: Database, owners: int, messages: int) -> None:
    words = "ARRAY[" + ",".join(f"'{w}'" for w in WORDS) + "]"
    areas = "ARRAY[" + ",".join(f"'{a}'" for a in AREAS) + "]"
    with db.engine.begin() as conn:
        conn.execute(text(f"""
            INSERT INTO owners (channel, address, lang, name, business_name, sector, products, city, district,
                                in_jakarta, registered_at, created_at)
            SELECT 'whatsapp', '+62812' || lpad(g::text, 8, '0'), 'id', 'Pemilik ' || g,
                   'Usaha ' || ({words})[1 + g % 20] || ' ' || g, 'food', '[]', ({areas})[1 + g % 5], NULL,
                   true, now() - (g % 400) * interval '1 day', now()
            FROM generate_series(1, :owners) g"""), {"owners": owners})
        conn.execute(text(f"""
            INSERT INTO message_log (owner_id, direction, text, options, media, kind, created_at)
            SELECT 1 + (g % :owners), CASE WHEN g % 2 = 0 THEN 'in' ELSE 'out' END,
                   'pesan ' || ({words})[1 + g % 20] || ' tentang ' || ({words})[1 + (g / 7) % 20]
                     || CASE WHEN g % 50000 = 0 THEN ' sertifikatlangka' ELSE '' END || ' nomor ' || g,
                   '[]', '[]', 'reply', now() - (g % 30000) * interval '1 minute'
            FROM generate_series(1, :messages) g"""), {"owners": owners, "messages": messages})
        conn.execute(text("""
            INSERT INTO tickets (owner_id, topic, reason, priority, status, context, created_at)
            SELECT 1 + (g * 37 % :owners), 'asked', 'Pemilik bertanya soal label dan izin nomor ' || g, 2,
                   CASE WHEN g % 3 = 0 THEN 'resolved' ELSE 'open' END, '{}', now() - g * interval '1 hour'
            FROM generate_series(1, :cases) g"""), {"owners": owners, "cases": max(1, owners // 20)})
        conn.execute(text("ANALYZE"))


def timed(db: Database, run, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        with db.session() as session:
            run(session)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--owners", type=int, default=100_000)
    parser.add_argument("--messages", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=20)
    args = parser.parse_args()
    admin = os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit("set TEST_POSTGRES_URL (make bench does)")
    with scratch_database(admin, prefix="umkm_bench_search") as url:
        db = Database(url)
        db.migrate()
        start = time.perf_counter()
        fill(db, args.owners, args.messages)
        print(f"filled {args.owners:,} owners and {args.messages:,} messages in {time.perf_counter() - start:.1f} s")
        # A West Jakarta mentor (id 999 holds no case, so only the area counts).
        west = Viewer(None, mentor=SimpleNamespace(id=999), areas=[("jakarta-barat", "")])

        queries = {
            "rare word (1 in 50,000 messages)": lambda s: search_messages(s, SearchQuery(text="sertifikatlangka"), None),
            "common word, newest 50": lambda s: search_messages(s, SearchQuery(text="pirt"), None),
            "word + owner name": lambda s: search_messages(s, SearchQuery(text="label", owner="Usaha sambal 12"), None),
            "word + area + dates": lambda s: search_messages(s, SearchQuery(text="halal", area="jakarta-timur"), None),
            "cases by word": lambda s: search_cases(s, SearchQuery(text="nomor 777"), None),
        }
        queries["mentor's area only"] = lambda s: search_messages(s, SearchQuery(text="madu"), owner_visibility(west))
        print(f"{'query':38} {'p50 ms':>8} {'p95 ms':>8}")
        for name, run in queries.items():
            times = timed(db, run, args.repeat)
            p95 = statistics.quantiles(times, n=20)[-1] if len(times) >= 2 else times[0]
            print(f"{name:38} {statistics.median(times):8.1f} {p95:8.1f}")
        with db.engine.connect() as conn:
            plan = conn.execute(text("EXPLAIN SELECT id FROM message_log WHERE text ILIKE '%sertifikatlangka%'")).scalars()
            print("plan (rare word):", " | ".join(line.strip() for line in plan)[:300])
        db.dispose()


if __name__ == "__main__":
    main()
