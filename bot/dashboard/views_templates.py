"""WhatsApp templates (/dash/templates): for each message kind, the approved template that carries
it outside WhatsApp's 24-hour window, its variables and its approval status, and the kinds that
have none: their messages are recorded `unsendable` outside the window.

The data comes from `umkm-bot templates sync` (bot/channels/templates.py); admins may also run the
sync from this page when WhatsApp is configured. Staff and admins see the page; mentors do not.
"""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot.channels.config import ChannelSettings
from bot.channels.templates import TemplateBook, sync_templates, template_overview
from bot.content import load_yaml
from bot.dashboard import auth
from bot.dashboard.web import db_call, page, render, text
from bot.services import Services


def routes(services: Services) -> list:
    settings = services.settings

    def _file():
        cs = ChannelSettings.from_env(settings)
        path = settings.content_dir / cs.whatsapp_templates_file
        return cs, path, (load_yaml(path) if path.exists() else {}) or {}

    def _overview() -> list[dict]:
        cs, path, raw = _file()
        book = TemplateBook.load(path, cs.template_sid_overrides, database_url=settings.database_url)
        return template_overview(services.db, book, raw)

    @page("admin", "staff")
    async def overview(request: Request) -> Response:
        rows = await db_call(_overview)
        missing = [row["kind"] for row in rows if not row["sendable"]]
        synced = [row["synced_at"] for row in rows if row["synced_at"] is not None]
        return render(request, "templates.html", rows=rows, missing=missing,
                      synced_at=max(synced) if synced else None, can_sync=settings.twilio_enabled,
                      report=request.session.pop("templates_report", None))

    @page("admin")
    async def sync(request: Request) -> Response:
        user = request.scope["dash_user"]
        if not settings.twilio_enabled:
            request.session["templates_report"] = {"error": text(request, "templates.sync_off")}
            return RedirectResponse("/dash/templates", status_code=303)

        def run():
            from bot.channels import runtime

            cs, _path, _raw = _file()
            rt = runtime(services)
            results = sync_templates(services.db, rt.whatsapp.client, settings.content_dir,
                                     cs.template_sid_overrides, settings.default_lang, cs.whatsapp_templates_file)
            with services.db.session() as session:
                auth.audit(session, user, "templates_synced", "whatsapp_templates",
                           ", ".join(f"{r.kind}={r.remote.status if r.remote else 'missing'}" for r in results))

        try:
            await db_call(run)
            request.session["templates_report"] = {"ok": True}
        except Exception as exc:  # Twilio unreachable or refusing: say so on the page
            request.session["templates_report"] = {"error": f"{type(exc).__name__}: {exc}"[:300]}
        return RedirectResponse("/dash/templates", status_code=303)

    return [
        Route("/templates", overview),
        Route("/templates/sync", sync, methods=["POST"]),
    ]
