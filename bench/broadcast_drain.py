"""Send one broadcast through the real sender to a local fake WhatsApp API limited to 80 messages
per second, and print the achieved rate as a share of that limit.

    .venv/bin/python bench/broadcast_drain.py [--owners 1600] [--limit 80] [--database postgres|sqlite|both]

The broadcast is queued by bot/broadcasts.py (its recipients recorded, kind "broadcast"); the sender
(bot/sender.py, WHATSAPP_RATE 80/s, the real twilio client) writes each message as it claims work and
drains them against the fake provider of
tests/channels/fake_providers.py, which runs in its own process and answers 429 above the limit.
Quiet hours are off so the figure does not depend on the time of day. PostgreSQL comes from
TEST_POSTGRES_URL (an admin URL; `make bench` sets it): a scratch database is created and dropped.
"""
from __future__ import annotations

import argparse
import logging
import os
import subprocess
import sys
import tempfile
import time
from functools import partial
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot import broadcasts  # noqa: E402
from bot.channels import runtime  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.content import get_content  # noqa: E402
from bot.services import build_services  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import OutboxMessage  # noqa: E402
from storage.models.events import BroadcastQueued  # noqa: E402
from storage.scratch import create_database, drop_database  # noqa: E402
from tests.broadcasts.factories import bulk_owners  # noqa: E402

MESSAGE = "Halo {{ first_name or 'Bapak/Ibu' }}, ada Pelatihan GMP 72 jam gratis di {{ city }}. Balas DAFTAR untuk ikut."


def run(db: Database, fake_url: str, data_dir: Path, owners: int) -> dict:
    bulk_owners(db, owners, last_inbound_at=utcnow())  # inside the 24-hour window: free text
    content = get_content(REPO / "content")
    started = time.monotonic()
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template=MESSAGE)
    enqueued = time.monotonic() - started
    settings = Settings(database_url=db.url, content_dir=REPO / "content", data_dir=data_dir,
                        public_base_url="https://bot.example.org", twilio_account_sid="AC" + "0" * 32,
                        twilio_auth_token="bench-token", twilio_whatsapp_from="whatsapp:+14155238886",
                        twilio_api_base=fake_url, quiet_start_hour=0, quiet_end_hour=0)
    sender = runtime(build_services(settings, db=db)).sender
    before = httpx.get(f"{fake_url}/_fake/stats").json()
    started = time.monotonic()
    while True:
        sender.drain_sync()
        with db.session() as session:
            left = session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.status.in_(("pending", "sending")))) + session.scalar(
                select(func.count()).select_from(BroadcastQueued))  # recipients whose message is not written yet
        if not left:
            break
        time.sleep(0.2)  # a few 429s wait out their short backoff
    elapsed = time.monotonic() - started
    after = httpx.get(f"{fake_url}/_fake/stats").json()
    with db.session() as session:
        counts = broadcasts.progress(session, broadcast.id)
    assert counts["sent"] == owners, counts
    return {"owners": owners, "enqueue_s": enqueued, "elapsed": elapsed,
            "rejected": after["rejected"] - before["rejected"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--owners", type=int, default=1600)
    parser.add_argument("--limit", type=float, default=80.0, help="the fake channel's messages per second")
    parser.add_argument("--database", choices=("postgres", "sqlite", "both"), default="both")
    args = parser.parse_args()
    logging.getLogger("bot.sender").setLevel(logging.ERROR)  # the 429 pauses are counted below instead
    fake = subprocess.Popen([sys.executable, "-m", "tests.channels.fake_providers", "--rate-limit", str(args.limit)],
                            cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    fake_url = fake.stdout.readline().strip()
    kinds = ["postgres", "sqlite"] if args.database == "both" else [args.database]
    print(f"broadcast to {args.owners} owners, sender at WHATSAPP_RATE=80/s, fake channel limited to {args.limit:g}/s")
    try:
        for kind in kinds:
            with tempfile.TemporaryDirectory() as tmp:
                if kind == "postgres":
                    admin = os.environ.get("TEST_POSTGRES_URL")
                    if not admin:
                        print("postgres: skipped (TEST_POSTGRES_URL not set)")
                        continue
                    url = create_database(admin, "umkm_bench")
                    cleanup = partial(drop_database, admin, url)
                else:
                    url, cleanup = f"sqlite:///{tmp}/bench.sqlite3", (lambda: None)
                db = Database(url)
                try:
                    db.migrate()
                    r = run(db, fake_url, Path(tmp), args.owners)
                finally:
                    db.dispose()
                    cleanup()
            rate = r["owners"] / r["elapsed"]
            print(f"{kind}: {r['owners']} messages drained in {r['elapsed']:.1f}s = {rate:.1f}/s, "
                  f"{rate / args.limit:.0%} of the {args.limit:g}/s limit, {r['rejected']} answered 429 "
                  f"(enqueue {r['enqueue_s']:.2f}s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)",
                  flush=True)
    finally:
        fake.stdin.close()
        fake.wait(timeout=10)


if __name__ == "__main__":
    main()
