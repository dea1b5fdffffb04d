"""Prometheus metrics: what an operator watches (docs/operations.md lists each, and what to alert on).

Two kinds:

- Counters and histograms this process moves as it works, through one-line hooks where the work
  happens: `count_inbound` on the inbox's `store_many` (every webhook message), `observe_turn` on
  `pipeline.handle` and `observe_inbox_turn` on the inbox workers' turns, `send_result` in the
  sender's lane, `timed_job` on the scheduler's jobs. Turns are counted by the process that runs
  them (an inbox worker), webhooks by the web process that stores them.
- Gauges read from the database when scraped (`DatabaseCollector`): inbox and outbox depth and
  age, open mentor cases and SLA breaches. They describe the whole deployment, whichever process
  answers, so any one web process is enough to scrape for them.

Every process serves its own metrics (no shared multiprocess directory, which would need one
volume shared by every container): a web process at `/metrics` on its own port
(bot/routes/metrics.py), and `umkm-bot sender` / `umkm-bot scheduler` on METRICS_PORT when it is
set (`serve_standalone`). Either way the endpoint answers only with `Authorization: Bearer
METRICS_TOKEN` when a token is set, and only to loopback clients when none is.
"""
from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import os
import threading
from datetime import datetime
from socketserver import ThreadingMixIn
from typing import Callable, Iterable
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

INBOUND = Counter(
    "umkm_inbound_messages_total",
    "Owner and mentor messages, per channel and outcome: stored/duplicate when a webhook delivers "
    "them; answered/silent/error when their turn ends.",
    ["channel", "outcome"],
)
TURN_SECONDS = Histogram(
    "umkm_turn_seconds",
    "Time of one turn (pipeline.handle: lock, route, save), per channel.",
    ["channel"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0),
)
SENDS = Counter(
    "umkm_sends_total",
    "Send attempts through a provider, per channel and result (accepted, rate_limited, transient, "
    "window_closed, unreachable, permanent, error).",
    ["channel", "result"],
)
RATE_LIMIT_PAUSES = Counter(
    "umkm_rate_limit_pauses_total",
    "Times a channel paused all sending because the provider answered 429.",
    ["channel"],
)
SWEEP_SECONDS = Histogram(
    "umkm_sweep_seconds",
    "Duration of one run of a periodic job (reminder sweep, SLA check, broadcast sweep).",
    ["job"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0),
)


# --- hooks (one line each where the work happens) ---------------------------------------------
def count_inbound(store_many: Callable) -> Callable:
    """Decorates Inbox.store_many(self, items) -> list[bool] (every webhook's write, grouped or
    not): counts stored and duplicate messages."""

    @functools.wraps(store_many)
    def wrapper(self, items, *args, **kwargs):
        answers = store_many(self, items, *args, **kwargs)
        for incoming, stored in zip(items, answers):
            INBOUND.labels(incoming.channel, "stored" if stored else "duplicate").inc()
        return answers

    return wrapper


def observe_turn(handle: Callable) -> Callable:
    """Decorates pipeline.handle(inbound, ...): turn latency, and how the turn ended."""

    @functools.wraps(handle)
    def wrapper(inbound, *args, **kwargs):
        channel = getattr(inbound, "channel", "") or "unknown"
        outcome = "error"
        with TURN_SECONDS.labels(channel).time():
            try:
                replies = handle(inbound, *args, **kwargs)
                outcome = "answered" if replies else "silent"
                return replies
            finally:
                INBOUND.labels(channel, outcome).inc()

    return wrapper


def observe_inbox_turn(turn: Callable) -> Callable:
    """Wraps an inbox worker's turn(session, db, inbound, content, writes) -> TurnResult: the same
    latency and outcome as `observe_turn`, for the turns the workers run from the inbox."""

    @functools.wraps(turn)
    def wrapper(session, db, inbound, *args, **kwargs):
        channel = getattr(inbound, "channel", "") or "unknown"
        outcome = "error"
        with TURN_SECONDS.labels(channel).time():
            try:
                result = turn(session, db, inbound, *args, **kwargs)
                outcome = "answered" if getattr(result, "replies", None) else "silent"
                return result
            finally:
                INBOUND.labels(channel, outcome).inc()

    return wrapper


