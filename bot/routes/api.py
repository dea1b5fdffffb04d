"""The read API for other systems, under /api (see bot/api/views.py)."""
from __future__ import annotations

from bot.api import views
from bot.services import Services


def routes(services: Services) -> list:
    return views.routes(services)
