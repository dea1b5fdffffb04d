"""Benchmark: signed Twilio webhooks end to end, next to the bare HTTP floor, in one run.

    .venv/bin/python bench/webhook_load.py [--owners 600] [--closed-seconds 10] [--rate 200]
        [--open-seconds 10] [--connections 32] [--web 1] [--workers 0] [--skip-floor]
        [--sqlite-burst 200] [--only-sqlite]

Needs TEST_POSTGRES_URL (an admin URL; `scripts/postgres-test-server url` prints the local one).
Everything runs on loopback, on ports the OS hands out, and is stopped at the end.

Two servers are started as separate processes:
  * the floor: Starlette + uvicorn + the Twilio signature check, answering empty TwiML (the most
    an HTTP stack with the same settings can do on this machine);
  * the service: `umkm-bot run --no-sender --no-scheduler` on a fresh scratch PostgreSQL database
    (with --web N > 1: N such processes behind one port via SO_REUSEPORT is not portable, so the
    extra web processes get their own ports and the load is spread round robin; --workers N adds
    N `umkm-bot worker` processes, the split deployment).

Each is driven twice with the same message mix from --owners distinct WhatsApp numbers:
  * closed loop: --connections keep-alive connections, each posting its next webhook as soon as the
    previous one is answered, for --closed-seconds;
  * open loop: a steady --rate messages per second for --open-seconds, timed from the schedule
    (a late send counts against the answer time, no coordinated omission).

Printed per phase: accepted/s (webhooks answered 200), processed/s end to end (the inbox row done,
which commits in the same transaction as the reply's outbox row), p50/p99 webhook answer time and
reply lag (webhook sent -> reply in the outbox), server CPU per message (the service's processes,
the web processes and the inbox workers apart, and separately the PostgreSQL backends serving its
database), and the ratio to the floor.

Then the SQLite pilot: `umkm-bot run` on a SQLite file gets --sqlite-burst webhooks at the same
instant, twice (the second burst meets the first one's turns); printed: how many were answered and
the slowest answer (target: all within 2 s), and how long handling them all took.
"""
from __future__ import annotations

import argparse
import asyncio
import os
import random
import signal
import socket
import subprocess
import sys
import time
from datetime import timezone
from pathlib import Path
from urllib.parse import urlencode

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

PUBLIC = "https://bench.example.org"
ACCOUNT_SID = "AC" + "b3" * 16
AUTH_TOKEN = "bench-twilio-auth-token"
OUR_NUMBER = "whatsapp:+14155238886"
TEXTS = ["halo", "ya", "Bu Sari", "menu", "1", "bantuan", "apa itu NIB?", "kembali", "terima kasih", "2"]
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- the floor -------------------------------------------------------------------------------------
def floor_app():
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import PlainTextResponse, Response
    from starlette.routing import Route
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    twiml = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'

    async def webhook(request: Request) -> Response:
        form = await request.form()
        if not validator.validate(f"{PUBLIC}/webhooks/twilio", form, request.headers.get("X-Twilio-Signature", "")):
            return PlainTextResponse("forbidden", status_code=403)
        return Response(twiml, media_type="text/xml")

    return Starlette(routes=[Route("/webhooks/twilio", webhook, methods=["POST"])])


def serve_floor(port: int) -> None:
    import uvicorn

    uvicorn.run(floor_app(), host="127.0.0.1", port=port, log_level="warning", access_log=False)


# --- helpers ------------------------------------------------------------------------------------------
def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_port(port: int, process: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"server exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port}")


def tree_pids(root: int) -> list[int]:
    pids, todo = [], [root]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                todo.extend(int(p) for p in f.read().split())
        except OSError:
            pass
    return pids


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except (OSError, IndexError, ValueError):
            pass
    return total / CLK_TCK


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


