"""Channel commands: a separate outbox sender, and the Telegram webhook.

  umkm-bot sender             send from the outbox until stopped (turns: `umkm-bot worker`)
  umkm-bot sender --drain     send what is due now, then exit
  umkm-bot telegram-webhook   set the Telegram webhook to PUBLIC_BASE_URL/webhooks/telegram
"""
from __future__ import annotations

import asyncio
import signal

import click

from bot import metrics
from bot.channels import runtime
from bot.services import build_services


def register(group: click.Group) -> None:
    @group.command("sender")
    @click.option("--drain", is_flag=True, help="Send what is due now, then exit.")
    def sender(drain: bool) -> None:
        """Deliver the outbox through the configured channels (run one per deployment, or
        several on PostgreSQL with rates divided among them)."""
        rt = runtime(build_services())
        if not rt.channels:
            click.echo("No channel is configured (TWILIO_* or TELEGRAM_* variables): nothing to send.")
            return
        click.echo(f"Sender for: {', '.join(rt.channels)}")
        if drain:
            stats = rt.sender.drain_sync()
            click.echo(f"sent={stats.sent} retried={stats.retried} failed={stats.failed} "
                       f"unsendable={stats.unsendable}")
            return
        metrics.serve_standalone("sender")  # on METRICS_PORT, when set
        asyncio.run(_run_until_signal(rt))

    async def _run_until_signal(rt) -> None:
        from bot.commands.run import run_workers

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await run_workers(rt, stop, sender=True)

    @group.command("telegram-webhook")
    @click.option("--delete", is_flag=True, help="Remove the webhook (before using --telegram-polling).")
    def telegram_webhook(delete: bool) -> None:
        """Point Telegram at PUBLIC_BASE_URL/webhooks/telegram with TELEGRAM_WEBHOOK_SECRET."""
        rt = runtime(build_services())
        telegram = rt.telegram
        if telegram is None:
            raise click.ClickException("Telegram is off: set TELEGRAM_BOT_TOKEN")
        settings = rt.settings

        async def go():
            try:
                if delete:
                    return await telegram.bot.delete_webhook()
                if not settings.public_base_url.startswith("https://"):
                    raise click.ClickException("PUBLIC_BASE_URL must be an https URL Telegram can reach")
                if not settings.telegram_webhook_secret:
                    raise click.ClickException("set TELEGRAM_WEBHOOK_SECRET first (letters, digits, _ and -)")
                return await telegram.set_webhook(f"{settings.public_base_url}/webhooks/telegram")
            finally:
                await telegram.close()

        ok = asyncio.run(go())
        click.echo(("Webhook removed" if delete else f"Webhook set to {settings.public_base_url}/webhooks/telegram")
                   if ok else "Telegram refused the request")
