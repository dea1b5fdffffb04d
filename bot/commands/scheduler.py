"""`umkm-bot scheduler`: the one process that runs periodic jobs (the reminder sweep)."""
from __future__ import annotations

import json

import click


def register(group: click.Group) -> None:
    @group.command("scheduler")
    @click.option("--once", is_flag=True, help="Run one reminder sweep, print its counts as JSON, and exit.")
    @click.option("--interval", type=float, default=None, help="Seconds between reminder sweeps (default 60).")
    def scheduler_command(once: bool, interval: float | None) -> None:
        """Run the scheduler: sweeps due reminders into the outbox (quiet hours respected)."""
        from bot import metrics, scheduler
        from bot.services import build_services

        services = build_services()
        if once:
            report = scheduler.sweep_reminders(services)
            click.echo(json.dumps({
                "queued": report.queued, "suppressed": report.suppressed, "expired": report.expired,
                "failed": report.failed, "batches": report.batches,
                "quiet_until": report.quiet_until.isoformat() if report.quiet_until else None,
            }))
            return
        metrics.serve_standalone("scheduler")  # on METRICS_PORT, when set
        scheduler.run(services, sweep_seconds=interval)