class Messages:
    """Signed webhook bodies, owner after owner, each owner's messages in order."""

    def __init__(self, owners: int, run_id: str):
        from twilio.request_validator import RequestValidator

        self.validator = RequestValidator(AUTH_TOKEN)
        self.owners = owners
        self.run_id = run_id
        self.count = 0
        self.order = list(range(owners))
        random.Random(7).shuffle(self.order)

    def next(self) -> tuple[str, bytes]:
        i = self.count
        self.count += 1
        owner = self.order[i % self.owners]
        text = TEXTS[(i // self.owners) % len(TEXTS)]
        sid = f"SM{self.run_id}{i:024d}"
        form = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID,
                "From": f"whatsapp:+628{owner:010d}", "To": OUR_NUMBER, "Body": text, "NumMedia": "0",
                "ProfileName": "Bu Sari", "MessageType": "text", "ApiVersion": "2010-04-01"}
        signature = self.validator.compute_signature(f"{PUBLIC}/webhooks/twilio", form)
        body = urlencode(form).encode()
        head = (f"POST /webhooks/twilio HTTP/1.1\r\nHost: bench\r\nX-Twilio-Signature: {signature}\r\n"
                f"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {len(body)}\r\n\r\n").encode()
        return sid, head + body


class Connection:
    """A minimal keep-alive HTTP/1.1 client: the load generator shares the two cores, so it must be lean."""

    # uvicorn closes a keep-alive connection after 5 s without a request. A client that writes into
    # one just as it is closed sees a reset that says nothing about the service, so, as HTTP client
    # pools do, a connection idle longer than this is dropped and opened afresh before use.
    IDLE_LIMIT = 3.0

    def __init__(self, port: int):
        self.port = port
        self.reader = self.writer = None
        self.last_used = 0.0

    async def post(self, raw: bytes) -> int:
        now = time.monotonic()
        if self.writer is not None and now - self.last_used > self.IDLE_LIMIT:
            self.close()
            self.writer = None
        self.last_used = now
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = 0
        for line in head.split(b"\r\n"):
            if line.lower().startswith(b"content-length:"):
                length = int(line.split(b":", 1)[1])
        if length:
            await self.reader.readexactly(length)
        if b"connection: close" in head.lower():
            self.writer.close()
            self.writer = None
        return status

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


class Phase:
    def __init__(self, name: str):
        self.name = name
        self.sent_at: dict[str, float] = {}
        self.answer_ms: list[float] = []
        self.accepted = 0
        self.errors = 0
        self.started = self.ended = 0.0

    async def one(self, conn: Connection, sid: str, raw: bytes, scheduled: float) -> None:
        self.sent_at[sid] = scheduled
        try:
            status = await conn.post(raw)
        except (OSError, asyncio.IncompleteReadError):
            conn.writer = None
            self.errors += 1
            return
        self.answer_ms.append((time.time() - scheduled) * 1000)
        if status == 200:
            self.accepted += 1
        else:
            self.errors += 1


async def closed_loop(ports: list[int], messages: Messages, connections: int, seconds: float) -> Phase:
    phase = Phase("closed loop")
    conns = [Connection(ports[i % len(ports)]) for i in range(connections)]
    phase.started = time.time()
    deadline = phase.started + seconds

    async def client(conn: Connection) -> None:
        while time.time() < deadline:
            sid, raw = messages.next()
            await phase.one(conn, sid, raw, time.time())

    await asyncio.gather(*(client(c) for c in conns))
    phase.ended = time.time()
    for c in conns:
        c.close()
    return phase


async def open_loop(ports: list[int], messages: Messages, rate: float, seconds: float) -> Phase:
    phase = Phase(f"open loop {rate:.0f}/s")
    idle: list[Connection] = [Connection(ports[i % len(ports)]) for i in range(64)]
    made = len(idle)
    total = int(rate * seconds)
    prepared = [messages.next() for _ in range(total)]
    phase.started = time.time()
    tasks = []

    async def send(i: int, scheduled: float) -> None:
        nonlocal made
        conn = idle.pop() if idle else Connection(ports[(made := made + 1) % len(ports)])
        sid, raw = prepared[i]
        await phase.one(conn, sid, raw, scheduled)
        idle.append(conn)

    for i in range(total):
        scheduled = phase.started + i / rate
        delay = scheduled - time.time()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(send(i, scheduled)))
    await asyncio.gather(*tasks)
    phase.ended = time.time()
    for c in idle:
        c.close()
    return phase


