"""`umkm-bot worker`: run the owners' turns from the inbound queue (see bot/worker.py).

  umkm-bot worker                 work until stopped (SIGTERM/Ctrl-C: the batch in hand finishes)
  umkm-bot worker --drain         handle what is waiting now, then exit
"""
from __future__ import annotations

import asyncio
import signal

import click

from bot.channels import runtime
from bot.services import build_services
from bot.worker import DEFAULT_BATCH


def register(group: click.Group) -> None:
    @group.command("worker")
    @click.option("--batch", default=DEFAULT_BATCH, show_default=True, type=click.IntRange(1, 500),
                  help="Messages (of as many owners) per transaction. SQLite always takes one at a time.")
    @click.option("--concurrency", default=1, show_default=True, type=click.IntRange(1, 16),
                  help="Batches in flight in this process.")
    @click.option("--drain", is_flag=True, help="Handle what is waiting now, then exit.")
    @click.option("--nice", default=0, show_default=True, type=click.IntRange(0, 19),
                  help="Lower this process's CPU priority (`umkm-bot run` uses 10 for its child worker, so "
                       "webhooks on the same cores are answered first).")
    def worker(batch: int, concurrency: int, drain: bool, nice: int) -> None:
        """Handle stored webhooks: claim batches across owners, run their turns, queue the replies.
        Run as many as the database and cores allow; they share the queue safely."""
        import os

        from bot import metrics
        from bot.nlu.understand import warm
        from bot.worker import InboxWorker

        if nice:
            os.nice(nice)
        # Asked to stop while still starting (a few seconds of imports and training): no batch is
        # in hand, so stop cleanly as soon as the start is over instead of dying of the signal.
        stopping = []
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda signum, frame: stopping.append(signum))
        services = build_services()
        rt = runtime(services)
        warm(services.content)  # train the understanding step now, not on the first message
        if stopping:
            return
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL)
        if not drain:
            metrics.serve_standalone("worker")  # on METRICS_PORT, when set
        if drain:
            click.echo(f"handled={rt.inbox.work_until_idle(batch)}")
            return
        inbox_worker = InboxWorker(rt.inbox, batch=batch, concurrency=concurrency)

        async def main() -> None:
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await inbox_worker.run(stop)

        asyncio.run(main())