_RESULTS = {"RecipientUnreachable": "unreachable", "WindowClosed": "window_closed",
            "PermanentError": "permanent", "TransientError": "transient"}


def send_result(channel: str, outcome: BaseException | None, paused: float | None = None) -> None:
    """One send through a provider: None for accepted, else the error it raised."""
    if outcome is None:
        result = "accepted"
    elif getattr(outcome, "rate_limited", False):
        result = "rate_limited"
    else:
        result = next((label for cls in type(outcome).__mro__ if (label := _RESULTS.get(cls.__name__))), "error")
    SENDS.labels(channel, result).inc()
    if paused:
        RATE_LIMIT_PAUSES.labels(channel).inc()


def timed_job(run: Callable) -> Callable:
    """Decorates the scheduler's `_safe(job, services)`: each job run's duration."""

    @functools.wraps(run)
    def wrapper(job, *args, **kwargs):
        name = getattr(job, "name", str(job))
        with SWEEP_SECONDS.labels(name).time():
            return run(job, *args, **kwargs)

    return wrapper


# --- gauges read from the database at scrape time ---------------------------------------------
class DatabaseCollector(Collector):
    """Queue depth and age, open cases and SLA breaches, queried when Prometheus scrapes."""

    def __init__(self, db):
        self.db = db
        self.engine = _reading_engine(db)

    def describe(self) -> Iterable:
        return []  # collected lazily: nothing is queried when the collector is registered

    def collect(self) -> Iterable:
        from sqlalchemy import func, select

        from bot.clock import as_utc, utcnow
        from storage.models import OutboxMessage, Ticket
        from storage.models.channels import ChannelInbox
        from storage.models.handoff import CaseRouting

        now = utcnow()

        def age(oldest: datetime | None) -> float:
            return max(0.0, (now - as_utc(oldest)).total_seconds()) if oldest else 0.0

        up = GaugeMetricFamily("umkm_database_up", "1 when the database answered this scrape's queries.")
        inbox_depth = GaugeMetricFamily("umkm_inbox_messages", "Messages in the inbound queue, per channel and status.",
                                        labels=["channel", "status"])
        inbox_age = GaugeMetricFamily("umkm_inbox_oldest_age_seconds",
                                      "Age of the oldest message in the inbound queue, per channel and status.",
                                      labels=["channel", "status"])
        outbox_depth = GaugeMetricFamily("umkm_outbox_messages", "Messages in the outbox, per kind and status.",
                                         labels=["kind", "status"])
        outbox_age = GaugeMetricFamily("umkm_outbox_oldest_age_seconds",
                                       "Age of the oldest message not yet sent (pending/sending), per kind and status.",
                                       labels=["kind", "status"])
        cases = GaugeMetricFamily("umkm_cases_open", "Mentor cases not resolved, per status (open = untaken).",
                                  labels=["status"])
        breaches = GaugeMetricFamily("umkm_cases_sla_breached",
                                     "Untaken cases past an SLA threshold (reminded: past remind_after_hours; "
                                     "escalated: past escalate_after_hours, offered to the supervisors).",
                                     labels=["stage"])
        try:
            with self.engine.connect() as conn:
                I = ChannelInbox
                for channel, status, count, oldest in conn.execute(
                    select(I.channel, I.status, func.count(), func.min(I.received_at))
                    .where(I.status != "done").group_by(I.channel, I.status)
                ):
                    inbox_depth.add_metric([channel, status], count)
                    inbox_age.add_metric([channel, status], age(oldest))
                O = OutboxMessage
                for kind, status, count, oldest in conn.execute(
                    select(O.kind, O.status, func.count(), func.min(O.created_at)).group_by(O.kind, O.status)
                ):
                    outbox_depth.add_metric([kind, status], count)
                    if status in ("pending", "sending"):
                        outbox_age.add_metric([kind, status], age(oldest))
                counts = dict(conn.execute(
                    select(Ticket.status, func.count()).where(Ticket.status != "resolved").group_by(Ticket.status)
                ).all())
                for status in ("open", "taken"):
                    cases.add_metric([status], counts.get(status, 0))
                untaken = select(func.count()).select_from(Ticket).join(
                    CaseRouting, CaseRouting.ticket_id == Ticket.id).where(Ticket.status == "open")
                breaches.add_metric(["escalated"], conn.scalar(untaken.where(CaseRouting.escalated_at.is_not(None))))
                breaches.add_metric(["reminded"], conn.scalar(untaken.where(
                    CaseRouting.reminded_at.is_not(None), CaseRouting.escalated_at.is_(None))))
                conn.rollback()
        except Exception:  # a scrape during an outage says so instead of failing
            log.warning("metrics: the database did not answer", exc_info=True)
            up.add_metric([], 0)
            return [up]
        up.add_metric([], 1)
        return [up, inbox_depth, inbox_age, outbox_depth, outbox_age, cases, breaches]