# --- the real service ------------------------------------------------------------------------------
class Service:
    def __init__(self, url: str, web: int, workers: int, data_dir: Path, ingest_only: bool = False):
        self.ingest_only = ingest_only
        self.url = url
        self.ports = [free_port() for _ in range(web)]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "DATABASE_URL"))}
        env.update(DATABASE_URL=url, UMKM_DATA_DIR=str(data_dir), CONTENT_DIR=str(REPO / "content"),
                   PUBLIC_BASE_URL=PUBLIC, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                   TWILIO_WHATSAPP_FROM=OUR_NUMBER, TWILIO_API_BASE="http://127.0.0.1:9")
        self.env = env
        binary = str(Path(sys.executable).parent / "umkm-bot")
        # migrate once, before several processes start
        subprocess.run([binary, "db", "upgrade"], env=env, check=True, stdout=subprocess.DEVNULL)
        self.processes = []
        # The services' log goes to a file (a pipe nobody reads would block them once full); its
        # warnings and errors are summed up at the end.
        self.log_path = data_dir / "service.log"
        self.log = open(self.log_path, "w")
        for i, port in enumerate(self.ports):
            args = [binary, "run", "--no-sender", "--no-scheduler", "--port", str(port)]
            if i > 0 or workers or ingest_only:
                args.append("--no-worker")
            self.processes.append(subprocess.Popen(args, env={**env, "UMKM_PORT": str(port)},
                                                   stdout=subprocess.DEVNULL, stderr=self.log))
        for _ in range(workers):
            self.processes.append(subprocess.Popen([binary, "worker"], env=env, stdout=subprocess.DEVNULL,
                                                   stderr=self.log))
        for port, process in zip(self.ports, self.processes):
            wait_port(port, process)
        from sqlalchemy import create_engine

        self.engine = create_engine(url, pool_size=2)
        if not ingest_only:
            self.wait_workers_ready()

    def wait_workers_ready(self, timeout: float = 180.0) -> None:
        """Wait until every inbox worker LISTENs, which it does once started and warmed up (its
        understanding step trained: about 4 s of CPU per process). Load sent before that meets
        workers still starting, and their start-up CPU would be counted as the messages' cost."""
        from sqlalchemy import text

        started = time.monotonic()
        while time.monotonic() - started < timeout:
            children = [pid for p in self.processes for pid in tree_pids(p.pid) if pid != p.pid]
            expected = len(children) + sum(1 for p in self.processes[len(self.ports):])
            with self.engine.connect() as conn:
                listening = conn.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                                             "AND query ILIKE 'LISTEN %'"))
            if expected and listening >= expected:
                print(f"  {listening} inbox worker(s) ready {time.monotonic() - started:.1f} s after the web port opened")
                return
            time.sleep(0.2)
        print(f"  inbox workers not all ready after {timeout:.0f} s; measuring anyway")

    def pids(self) -> list[int]:
        return [pid for p in self.processes for pid in tree_pids(p.pid)]

    def web_pids(self) -> list[int]:
        """The web processes alone (`umkm-bot run`), without their child inbox workers."""
        return [p.pid for p in self.processes[:len(self.ports)]]

    def backend_pids(self) -> list[int]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return list(conn.scalars(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                          "AND pid <> pg_backend_pid()")))

    def done(self, since) -> list[tuple[str, float]]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            rows = conn.execute(text("SELECT message_id, processed_at FROM channel_inbox "
                                     "WHERE status = 'done' AND processed_at >= :since"), {"since": since}).all()
        return [(sid, at.replace(tzinfo=timezone.utc).timestamp() if at.tzinfo is None else at.timestamp())
                for sid, at in rows]

    def stop(self) -> None:
        for p in self.processes:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in self.processes:
            try:
                p.wait(30)
            except subprocess.TimeoutExpired:
                p.kill()
        self.engine.dispose()
        self.log.close()
        lines = self.log_path.read_text(errors="replace").splitlines()
        worrying = [line for line in lines if " WARNING " in line or " ERROR " in line or "Traceback" in line]
        print(f"  service log: {len(lines)} lines, {len(worrying)} warnings/errors"
              + "".join(f"\n    {line[:160]}" for line in worrying[:5]))


async def burst(port: int, messages: Messages, count: int) -> Phase:
    """`count` webhooks at the same instant, each on its own connection."""
    phase = Phase(f"burst of {count}")
    prepared = [messages.next() for _ in range(count)]
    conns = [Connection(port) for _ in range(count)]
    phase.started = time.time()
    await asyncio.gather(*(phase.one(c, sid, raw, phase.started) for c, (sid, raw) in zip(conns, prepared)))
    phase.ended = time.time()
    for c in conns:
        c.close()
    return phase


