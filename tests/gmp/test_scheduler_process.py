"""The scheduler process: its APScheduler job runs the sweep at start and never drops a late run;
`umkm-bot scheduler --once` sweeps from the command line."""
from __future__ import annotations

import json
import time
from dataclasses import replace
from datetime import timedelta

from click.testing import CliRunner
from sqlalchemy import func, select

from bot import reminders, scheduler
from bot.cli import main
from bot.clock import utcnow
from bot.config import load_settings
from bot.content import get_content
from bot.services import Services
from storage.models import OutboxMessage
from tests.conftest import REPO
from tests.gmp.helpers import add_owner, write_marked


def services_for(db, content) -> Services:
    # Quiet hours off: these tests run on the real clock, which may be night in Jakarta.
    settings = replace(load_settings(), database_url=db.url, quiet_start_hour=0, quiet_end_hour=0)
    return Services(settings=settings, db=db, content=content)


def schedule_due(db) -> None:
    with db.session() as s:
        owner = add_owner(s)
        reminders.schedule(s, owner.id, "self_check", utcnow() - timedelta(days=3), "k",
                           payload={"checklist": "cppb_irt", "level": "I"})


def outbox_count(db) -> int:
    """Reminders handed to the sender, counted where they end up: the outbox messages the sender
    writes first thing (`write_marked`), nothing else."""
    write_marked(db, get_content(REPO / "content"))
    with db.session() as s:
        return s.scalar(select(func.count()).select_from(OutboxMessage))


def test_sweep_job_never_drops_a_late_run(db, content):
    sched = scheduler.build_scheduler(services_for(db, content), blocking=False)
    job = sched.get_job("reminder_sweep")
    assert job.misfire_grace_time is None and job.coalesce is True and job.max_instances == 1


def test_scheduler_process_sweeps_missed_reminder_on_start(db, content):
    schedule_due(db)
    sched = scheduler.build_scheduler(services_for(db, content), blocking=False, sweep_seconds=3600)
    sched.start()
    try:
        deadline = time.monotonic() + 10
        while outbox_count(db) == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        sched.shutdown(wait=True)
    assert outbox_count(db) == 1


def test_cli_scheduler_once(db, content, monkeypatch):
    schedule_due(db)
    monkeypatch.setenv("DATABASE_URL", db.url)
    monkeypatch.setenv("QUIET_START_HOUR", "0")
    monkeypatch.setenv("QUIET_END_HOUR", "0")
    result = CliRunner().invoke(main, ["scheduler", "--once"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.strip().splitlines()[-1])["queued"] == 1
    assert outbox_count(db) == 1


def test_scheduler_also_runs_the_handoff_sla_check(db, content):
    sched = scheduler.build_scheduler(services_for(db, content), blocking=False)
    assert {job.id for job in sched.get_jobs()} >= {"reminder_sweep", "sla_check"}
