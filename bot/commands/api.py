"""`umkm-bot api ...`: other systems' access (admins only run these).

    umkm-bot api clients create dinas-jaktim --area jakarta-timur [--per-minute 60]   prints the token once
    umkm-bot api clients list
    umkm-bot api clients revoke dinas-jaktim
    umkm-bot api webhooks add bbpom https://example.org/hook --events permit_step_done,case_resolved [--area ...]
    umkm-bot api webhooks list | deliver
"""
from __future__ import annotations

import sys

import click
from sqlalchemy import func, select

from bot.api import webhooks
from bot.api.clients import ClientError, create_client, revoke_client
from bot.dashboard.auth import audit
from bot.services import build_services
from storage.models.api import ApiClient, WebhookDelivery, WebhookSubscription


def register(group: click.Group) -> None:
    group.add_command(api)


@click.group()
def api() -> None:
    """The read API's clients and the outgoing webhooks."""


@api.group()
def clients() -> None:
    """Read-API clients: one token each, scoped to an area."""


@clients.command("create")
@click.argument("name")
@click.option("--area", default="", help="City area key (e.g. jakarta-timur); leave out for all of Jakarta.")
@click.option("--per-minute", default=60, show_default=True, help="Requests a minute before 429.")
def create_command(name: str, area: str, per_minute: int) -> None:
    """Create a client and print its token (shown this once only)."""
    services = build_services()
    try:
        with services.db.session() as session:
            client, token = create_client(session, services.content, name, area, per_minute)
            audit(session, "cli", "api_client_created", f"api:{client.name}", f"area={area or 'all'}")
    except ClientError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"Client {name} created for {area or 'all of Jakarta'}. Its token (store it now; it is not shown again):")
    click.echo(token)


@clients.command("list")
def list_command() -> None:
    """Clients with their area, limit and last use."""
    services = build_services()
    with services.db.session() as session:
        for c in session.scalars(select(ApiClient).order_by(ApiClient.name)):
            state = f"revoked {c.revoked_at:%Y-%m-%d}" if c.revoked_at else "active"
            used = f"{c.last_used_at:%Y-%m-%d %H:%M}" if c.last_used_at else "never"
            click.echo(f"{c.name}\t{c.token_prefix}…\t{c.area or 'all'}\t{c.per_minute}/min\t{state}\tlast used {used}")


@clients.command("revoke")
@click.argument("name")
def revoke_command(name: str) -> None:
    """Revoke a client's token at once."""
    services = build_services()
    with services.db.session() as session:
        done = revoke_client(session, name)
        if done:
            audit(session, "cli", "api_client_revoked", f"api:{name}")
    if not done:
        click.echo(f"error: no active client {name!r}", err=True)
        sys.exit(1)
    click.echo(f"Client {name} revoked.")


@api.group("webhooks")
def webhooks_group() -> None:
    """Outgoing webhooks: signed POSTs when something happens."""


@webhooks_group.command("add")
@click.argument("name")
@click.argument("url")
@click.option("--events", required=True, help=f"Comma-separated: {', '.join(webhooks.EVENTS)}.")
@click.option("--area", default="", help="Only owners of this city area.")
def add_command(name: str, url: str, events: str, area: str) -> None:
    """Subscribe URL to events; prints the signing secret once."""
    services = build_services()
    try:
        with services.db.session() as session:
            sub, secret = webhooks.subscribe(session, services.content, name, url,
                                             [e.strip() for e in events.split(",") if e.strip()], area)
            audit(session, "cli", "webhook_added", f"webhook:{sub.name}", url)
    except webhooks.WebhookError as error:
        click.echo(f"error: {error}", err=True)
        sys.exit(1)
    click.echo(f"Webhook {name} added. Its signing secret (store it now; it is not shown again):")
    click.echo(secret)


@webhooks_group.command("list")
def webhooks_list() -> None:
    """Subscriptions with their pending and failed deliveries."""
    services = build_services()
    with services.db.session() as session:
        counts = dict(session.execute(select(WebhookDelivery.subscription_id.concat(":").concat(WebhookDelivery.status),
                                             func.count()).group_by(WebhookDelivery.subscription_id,
                                                                     WebhookDelivery.status)).all())
        for s in session.scalars(select(WebhookSubscription).order_by(WebhookSubscription.name)):
            stats = ", ".join(f"{st} {counts.get(f'{s.id}:{st}', 0)}" for st in ("pending", "sent", "failed"))
            click.echo(f"{s.name}\t{s.url}\t{','.join(s.events)}\t{s.area or 'all'}\t"
                       f"{'active' if s.active else 'off'}\t{stats}")


@webhooks_group.command("deliver")
def deliver_command() -> None:
    """Queue new events and deliver what is due now (the scheduler does this every minute)."""
    services = build_services()
    queued = webhooks.collect(services.db)
    sent, failed = webhooks.deliver_due(services.db)
    click.echo(f"queued {queued}, delivered {sent}, failed attempts {failed}")