def sqlite_burst(count: int, owners: int) -> None:
    """The SQLite pilot: `umkm-bot run` on a SQLite file (its worker in the same process), and
    `count` concurrent webhooks; all must be answered well inside Twilio's 15 s (target: 2 s)."""
    import sqlite3
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "pilot.sqlite3"
        port = free_port()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("TWILIO_", "TELEGRAM_", "DATABASE_URL"))}
        env.update(DATABASE_URL=f"sqlite:///{path}", UMKM_DATA_DIR=tmp, CONTENT_DIR=str(REPO / "content"),
                   PUBLIC_BASE_URL=PUBLIC, TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                   TWILIO_WHATSAPP_FROM=OUR_NUMBER, TWILIO_API_BASE="http://127.0.0.1:9")
        binary = str(Path(sys.executable).parent / "umkm-bot")
        process = subprocess.Popen([binary, "run", "--no-sender", "--no-scheduler", "--port", str(port)], env=env,
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_port(port, process)
            messages = Messages(owners, "Q")
            print(f"SQLite pilot (umkm-bot run on a SQLite file, worker in the same process):")
            for round_ in range(2):  # the second burst meets the first one's turns still running
                phase = asyncio.run(burst(port, messages, count))
                print(f"  {phase.name:<16} answered {phase.accepted}/{count}  answer p50 {pct(phase.answer_ms, .5):7.1f} ms"
                      f"  p99 {pct(phase.answer_ms, .99):7.1f} ms  max {max(phase.answer_ms or [float('nan')]):7.1f} ms"
                      + (f"  errors {phase.errors}" if phase.errors else ""))
            started = time.time()
            total = messages.count
            while time.time() - started < 300:
                with sqlite3.connect(path, timeout=30) as conn:
                    done = conn.execute("SELECT count(*) FROM channel_inbox WHERE status = 'done'").fetchone()[0]
                if done >= total:
                    break
                time.sleep(0.5)
            print(f"  {'':<16} all {done}/{total} handled {time.time() - started:.1f} s after the last answer")
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(30)


def report(phase: Phase, cpu_app: float | None, cpu_pg: float | None, processed: dict[str, float] | None,
           floor: Phase | None, cpu_web: float | None = None) -> dict:
    seconds = phase.ended - phase.started
    out = {"accepted_s": phase.accepted / seconds}
    line = (f"  {phase.name:<16} sent {len(phase.sent_at):>6}  accepted/s {out['accepted_s']:8.1f}  "
            f"answer p50 {pct(phase.answer_ms, .5):7.1f} ms  p99 {pct(phase.answer_ms, .99):7.1f} ms")
    if phase.errors:
        line += f"  errors {phase.errors}"
    print(line)
    if processed is not None:
        lags = [(processed[sid] - sent) * 1000 for sid, sent in phase.sent_at.items() if sid in processed]
        finished = [processed[sid] for sid in phase.sent_at if sid in processed]
        span = (max(finished) - phase.started) if finished else float("nan")
        out["processed_s"] = len(finished) / span if finished else 0.0
        out["lag_p99"] = pct(lags, .99)
        print(f"  {'':<16} processed {len(finished):>6}/{len(phase.sent_at)}  processed/s end to end "
              f"{out['processed_s']:8.1f}  reply lag p50 {pct(lags, .5):7.1f} ms  p99 {pct(lags, .99):7.1f} ms")
    if cpu_app is not None:
        n = max(1, len(phase.sent_at))
        extra = f", PostgreSQL backends {cpu_pg / n * 1000:.2f} ms" if cpu_pg is not None else ""
        if cpu_web is not None and not service_only_web(cpu_app, cpu_web):
            extra = (f" (web {cpu_web / n * 1000:.2f} ms + inbox workers {(cpu_app - cpu_web) / n * 1000:.2f} ms)"
                     + extra)
        print(f"  {'':<16} CPU per message: service {cpu_app / n * 1000:.2f} ms{extra}")
        if cpu_pg is not None and processed is not None:
            # What the measured CPU cost allows on this machine's cores with nothing else running
            # (the load generator and other processes on a shared machine take their share first).
            per_message = (cpu_app + cpu_pg) / n
            print(f"  {'':<16} CPU-bound ceiling: {os.cpu_count()} cores / {per_message * 1000:.2f} ms = "
                  f"{os.cpu_count() / per_message:.0f} msg/s")
    if floor is not None:
        fs = floor.accepted / (floor.ended - floor.started)
        ratio = f"  ratio to the floor: accepted {out['accepted_s'] / fs:.2f}"
        if "processed_s" in out:
            ratio += f", processed {out['processed_s'] / fs:.2f}"
        print(ratio)
    return out


def service_only_web(cpu_app: float, cpu_web: float) -> bool:
    return abs(cpu_app - cpu_web) < 1e-9


async def drive(ports: list[int], messages: Messages, args, service: Service | None, floor_phases=None):
    results = []
    for kind in ("closed", "open"):
        pids = service.pids() if service else None
        web = service.web_pids() if service else None
        backends = service.backend_pids() if service else None
        cpu0 = cpu_seconds(pids) if pids else None
        web0 = cpu_seconds(web) if web else None
        pg0 = cpu_seconds(backends) if backends else None
        from datetime import datetime

        since = datetime.now(timezone.utc)
        if kind == "closed":
            phase = await closed_loop(ports, messages, args.connections, args.closed_seconds)
        else:
            phase = await open_loop(ports, messages, args.rate, args.open_seconds)
        processed = None
        if service is not None and not service.ingest_only:
            deadline = time.time() + args.drain_timeout
            while True:
                processed = dict(await asyncio.to_thread(service.done, since))
                if all(sid in processed for sid in phase.sent_at) or time.time() > deadline:
                    break
                await asyncio.sleep(0.2)
        pids = sorted(set(pids) | set(service.pids())) if service else None  # workers started meanwhile count too
        cpu_app = cpu_seconds(pids) - cpu0 if pids else None
        cpu_web = cpu_seconds(web) - web0 if web else None
        cpu_pg = None
        if backends is not None:
            backends = sorted(set(backends) | set(service.backend_pids()))
            cpu_pg = cpu_seconds(backends) - (pg0 or 0.0)
        floor = floor_phases[len(results)] if floor_phases else None
        results.append((phase, report(phase, cpu_app, cpu_pg, processed, floor, cpu_web)))
        await asyncio.sleep(1)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--owners", type=int, default=600)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--closed-seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=200.0)
    parser.add_argument("--open-seconds", type=float, default=10.0)
    parser.add_argument("--drain-timeout", type=float, default=120.0)
    parser.add_argument("--web", type=int, default=1, help="web processes (umkm-bot run; the first also works the inbox)")
    parser.add_argument("--workers", type=int, default=0, help="separate umkm-bot worker processes (split deployment)")
    parser.add_argument("--skip-floor", action="store_true")
    parser.add_argument("--ingest-only", action="store_true",
                        help="also measure the web processes alone (no inbox worker): the store-and-answer floor")
    parser.add_argument("--sqlite-burst", type=int, default=200, help="concurrent webhooks for the SQLite pilot (0: skip)")
    parser.add_argument("--only-sqlite", action="store_true")
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return
    if args.only_sqlite:
        sqlite_burst(args.sqlite_burst, args.owners)
        return
    admin = os.environ.get("TEST_POSTGRES_URL")
    if not admin:
        raise SystemExit("set TEST_POSTGRES_URL (scripts/postgres-test-server url)")
    from storage.scratch import scratch_database

    print(f"webhook load: {args.owners} owners, closed loop {args.connections} connections x {args.closed_seconds:.0f} s, "
          f"open loop {args.rate:.0f}/s x {args.open_seconds:.0f} s; web {args.web}, workers {args.workers}, "
          f"{os.cpu_count()} cores")
    floor_phases = None
    if not args.skip_floor:
        port = free_port()
        floor = subprocess.Popen([sys.executable, __file__, "--serve-floor", str(port)])
        try:
            wait_port(port, floor)
            print("floor (Starlette + uvicorn + signature check, empty TwiML):")
            results = asyncio.run(drive([port], Messages(args.owners, "F"), args, None))
            floor_phases = [phase for phase, _ in results]
        finally:
            floor.terminate()
            floor.wait(10)
    import tempfile

    if args.ingest_only:
        with scratch_database(admin, prefix="umkm_bench_load") as url, tempfile.TemporaryDirectory() as tmp:
            service = Service(url, args.web, 0, Path(tmp), ingest_only=True)
            try:
                print(f"web only (umkm-bot run --no-worker x{args.web}: verify, one INSERT, answer):")
                asyncio.run(drive(service.ports, Messages(args.owners, "I"), args, service, floor_phases))
            finally:
                service.stop()
    with scratch_database(admin, prefix="umkm_bench_load") as url, tempfile.TemporaryDirectory() as tmp:
        service = Service(url, args.web, args.workers, Path(tmp))
        try:
            print(f"service (umkm-bot run x{args.web}" + (f" + umkm-bot worker x{args.workers}" if args.workers else "")
                  + ", PostgreSQL scratch database):")
            asyncio.run(drive(service.ports, Messages(args.owners, "S"), args, service, floor_phases))
        finally:
            service.stop()
    if args.sqlite_burst:
        sqlite_burst(args.sqlite_burst, args.owners)


if __name__ == "__main__":
    main()
