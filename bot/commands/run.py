"""`umkm-bot run`: the whole service in one process.

The web app (webhooks, health, pages, web chat) under uvicorn, plus, in the same event loop,
the outbox sender and, with --telegram-polling, Telegram long polling. The owners' turns run in an
inbox worker (bot/worker.py): on PostgreSQL child `umkm-bot worker` processes (two on a machine with
two or more cores, else one; --workers N), so turns never compete with the webhooks for this
process's interpreter lock; on SQLite in this event loop. --no-worker leaves them to separate `umkm-bot worker` processes (split deployment).
Without any channel token the service still runs (SQLite by default): the console and the web
chat work, the channels are simply off.

Stopping (Ctrl-C or SIGTERM) stops accepting requests, then lets in-flight sends finish, so a
graceful stop never leaves a message in doubt (see bot/sender.py).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import threading

import click
import uvicorn
from uvicorn.server import HANDLED_SIGNALS

from bot.app import create_app
from bot.scheduler import build_scheduler
from bot.channels import ChannelRuntime, runtime
from bot.services import Services, build_services
from bot.worker import DEFAULT_BATCH

log = logging.getLogger(__name__)


class _Server(uvicorn.Server):
    """uvicorn's server, telling our workers to stop when it is told to, and not re-raising the
    signal afterwards (uvicorn does that by default, which would cut the workers' graceful stop)."""

    def __init__(self, config: uvicorn.Config, on_exit):
        super().__init__(config)
        self.on_exit = on_exit

    def handle_exit(self, sig, frame) -> None:
        self.on_exit()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self):
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        original = {sig: signal.signal(sig, self.handle_exit) for sig in HANDLED_SIGNALS}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


async def run_workers(rt: ChannelRuntime, stop: asyncio.Event, sender: bool = True,
                      telegram_polling: bool = False, set_telegram_webhook: bool = False,
                      inbox_worker=None) -> None:
    """The background work of a process: the sender, an inbox worker, Telegram polling."""
    from bot.routes.webhooks import accept_telegram

    jobs = [inbox_worker.run(stop)] if inbox_worker is not None else []
    if sender and rt.channels:
        jobs.append(rt.sender.run(stop))
    telegram = rt.telegram
    if telegram is not None and (telegram_polling or set_telegram_webhook):
        jobs.append(telegram.publish_commands(rt.inbox.db, rt.inbox.content))  # Telegram's command menu
    if telegram is not None and telegram_polling:
        async def on_update(data: dict) -> None:
            after = await accept_telegram(rt, telegram.parse_update(data))
            if after is not None:
                await after()

        jobs.append(telegram.poll(on_update, stop))
    elif telegram is not None and set_telegram_webhook:
        jobs.append(_set_telegram_webhook(rt))
    await asyncio.gather(*jobs)


async def _set_telegram_webhook(rt: ChannelRuntime) -> None:
    settings = rt.settings
    if not settings.public_base_url.startswith("https://"):
        log.info("Telegram webhook not set: PUBLIC_BASE_URL is no https URL (use --telegram-polling locally)")
        return
    if not settings.telegram_webhook_secret:
        log.warning("Telegram webhook not set: TELEGRAM_WEBHOOK_SECRET is empty")
        return
    try:
        await rt.telegram.set_webhook(f"{settings.public_base_url}/webhooks/telegram")
        log.info("Telegram webhook set to %s/webhooks/telegram", settings.public_base_url)
    except Exception as exc:  # the service runs on; the operator sees why in the log
        log.error("Telegram webhook could not be set: %s", exc)