_READERS: dict[str, object] = {}
_READERS_LOCK = threading.Lock()


def _reading_engine(db):
    """PostgreSQL: the process's engine. SQLite: an engine of plain reads, because every
    transaction of the process's engine begins with BEGIN IMMEDIATE (storage/db.py) and a scrape
    must never wait for, or hold up, a turn's write lock."""
    if db.dialect != "sqlite":
        return db.engine
    with _READERS_LOCK:
        engine = _READERS.get(db.url)
        if engine is None:
            from sqlalchemy import create_engine

            engine = _READERS[db.url] = create_engine(db.url, connect_args={"timeout": 5})
        return engine


def render(db=None) -> bytes:
    """This process's metrics, plus the database gauges when `db` is given."""
    output = generate_latest(REGISTRY)
    if db is not None:
        registry = CollectorRegistry(auto_describe=False)
        registry.register(DatabaseCollector(db))
        output += generate_latest(registry)
    return output


# --- who may read them --------------------------------------------------------------------------
def metrics_token() -> str:
    return os.environ.get("METRICS_TOKEN", "").strip()


def allowed(client_host: str | None, authorization: str | None, token: str | None = None) -> bool:
    """With a token: only `Authorization: Bearer <token>`. Without: only loopback clients."""
    token = metrics_token() if token is None else token
    if token:
        scheme, _, given = (authorization or "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
    try:
        return bool(client_host) and ipaddress.ip_address(client_host).is_loopback
    except ValueError:
        return False


# --- a small server for processes without a web app (sender, scheduler) -------------------------
class _ThreadingServer(ThreadingMixIn, WSGIServer):
    daemon_threads = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # scrapes every 15 s would drown the log
        pass


def wsgi_app(db=None):
    def app(environ, start_response):
        if environ.get("PATH_INFO") == "/health":  # the container healthcheck; says nothing else
            start_response("200 OK", [("Content-Type", "text/plain")])
            return [b"ok"]
        if environ.get("PATH_INFO", "/") not in ("/", "/metrics"):
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found"]
        if not allowed(environ.get("REMOTE_ADDR"), environ.get("HTTP_AUTHORIZATION")):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"forbidden"]
        body = render(db)
        start_response("200 OK", [("Content-Type", CONTENT_TYPE_LATEST), ("Content-Length", str(len(body)))])
        return [body]

    return app


def serve_standalone(process: str, db=None) -> WSGIServer | None:
    """Serve this process's metrics on METRICS_HOST:METRICS_PORT (default host 127.0.0.1) in a
    daemon thread, when METRICS_PORT is set, and an open /health for the container healthcheck
    (bot/healthcheck.py). Returns the server, or None when METRICS_PORT is not set."""
    port = os.environ.get("METRICS_PORT", "").strip()
    if not port:
        return None
    host = os.environ.get("METRICS_HOST", "").strip() or "127.0.0.1"
    server = make_server(host, int(port), wsgi_app(db), server_class=_ThreadingServer, handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name=f"{process}-metrics", daemon=True).start()
    log.info("%s metrics on http://%s:%s/metrics%s", process, host, server.server_port,
             "" if metrics_token() else " (loopback clients only: set METRICS_TOKEN to scrape from elsewhere)")
    return server
