"""Flood the dashboard's sign-in while signed WhatsApp webhooks keep arriving, and print the
webhooks' latency (p50, p99, max) next to what the flood got back.

    .venv/bin/python bench/signin_flood.py [--clients 40] [--seconds 15] [--webhooks-per-second 10]
                                           [--database sqlite|postgres]

The service is the real `umkm-bot run` in a subprocess (tests/security/service.py) with Twilio
credentials set and the Twilio API pointed at a local fake. Each flood client takes a fresh CSRF
token with a GET (it is free) and posts a password for a new, unknown name (each costs a hash,
and no lockout applies), again and again, from its own address
(X-Forwarded-For, which uvicorn trusts from loopback), so the per-address limit does not stop
it: only the global limit, the cap on sign-ins in flight and the hashing pool stand in the way.
The target for the webhooks is a p99 under 1 s (Twilio gives up after 15 s).
"""
from __future__ import annotations

import argparse
import asyncio
import itertools
import re
import statistics
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import httpx  # noqa: E402

from storage.db import Database  # noqa: E402
from tests.security.service import RunningService  # noqa: E402

CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')
attempts = itertools.count()  # a new (unknown) name each time: no lockout ever stops the flood


def prepare(database_url: str) -> None:
    from bot.dashboard import auth

    db = Database(database_url)
    db.migrate()
    with db.session() as session:
        auth.create_user(session, "admin", "kopi tubruk pagi hari", "admin")
    db.dispose()


async def _flood_client(base: str, n: int, stop: float, outcomes: Counter) -> None:
    headers = {"X-Forwarded-For": f"10.9.{n // 250}.{n % 250 + 1}"}
    async with httpx.AsyncClient(base_url=base, timeout=60, headers=headers) as client:
        while time.monotonic() < stop:
            try:
                page = await client.get("/dash/login")
                found = CSRF_RE.search(page.text)
                if found is None:  # the sign-in page itself was refused (429): ask again
                    outcomes[f"page {page.status_code}"] += 1
                    continue
                token = found.group(1)
                # the session cookie is Secure (PUBLIC_BASE_URL is https): carry it by hand over http
                cookie = page.headers["set-cookie"].split(";")[0]
                client.cookies.clear()
                guess = next(attempts)
                answer = await client.post("/dash/login", data={"username": f"user{guess}", "password": f"guess {guess}",
                                                                 "csrf_token": token}, headers={"Cookie": cookie})
                outcomes[answer.status_code] += 1
            except httpx.HTTPError as exc:
                outcomes[type(exc).__name__] += 1


async def _webhooks(service: RunningService, rate: float, stop: float, latencies: list, statuses: Counter) -> None:
    async with httpx.AsyncClient(base_url=service.url, timeout=60) as client:
        sent = 0
        tasks = []

        async def one(i: int) -> None:
            form = service.twilio_form("halo", f"whatsapp:+62813{i:08d}", f"SM{i:032d}")
            started = time.monotonic()
            try:
                answer = await client.post("/webhooks/twilio", data=form,
                                           headers=service.twilio_headers("/webhooks/twilio", form))
                statuses[answer.status_code] += 1
            except httpx.HTTPError as exc:
                statuses[type(exc).__name__] += 1
            latencies.append(time.monotonic() - started)

        while time.monotonic() < stop:
            tasks.append(asyncio.create_task(one(sent)))
            sent += 1
            await asyncio.sleep(1 / rate)
        await asyncio.gather(*tasks)


async def flood(service: RunningService, clients: int, seconds: float, rate: float) -> dict:
    stop = time.monotonic() + seconds
    outcomes: Counter = Counter()
    statuses: Counter = Counter()
    latencies: list[float] = []
    await asyncio.gather(_webhooks(service, rate, stop, latencies, statuses),
                         *[_flood_client(service.url, n, stop, outcomes) for n in range(clients)])
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))] if latencies else float("nan")
    return {"webhooks": len(latencies), "webhook_statuses": dict(statuses), "p50": statistics.median(latencies),
            "p99": p99, "max": latencies[-1], "sign_in_answers": dict(outcomes)}


def measure(data_dir: Path, database_url: str, clients: int, seconds: float, rate: float) -> dict:
    prepare(database_url)
    service = RunningService(data_dir, database_url).start()
    try:
        return asyncio.run(flood(service, clients, seconds, rate))
    finally:
        service.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=40)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--webhooks-per-second", type=float, default=10)
    parser.add_argument("--database", choices=("sqlite", "postgres"), default="sqlite")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.database == "postgres":
            import os

            from storage.scratch import create_database, drop_database
            admin_url = os.environ["TEST_POSTGRES_URL"]
            url = create_database(admin_url)
        else:
            url = f"sqlite:///{Path(tmp) / 'umkm.sqlite3'}"
        try:
            result = measure(Path(tmp), url, args.clients, args.seconds, args.webhooks_per_second)
        finally:
            if args.database == "postgres":
                drop_database(admin_url, url)
    print(f"sign-in flood: {args.clients} clients for {args.seconds:.0f} s ({args.database}); "
          f"sign-in answers {result['sign_in_answers']}")
    print(f"webhooks: {result['webhooks']} answered {result['webhook_statuses']}; latency p50 "
          f"{result['p50'] * 1000:.0f} ms, p99 {result['p99'] * 1000:.0f} ms, max {result['max'] * 1000:.0f} ms "
          f"(target p99 < 1000 ms)")


if __name__ == "__main__":
    main()