def describe(services: Services, rt: ChannelRuntime, host: str, port: int, telegram_polling: bool) -> list[str]:
    settings = services.settings
    local = f"http://{host}:{port}"
    public = settings.public_base_url or local
    lines = [
        f"Asisten UMKM is running on {local}  (health: {local}/health)",
        f"Base URL: {public}" + ("" if settings.public_base_url else "  (set PUBLIC_BASE_URL for real channels)"),
        f"Database: {services.db.dialect}",
    ]
    if rt.whatsapp is not None:
        lines.append(f"WhatsApp (Twilio): on. In the Twilio console set 'When a message comes in' to "
                     f"POST {public}/webhooks/twilio and the status callback to {public}/webhooks/twilio/status")
    else:
        lines.append("WhatsApp (Twilio): off (set TWILIO_ACCOUNT_SID, TWILIO_AUTH_TOKEN, TWILIO_WHATSAPP_FROM)")
    if rt.telegram is not None:
        how = "long polling (development)" if telegram_polling else f"webhook {public}/webhooks/telegram"
        lines.append(f"Telegram: on, {how}. Open your bot in Telegram and say 'halo'.")
    else:
        lines.append("Telegram: off (set TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET)")
    lines.append(f"Talk to the bot: in the browser at {local}/chat/ (staff sign-in; first admin: "
                 f"umkm-bot users create --username admin --role admin), or in a terminal: "
                 f"umkm-bot chat --user 6281234567890")
    lines.append(f"Dashboard for staff and mentors: {local}/dash/")
    return lines


def register(group: click.Group) -> None:
    @group.command("run")
    @click.option("--host", default=None, help="Listen address (default UMKM_HOST or 127.0.0.1).")
    @click.option("--port", default=None, type=int, help="Port (default UMKM_PORT or 8000).")
    @click.option("--telegram-polling", is_flag=True,
                  help="Fetch Telegram updates with long polling instead of a webhook (development).")
    @click.option("--no-sender", is_flag=True,
                  help="Do not send from the outbox here (a separate `umkm-bot sender` does).")
    @click.option("--no-scheduler", is_flag=True,
                  help="Do not run reminders and other periodic jobs here (a separate `umkm-bot scheduler` does).")
    @click.option("--workers", default=None, type=click.IntRange(1, 16),
                  help="Inbox worker processes to start (PostgreSQL; default: 2 on a machine with 2 or more "
                       "cores, else 1; SQLite works the inbox in this process).")
    @click.option("--no-worker", is_flag=True,
                  help="Only accept webhooks here; separate `umkm-bot worker` processes run the turns.")
    @click.option("--access-log", is_flag=True, help="Log every HTTP request (off: it costs throughput).")
    def run(host: str | None, port: int | None, telegram_polling: bool, no_sender: bool, no_scheduler: bool,
            workers: int, no_worker: bool, access_log: bool) -> None:
        """Run the service: webhooks, health, pages, the outbox sender and the scheduler, on embedded defaults."""
        services = build_services()
        rt = runtime(services)
        settings = services.settings
        host, port = host or settings.host, port or settings.port
        for line in describe(services, rt, host, port, telegram_polling):
            click.echo(line)
        # One process is enough for a pilot: the periodic jobs run here too. Their sweeps claim
        # rows with SKIP LOCKED, so a second process running them by mistake sends nothing twice.
        from bot.nlu.understand import warm

        warm(services.content)  # web chat and (on SQLite) the inbox turns run here: train now
        scheduler = None if no_scheduler else build_scheduler(services, blocking=False)
        if scheduler is not None:
            scheduler.start()
        from bot import worker as inbox_workers

        children, in_process = [], None
        if not no_worker:
            if services.db.is_postgres:
                # One batch at a time per process (threads in one process only fight over its
                # interpreter lock: measured +35% CPU per message with 4), one process per core;
                # batches of up to 64 (the batch's fixed statements shared by twice as many turns:
                # 0.1 ms less CPU per message than 32, bench/inbox_batch_cost.py).
                children = inbox_workers.spawn(workers or inbox_workers.default_count(), batch=DEFAULT_BATCH, concurrency=1,
                                               nice=10)
            else:
                in_process = inbox_workers.InboxWorker(rt.inbox)
        try:
            asyncio.run(_serve(services, rt, host, port, telegram_polling, not no_sender, in_process, access_log))
        finally:
            inbox_workers.stop_children(children)
            if scheduler is not None:
                scheduler.shutdown(wait=False)

    async def _serve(services, rt, host, port, telegram_polling, sender, inbox_worker, access_log) -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        config = uvicorn.Config(create_app(services), host=host, port=port, log_level="info", access_log=access_log)
        server = _Server(config, on_exit=lambda: loop.call_soon_threadsafe(stop.set))
        workers = asyncio.create_task(run_workers(rt, stop, sender=sender, telegram_polling=telegram_polling,
                                                  set_telegram_webhook=not telegram_polling,
                                                  inbox_worker=inbox_worker))
        try:
            await server.serve()
        finally:
            stop.set()
            await workers
