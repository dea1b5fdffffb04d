"""The one ASGI app: webhooks, health, and the staff/mentor pages.

Routes come from the modules of `bot.routes`; each is a small, separately testable area.
"""
from __future__ import annotations

import importlib
import pkgutil

from starlette.applications import Starlette

from bot import routes as routes_package
from bot.services import Services, build_services


def collect_routes(services: Services) -> list:
    collected = []
    for module_info in sorted(pkgutil.iter_modules(routes_package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes_package.__name__}.{module_info.name}")
        collected.extend(module.routes(services))
    return collected


def create_app(services: Services | None = None) -> Starlette:
    services = services or build_services()
    app = Starlette(routes=collect_routes(services))
    app.state.services = services
    return app
