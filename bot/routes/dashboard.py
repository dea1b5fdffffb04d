"""The web dashboard (/dash) and the web chat (/chat).

Both are small Starlette apps of their own, mounted here, each wrapped in the dashboard's
session + CSRF + security-header middleware (bot/dashboard/security.py). Mounting them keeps
that middleware off every other route: the channel webhooks and /health never see a session
cookie or a CSRF check.
"""
from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot import edge
from bot.dashboard import security
from bot.dashboard.web import HERE, render
from bot.services import Services

from bot.dashboard import (views_auth, views_broadcasts, views_cases, views_chat, views_indicators, views_mentors,
                           views_owners, views_programme, views_search, views_casetools, views_templates)

VIEW_MODULES = (views_auth, views_owners, views_indicators, views_cases, views_mentors, views_broadcasts,
                views_programme, views_search, views_casetools, views_templates)


async def _error(request: Request, exc: HTTPException) -> Response:
    if request.headers.get("accept", "").startswith("application/json") or \
            request.headers.get("content-type", "").startswith("application/json"):
        return JSONResponse({"error": exc.detail}, status_code=exc.status_code)
    return render(request, "error.html", status_code=exc.status_code, status=exc.status_code)


def _sub_app(services: Services, routes: list) -> Starlette:
    handlers: dict = {HTTPException: _error}
    handlers.update({error: edge.database_away for error in edge.database_errors()})
    app = Starlette(routes=routes, exception_handlers=handlers)
    app.state.services = services
    return app


def build_dashboard(services: Services) -> tuple[Starlette, Starlette]:
    dash_routes: list = [Mount("/static", app=StaticFiles(directory=str(HERE / "static")), name="static")]
    for module in VIEW_MODULES:
        dash_routes.extend(module.routes(services))
    return _sub_app(services, dash_routes), _sub_app(services, views_chat.routes(services))


def routes(services: Services) -> list:
    dash, chat = build_dashboard(services)

    async def root(_request: Request) -> Response:
        return RedirectResponse("/dash/", status_code=303)

    return [
        Route("/", root),
        Mount("/dash", app=security.wrap(dash, services.settings)),
        Mount("/chat", app=security.wrap(chat, services.settings)),
    ]
