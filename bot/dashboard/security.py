"""Sessions, CSRF and response headers for the dashboard's sub-apps.

The session is Starlette's signed cookie (SessionMiddleware) keyed by SECRET_KEY; when that is
unset, a random key is generated once and kept in `<data dir>/secret_key` (mode 600), so
sessions survive a restart and no two installations share a key.

CSRF: every session carries a random token; every POST must echo it, in the form field
`csrf_token` or the `X-CSRF-Token` header (the page scripts' fetch calls). A missing or forged
token is answered 403 before any page code runs, so a POST handler cannot forget the check.
"""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs

from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.config import Settings

CSRF_FIELD = "csrf_token"
CSRF_HEADER = b"x-csrf-token"
SESSION_COOKIE = "umkm_session"
SESSION_MAX_AGE = 12 * 60 * 60  # a working day; sign in again the next morning
IDLE_TIMEOUT = 30 * 60  # signed out after 30 minutes without a request
_SEEN_STEP = 60  # the last-seen time is rewritten at most once a minute
MAX_BODY = 1_000_000
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")


def secret_key(settings: Settings) -> str:
    """SECRET_KEY, or a random key generated once and persisted under the data directory."""
    if settings.secret_key:
        return settings.secret_key
    path = Path(settings.data_dir) / "secret_key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another worker wrote it first: use theirs
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def csrf_token(session: dict) -> str:
    """The session's CSRF token, created on first use."""
    token = session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def rotate_csrf(session: dict) -> str:
    session["csrf"] = secrets.token_urlsafe(32)
    return session["csrf"]


class CSRFMiddleware:
    """Refuses (403) any unsafe request whose token does not match the session's."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            await self.app(scope, receive, send)
            return
        expected = (scope.get("session") or {}).get("csrf", "")
        headers = dict(scope.get("headers") or [])
        sent = headers.get(CSRF_HEADER, b"").decode("latin-1")
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > MAX_BODY:
                await PlainTextResponse("Request too large", status_code=413)(scope, receive, send)
                return
        if not sent:
            content_type = headers.get(b"content-type", b"").decode("latin-1")
            if content_type.startswith("application/x-www-form-urlencoded"):
                values = parse_qs(body.decode("utf-8", "replace")).get(CSRF_FIELD) or [""]
                sent = values[0]
            elif content_type.startswith("multipart/form-data"):  # file uploads (the roster CSV)
                sent = await _multipart_field(scope, body, CSRF_FIELD)
        if not expected or not sent or not hmac.compare_digest(expected.encode(), sent.encode()):
            await PlainTextResponse("CSRF token missing or wrong: reload the page and try again.",
                                    status_code=403)(scope, receive, send)
            return

        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


async def _multipart_field(scope: Scope, body: bytes, name: str) -> str:
    """One text field of a multipart body, parsed by Starlette from the buffered bytes."""
    sent = False

    async def once() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    try:
        async with Request(scope, once).form() as form:
            value = form.get(name)
            return value if isinstance(value, str) else ""
    except Exception:  # a malformed body carries no valid token
        return ""


SIGN_IN_PATH = "/dash/login"


class SignInGate:
    """In front of the whole app: the sign-in page's rate limits (`auth.throttle`), answered
    with a bare 429 before any session, template or database work. Nothing else is touched."""

    def __init__(self, app: ASGIApp, message: str = "Too many sign-in attempts. Wait a moment and try again."):
        self.app = app
        self.message = message

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].rstrip("/") == SIGN_IN_PATH:
            from bot.dashboard import auth

            client = scope.get("client")
            method = "POST" if scope["method"] == "POST" else "GET"
            if not auth.throttle.admit(client[0] if client else "-", method):
                response = PlainTextResponse(self.message, status_code=429, headers={"Retry-After": "60"})
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class SecurityHeadersMiddleware:
    """No framing, no sniffing, scripts and styles only from this site, nothing cached."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers") or [])
                names = {k.lower() for k, _ in headers}
                extra = [(b"x-frame-options", b"DENY"), (b"x-content-type-options", b"nosniff"),
                         (b"referrer-policy", b"same-origin"), (b"content-security-policy", CSP.encode())]
                if b"cache-control" not in names:
                    extra.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers + extra}
            await send(message)

        await self.app(scope, receive, send_with_headers)


class IdleTimeout:
    """A signed-in session unused for `IDLE_TIMEOUT` is signed out (the user id leaves the
    session; the language and the CSRF token stay). The time is kept in the signed cookie."""

    def __init__(self, app: ASGIApp, idle_seconds: int = IDLE_TIMEOUT):
        self.app = app
        self.idle_seconds = idle_seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session = scope.get("session")
        if scope["type"] == "http" and session is not None:
            import time

            now = int(time.time())
            seen = session.get("seen")
            if session.get("uid") and (not isinstance(seen, int) or now - seen > self.idle_seconds):
                session.pop("uid", None)
                session.pop("sv", None)
            if not isinstance(seen, int) or now - seen >= _SEEN_STEP:
                session["seen"] = now
        await self.app(scope, receive, send)


def wrap(app: ASGIApp, settings: Settings) -> ASGIApp:
    """The dashboard's middleware stack: session outermost, then the idle timeout, CSRF, headers."""
    inner = IdleTimeout(SecurityHeadersMiddleware(CSRFMiddleware(app)))
    return SessionMiddleware(inner, secret_key=secret_key(settings), session_cookie=SESSION_COOKIE,
                             max_age=SESSION_MAX_AGE, same_site="lax",
                             https_only=settings.public_base_url.startswith("https://"))
