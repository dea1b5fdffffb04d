"""Page plumbing shared by the dashboard's views: templates, the signed-in user, role checks,
running database work off the event loop."""
from __future__ import annotations

import functools
from datetime import datetime
from pathlib import Path
from typing import Any, Callable, TypeVar
from urllib.parse import quote, urlencode

import jinja2
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from bot.clock import local, utcnow
from bot.dashboard.security import csrf_token
from bot.dashboard.texts import web_texts
from bot.services import Services
from storage.models.staff import StaffUser

HERE = Path(__file__).resolve().parent
LOGIN_PATH = "/dash/login"
T = TypeVar("T")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(HERE / "templates")),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)


def _fmt_dt(value: datetime | None, fmt: str = "%d-%m-%Y %H:%M") -> str:
    return local(value).strftime(fmt) if value else "–"


def _fmt_num(value: float | int | None, digits: int = 0) -> str:
    if value is None:
        return "–"
    text = f"{value:,.{digits}f}"
    return text.replace(",", "\u2009") if digits == 0 else text


_env.filters.update(dt=_fmt_dt, num=_fmt_num)


def url_with(request: Request, **changes: Any) -> str:
    """The current URL with some query parameters changed (None removes one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None or value == "":
            params.pop(key, None)
        else:
            params[key] = str(value)
    query = urlencode(params)
    return request.url.path + (f"?{query}" if query else "")


async def db_call(func: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Database work runs in the thread pool: SQLAlchemy here is synchronous."""
    return await run_in_threadpool(functools.partial(func, *args, **kwargs))


async def csv_upload(request: Request, limit: int) -> tuple[Any, bytes | None, bool]:
    """A CSV import form: (form, the file's bytes or None when missing or over `limit`, dry run?)."""
    form = await request.form()
    upload = form.get("file")
    data = await upload.read(limit + 1) if upload is not None and hasattr(upload, "read") else b""
    return form, (data if data and len(data) <= limit else None), form.get("dry_run") == "1"


def lang_of(request: Request) -> str:
    lang = request.session.get("lang")
    if lang in ("id", "en"):
        return lang
    user = request.scope.get("dash_user")
    return user.lang if user is not None and user.lang in ("id", "en") else "id"


def text(request: Request, key_name: str, **variables: Any) -> str:
    services: Services = request.app.state.services
    return web_texts(services.content).text(key_name, lang_of(request), **variables)


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    services: Services = request.app.state.services
    texts = web_texts(services.content)
    lang = lang_of(request)
    user: StaffUser | None = request.scope.get("dash_user")

    def _(key_name: str, **variables: Any) -> str:
        return texts.text(key_name, lang, **variables)

    def hours(value: float | None) -> str:
        if value is None:
            return "–"
        if value < 48:
            return texts.text("unit.hours", lang, n=f"{value:.1f}")
        return texts.text("unit.days", lang, n=f"{value / 24:.1f}")

    def topic_label(topic: str) -> str:
        """A case topic in words ("permit_rejected:pirt" -> its kind's text), else as stored."""
        kind = (topic or "").split(":")[0]
        return texts.text(f"topic.{kind}", lang) if texts.has(f"topic.{kind}") else topic

    html = _env.get_template(template).render(
        request=request, user=user, lang=lang, _=_, csrf=csrf_token(request.session),
        path=request.url.path, url_with=functools.partial(url_with, request),
        hours=hours, quote=quote, Markup=Markup, now_utc=utcnow(), topic_label=topic_label, **context,
    )
    return HTMLResponse(html, status_code=status_code)


def load_user(services: Services, request: Request) -> StaffUser | None:
    """The signed-in user, re-read from the database on every request, so a deactivated or
    locked account or a signed-out session stops working at once."""
    uid, version = request.session.get("uid"), request.session.get("sv")
    if not uid:
        return None
    with services.db.session() as session:
        user = session.get(StaffUser, uid)
        if user is None or not user.active or user.session_version != version:
            return None
        session.expunge(user)
        return user


def login_redirect(request: Request) -> RedirectResponse:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return RedirectResponse(f"{LOGIN_PATH}?next={quote(target)}", status_code=303)


def page(*roles: str):
    """Decorate an endpoint: sign-in required, and one of `roles` when given (else 403)."""

    def decorate(endpoint: Callable[[Request], Any]):
        @functools.wraps(endpoint)
        async def wrapper(request: Request) -> Response:
            services: Services = request.app.state.services
            user = await db_call(load_user, services, request)
            if user is None:
                request.session.pop("uid", None)
                if request.method != "GET" or request.headers.get("accept", "").startswith("application/json"):
                    raise HTTPException(401, "Sign in first")
                return login_redirect(request)
            if roles and user.role not in roles:
                raise HTTPException(403, "Not allowed for your role")
            request.scope["dash_user"] = user
            return await endpoint(request)

        return wrapper

    return decorate


def safe_next(target: str | None, default: str = "/dash/") -> str:
    """Only local paths: never redirect a signed-in user to another site."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return default
