"""The one ASGI app: webhooks, health, and the staff/mentor pages.

Routes come from the modules of `bot.routes`; each is a small, separately testable area.
In front of them (outermost first): the sign-in rate limits (`bot.dashboard.security.SignInGate`),
then the request edge (`bot.edge.EdgeGuard`: body size, query strings, JSON and NUL). A database
that is away is answered 503 (`bot.edge.database_away`), never 500.
"""
from __future__ import annotations

import importlib
import pkgutil

from starlette.applications import Starlette
from starlette.middleware import Middleware

from bot import edge
from bot import routes as routes_package
from bot.dashboard.security import SignInGate
from bot.services import Services, build_services


def collect_routes(services: Services) -> list:
    collected = []
    for module_info in sorted(pkgutil.iter_modules(routes_package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{routes_package.__name__}.{module_info.name}")
        collected.extend(module.routes(services))
    return collected


def _too_many_text(services: Services) -> str:
    from bot.dashboard.texts import web_texts

    texts = web_texts(services.content)
    return " / ".join(dict.fromkeys(texts.text("auth.too_many", lang) for lang in ("id", "en")))


def create_app(services: Services | None = None) -> Starlette:
    services = services or build_services()
    handlers = {error: edge.database_away for error in edge.database_errors()}
    app = Starlette(routes=collect_routes(services), exception_handlers=handlers,
                    middleware=[Middleware(SignInGate, message=_too_many_text(services)),
                                Middleware(edge.EdgeGuard)])
    app.state.services = services
    return app
