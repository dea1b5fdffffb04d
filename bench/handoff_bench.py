"""Mentor handoff at city scale: a 700-mentor roster, 1000 open cases, the SLA check, the mentor chat.

    .venv/bin/python bench/handoff_bench.py [--cases 1000] [--database sqlite|postgres|both]

PostgreSQL comes from TEST_POSTGRES_URL (an admin URL; `make bench` sets it): a scratch database is
created and dropped. Prints, per database: roster import and re-import time, the time to open and
route one case (mean, p99), one SLA check over every open case (reminding them all), and the
mentor chat's /kasus and /ambil through the pipeline.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
import uuid
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import time_machine  # noqa: E402
from sqlalchemy import create_engine, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot import locations  # noqa: E402
from bot.cases import open_case  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.content import get_content  # noqa: E402
from bot.handoff.roster import import_roster  # noqa: E402
from bot.handoff.sla import run_sla_check  # noqa: E402
from bot.messages import Inbound  # noqa: E402
from bot.pipeline import handle  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import Owner  # noqa: E402

MENTORS = 700
SECTORS = ["makanan", "kosmetik", "jamu", "semua"]


def roster_csv(content) -> tuple[str, list[tuple[str, str]]]:
    kecamatan = [(k.area_key, k.key, k.name) for a in locations.areas(content) for k in a.kecamatan]
    lines = ["code,name,telegram,kecamatan,sectors,role"]
    for n in range(MENTORS - 7):
        area, _key, name = kecamatan[n % len(kecamatan)]
        lines.append(f"JO-{n:04d},Mentor {n},{800000000 + n},{name},{SECTORS[n % 4]},mentor")
    for n, area in enumerate(locations.areas(content)):
        lines.append(f"SPV-{n},Koordinator {n},{810000000 + n},{area.name},,supervisor")
    lines.append(f"SPV-DKI,Koordinator DKI,{810000100},semua,,supervisor")
    return "\n".join(lines) + "\n", [(a, k) for a, k, _ in kecamatan]


def run(db: Database, cases: int) -> dict:
    content = get_content()
    csv_text, places = roster_csv(content)
    figures: dict[str, float] = {}
    with time_machine.travel("2026-11-23 02:00:00+00:00", tick=True) as clock:  # Monday 09:00 WIB
        started = time.perf_counter()
        with db.session() as session:
            report = import_roster(session, csv_text, content)
            assert report.ok and len(report.created) == MENTORS, report.errors[:3]
        figures["import_s"] = time.perf_counter() - started
        started = time.perf_counter()
        with db.session() as session:
            assert len(import_roster(session, csv_text, content).unchanged) == MENTORS
        figures["reimport_s"] = time.perf_counter() - started

        with db.session() as session:
            for n in range(cases):
                city, district = places[n % len(places)]
                session.add(Owner(channel="whatsapp", address=f"+62813{n:08d}", lang="id", name=f"Owner {n}",
                                  sector=["food", "cosmetics", "herbal"][n % 3], products=[], city=city,
                                  district=district, in_jakarta=True, has_permits=[], consent_at=utcnow()))
        latencies = []
        for n in range(cases):
            started = time.perf_counter()
            with db.session() as session:
                owner = session.get(Owner, n + 1)
                open_case(session, owner, "asked", "bench", content=content)
            latencies.append(time.perf_counter() - started)
        latencies.sort()
        figures["open_mean_ms"] = statistics.mean(latencies) * 1000
        figures["open_p99_ms"] = latencies[int(len(latencies) * 0.99) - 1] * 1000

        clock.shift(timedelta(hours=4, minutes=5))
        started = time.perf_counter()
        with db.session() as session:
            report = run_sla_check(session, content)
        figures["sla_s"] = time.perf_counter() - started
        figures["sla_reminded"] = len(report.reminded)

        mentor_chat = "800000000"  # JO-0000: offered every case of its kecamatan and sector
        started = time.perf_counter()
        for n in range(20):
            handle(Inbound(channel="telegram", address=mentor_chat, text="/kasus", message_id=f"k{n}"),
                   db=db, content=content)
        figures["list_ms"] = (time.perf_counter() - started) / 20 * 1000
        started = time.perf_counter()
        handle(Inbound(channel="telegram", address="810000100", text="/ambil 1", message_id="take"),
               db=db, content=content)
        figures["take_ms"] = (time.perf_counter() - started) * 1000
    return figures


def _postgres(admin_url: str):
    name = f"umkm_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)

    def drop():
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url, drop


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    targets = []
    if args.database in ("sqlite", "both"):
        folder = tempfile.mkdtemp()
        targets.append(("SQLite", f"sqlite:///{folder}/bench.sqlite3", lambda: None))
    admin = os.environ.get("TEST_POSTGRES_URL", "")
    if args.database in ("postgres", "both"):
        if admin:
            url, drop = _postgres(admin)
            targets.append(("PostgreSQL", url, drop))
        else:
            print("PostgreSQL skipped: TEST_POSTGRES_URL is not set")
    print(f"{MENTORS} mentors, {args.cases} cases")
    print("| database | roster import | re-import | open+route a case (mean / p99) | SLA check (cases reminded) "
          "| /kasus | /ambil |")
    print("|---|---|---|---|---|---|---|")
    for label, url, cleanup in targets:
        db = Database(url)
        db.migrate()
        try:
            f = run(db, args.cases)
        finally:
            db.dispose()
            cleanup()
        print(f"| {label} | {f['import_s']:.2f} s | {f['reimport_s']:.2f} s | {f['open_mean_ms']:.1f} / "
              f"{f['open_p99_ms']:.1f} ms | {f['sla_s']:.2f} s ({f['sla_reminded']:.0f}) | {f['list_ms']:.1f} ms "
              f"| {f['take_ms']:.1f} ms |", flush=True)


if __name__ == "__main__":
    main()
