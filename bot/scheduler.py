"""The scheduler process (`umkm-bot scheduler`): periodic jobs in one APScheduler scheduler.

The jobs hold no state of their own. The reminder sweep asks the database what is due and hands
it to the outbox (bot/reminders.py explains why rows, not per-owner jobs). So:

- After downtime nothing is lost: the first sweep, run at start, finds every row that fell due
  while the process was down and sends each once. APScheduler's misfire handling plays no part
  (`misfire_grace_time=None`, `coalesce=True`: a late sweep simply runs, and only once).
- Running two scheduler processes by mistake sends nothing twice: sweeps claim rows with
  `FOR UPDATE SKIP LOCKED` and the outbox refuses a second message with the same key.

Other areas add periodic jobs with `register_job(name, func, seconds)` (`_register_area_jobs`
below lists them); each job gets the process's Services and should claim its rows the same way.
"""
from __future__ import annotations

import logging
import signal
from dataclasses import dataclass
from datetime import datetime
from typing import Callable
from zoneinfo import ZoneInfo

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.schedulers.base import BaseScheduler
from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.interval import IntervalTrigger

from bot import metrics
from bot.reminders import QuietHours, SweepReport, sweep_due
from bot.services import Services

log = logging.getLogger(__name__)

DEFAULT_SWEEP_SECONDS = 60
# A late run still runs (no misfire grace), piled-up runs collapse into one, never two at once.
JOB_OPTIONS = {"coalesce": True, "max_instances": 1, "misfire_grace_time": None}


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    func: Callable[[Services], object]
    seconds: float


JOBS: dict[str, PeriodicJob] = {}


def register_job(name: str, func: Callable[[Services], object], seconds: float) -> None:
    JOBS[name] = PeriodicJob(name, func, seconds)


def sweep_reminders(services: Services) -> SweepReport:
    return sweep_due(services.db, services.content, quiet=QuietHours.from_settings(services.settings))


register_job("reminder_sweep", sweep_reminders, DEFAULT_SWEEP_SECONDS)


def _register_area_jobs() -> None:
    # The handoff area's SLA check (reminds and escalates waiting mentor cases).
    from bot.handoff.sla import SLA_CHECK_EVERY_MINUTES, sla_job

    register_job("sla_check", sla_job, SLA_CHECK_EVERY_MINUTES * 60)
    # The broadcasts area: scheduled broadcasts whose time has come, and interrupted ones.
    from bot.broadcasts import sweep_job

    register_job("broadcast_sweep", sweep_job, DEFAULT_SWEEP_SECONDS)
    # Outgoing webhooks to other systems: queue what happened, deliver what is due.
    from bot.api.webhooks import webhook_job

    register_job("webhooks", webhook_job, 60)
    # Retention (bot/retention.py): old queue rows, outbox contents, logs; erased owners' farewells.
    from bot.retention import EVERY_SECONDS, retention_job

    register_job("retention", retention_job, EVERY_SECONDS)


_register_area_jobs()


@metrics.timed_job
def _safe(job: PeriodicJob, services: Services) -> None:
    # One failing run (database restarting, a bad content edit) must not stop later runs.
    try:
        job.func(services)
    except Exception:
        log.exception("scheduled job %s failed; it runs again at its next interval", job.name)


def build_scheduler(services: Services, *, blocking: bool = True, sweep_seconds: float | None = None) -> BaseScheduler:
    tz = ZoneInfo(services.settings.timezone)
    scheduler_class = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = scheduler_class(timezone=tz, job_defaults=JOB_OPTIONS)
    for job in JOBS.values():
        seconds = sweep_seconds if (sweep_seconds and job.name == "reminder_sweep") else job.seconds
        scheduler.add_job(
            _safe, IntervalTrigger(seconds=seconds, timezone=tz), args=[job, services], id=job.name,
            name=job.name, replace_existing=True, **JOB_OPTIONS,
            # First run at start: catch up on whatever fell due while the process was down.
            next_run_time=datetime.now(tz),
        )
    return scheduler


def run(services: Services, sweep_seconds: float | None = None) -> None:
    """Run until SIGINT/SIGTERM."""
    scheduler = build_scheduler(services, blocking=True, sweep_seconds=sweep_seconds)

    def stop(signum, _frame):
        log.info("scheduler stopping (signal %s)", signum)
        scheduler.shutdown(wait=False)

    signal.signal(signal.SIGTERM, stop)
    log.info("scheduler running jobs: %s", ", ".join(f"{j.name} every {j.seconds:g}s" for j in JOBS.values()))
    try:
        scheduler.start()
    except (KeyboardInterrupt, SystemExit):
        pass
