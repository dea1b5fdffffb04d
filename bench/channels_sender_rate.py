"""Drain an outbox through the real twilio client against a local fake WhatsApp API that accepts
at most 80 messages per second (429 above that), and print the achieved rate as a share of it.

    .venv/bin/python bench/channels_sender_rate.py [--messages 1600] [--per-owner 1] [--limit 80]
                                                   [--database sqlite|postgres|both]

The fake runs in its own process (tests/channels/fake_providers.py), so the sender's process is
measured alone. PostgreSQL comes from TEST_POSTGRES_URL (an admin URL; `make bench` sets it): a
scratch database is created and dropped. The sender runs at its default WHATSAPP_RATE (80/s).
"overall" counts from the start of the drain until every message is accepted (including the
retries of messages the fake refused); "while sending" is the rate between the first and the last
message the fake accepted.
"""
from __future__ import annotations

import argparse
import logging
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402
from storage.scratch import create_database, drop_database  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bot.channels import runtime  # noqa: E402
from bot.clock import utcnow  # noqa: E402
from bot.config import Settings  # noqa: E402
from bot.services import build_services  # noqa: E402
from storage.db import Database  # noqa: E402
from storage.models import OutboxMessage, Owner  # noqa: E402


def fill(db: Database, messages: int, per_owner: int) -> None:
    now = utcnow()
    with db.session() as s:
        for n in range(messages // per_owner):
            address = f"+62813{n:08d}"
            owner = Owner(channel="whatsapp", address=address, lang="id", products=[], last_inbound_at=now)
            s.add(owner)
            s.flush()
            for m in range(per_owner):
                s.add(OutboxMessage(owner_id=owner.id, channel="whatsapp", address=address, kind="reply",
                                    priority=0, text=f"Balasan {m} untuk pemilik {n}", options=[],
                                    template_vars={}, status="pending", created_at=now))


def run(db: Database, fake_url: str, data_dir: Path, messages: int, per_owner: int) -> dict:
    fill(db, messages, per_owner)
    settings = Settings(database_url=db.url, content_dir=REPO / "content", data_dir=data_dir,
                        public_base_url="https://bot.example.org", twilio_account_sid="AC" + "0" * 32,
                        twilio_auth_token="bench-token", twilio_whatsapp_from="whatsapp:+14155238886",
                        twilio_api_base=fake_url)
    sender = runtime(build_services(settings, db=db)).sender
    before = httpx.get(f"{fake_url}/_fake/stats").json()
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    started = time.monotonic()
    while True:
        sender.drain_sync()
        with db.session() as s:
            left = s.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "sent"))
        if not left:
            break
        time.sleep(0.2)  # a few 429s wait out their short backoff
    elapsed = time.monotonic() - started
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    after = httpx.get(f"{fake_url}/_fake/stats").json()
    attempts = after["messages"] - before["messages"]
    rejected = after["rejected"] - before["rejected"]
    steady = (after["last_accepted"] - after["first_accepted"]) if after["accepted"] > 1 else 0.0
    return {"messages": messages, "attempts": attempts, "rejected": rejected, "elapsed": elapsed,
            "steady": (after["accepted"] - before["accepted"] - 1) / steady if steady else 0.0,
            "cpu": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=1600)
    parser.add_argument("--per-owner", type=int, default=1, help="messages per owner (a turn's replies)")
    parser.add_argument("--limit", type=float, default=80.0, help="the fake channel's messages per second")
    parser.add_argument("--database", choices=["sqlite", "postgres", "both"], default="both")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # the sender logs each 429 pause at WARNING

    admin_url = os.environ.get("TEST_POSTGRES_URL", "")
    kinds = ["sqlite", "postgres"] if args.database == "both" else [args.database]
    print(f"sender at WHATSAPP_RATE=80/s against a fake channel limited to {args.limit:g}/s; "
          f"{args.messages} messages, {args.per_owner} per owner")
    print("| database | messages | all sent after | overall | share of limit | while sending | share | 429 answers | sender CPU |")
    print("|---|---|---|---|---|---|---|---|---|")
    for kind in kinds:
        if kind == "postgres" and not admin_url:
            print("| PostgreSQL | skipped: TEST_POSTGRES_URL is not set | | | | | | | |")
            continue
        # A fresh fake channel per run, in its own process, so the sender's process is measured alone.
        fake = subprocess.Popen([sys.executable, "-m", "tests.channels.fake_providers", "--rate-limit",
                                 str(args.limit)], cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        fake_url = fake.stdout.readline().strip()
        try:
            with tempfile.TemporaryDirectory() as tmp:
                url = f"sqlite:///{tmp}/bench.sqlite3" if kind == "sqlite" else create_database(admin_url, "umkm_bench")
                db = Database(url)
                db.migrate()
                try:
                    result = run(db, fake_url, Path(tmp), args.messages, args.per_owner)
                finally:
                    db.dispose()
                    if kind == "postgres":
                        drop_database(admin_url, url)
            rate = result["messages"] / result["elapsed"]
            steady = result["steady"]
            print(f"| {'SQLite' if kind == 'sqlite' else 'PostgreSQL'} | {result['messages']} "
                  f"| {result['elapsed']:.1f} s | {rate:.1f} msg/s | {rate / args.limit:.0%} "
                  f"| {steady:.1f} msg/s | {steady / args.limit:.0%} "
                  f"| {result['rejected']} | {result['cpu']:.1f} s |", flush=True)
        finally:
            fake.stdin.close()
            fake.wait(timeout=10)


if __name__ == "__main__":
    main()
