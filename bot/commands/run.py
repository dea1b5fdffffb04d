from __future__ import annotations

import click
import uvicorn

from bot.app import create_app
from bot.services import build_services


def register(group: click.Group) -> None:
    @group.command("run")
    @click.option("--host", default=None, help="Listen address (default UMKM_HOST or 127.0.0.1).")
    @click.option("--port", default=None, type=int, help="Port (default UMKM_PORT or 8000).")
    def run(host: str | None, port: int | None) -> None:
        """Run the service: webhooks, health and pages, on embedded defaults."""
        services = build_services()
        settings = services.settings
        host, port = host or settings.host, port or settings.port
        click.echo(f"Asisten UMKM is running on http://{host}:{port}  (health: /health)")
        click.echo(f"Database: {services.db.dialect}. Talk to the bot from a terminal: umkm-bot chat --user 6281234567890")
        uvicorn.run(create_app(services), host=host, port=port, log_level="info")
