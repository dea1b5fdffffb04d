"""`umkm-bot templates sync | list`: WhatsApp templates from the Twilio account, per message kind.

`sync` reads the account's Content Templates with their WhatsApp approval (Content API), matches
them to our message kinds (bot/channels/templates.py) and keeps the result; the sender then uses
approved ones, and the dashboard's templates page shows them. Run it after creating or editing a
template in the Twilio console, and when WhatsApp has decided on one (approval takes hours to days).
"""
from __future__ import annotations

import json
import sys

import click


def _describe(rows) -> list[str]:
    lines = []
    for row in rows:
        state = "ok" if row["sendable"] else "NO TEMPLATE OUTSIDE 24 H"
        template = f"{row['name'] or '-'} {row['content_sid'] or ''}".strip()
        detail = f" - {row['problem']}" if row["problem"] else ""
        lines.append(f"{row['kind']:<10} {state:<24} {row['status']:<12} {template}{detail}")
    return lines


def register(group: click.Group) -> None:
    @group.group("templates")
    def templates_group() -> None:
        """WhatsApp templates (Twilio Content API) for messages outside the 24-hour window."""

    @templates_group.command("sync")
    @click.option("--json", "as_json", is_flag=True, help="Print each kind's result as JSON.")
    def sync(as_json: bool) -> None:
        """Read the Twilio account's templates and their approval; match them to message kinds.

        Exits 1 when a kind has no approved template (its messages are recorded unsendable
        outside the 24-hour window)."""
        from twilio.base.exceptions import TwilioException

        from bot.channels import runtime
        from bot.channels.templates import sync_templates, template_overview
        from bot.content import load_yaml
        from bot.services import build_services

        services = build_services()
        rt = runtime(services)
        if rt.whatsapp is None:
            raise click.ClickException("WhatsApp is off: set TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN first")
        cs = rt.channel_settings
        try:
            sync_templates(services.db, rt.whatsapp.client, services.settings.content_dir,
                           cs.template_sid_overrides, services.settings.default_lang, cs.whatsapp_templates_file)
        except TwilioException as exc:
            raise click.ClickException(f"Twilio Content API: {exc}") from exc
        path = services.settings.content_dir / cs.whatsapp_templates_file
        rows = template_overview(services.db, rt.whatsapp.templates, load_yaml(path) if path.exists() else {})
        if as_json:
            click.echo(json.dumps([{k: v for k, v in row.items() if k != "synced_at"} for row in rows]))
        else:
            for line in _describe(rows):
                click.echo(line)
        if not all(row["sendable"] for row in rows):
            sys.exit(1)

    @templates_group.command("list")
    def list_templates() -> None:
        """Show each kind's template and approval as last synced (no call to Twilio)."""
        from bot.channels import runtime
        from bot.channels.templates import TemplateBook, template_overview
        from bot.content import load_yaml
        from bot.services import build_services

        services = build_services()
        rt = runtime(services)
        path = services.settings.content_dir / rt.channel_settings.whatsapp_templates_file
        book = rt.whatsapp.templates if rt.whatsapp is not None else TemplateBook.load(
            path, rt.channel_settings.template_sid_overrides, database_url=services.settings.database_url)
        for line in _describe(template_overview(services.db, book, load_yaml(path) if path.exists() else {})):
            click.echo(line)
