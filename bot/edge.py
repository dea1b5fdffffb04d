"""What every HTTP request passes before any route runs (pure ASGI, no buffering of big bodies).

- **Body size.** A declared `Content-Length` over the limit is answered 413 before a byte is
  read; a streamed body is counted as it arrives and cut off at the limit. Twilio's webhooks
  are a few kilobytes (a 1,600-character body and up to 10 media links), Telegram's updates a
  few more; the dashboard's largest upload is the mentor roster CSV.
- **Query strings.** A NUL byte (raw or `%00`) or an all-digit value longer than 15 digits
  (a `page=99999999999999999999`) is answered 400: no database is asked to compare either.
- **Dashboard and web chat bodies.** JSON must parse (depth-limited) to an object, else 400;
  NUL characters are removed from JSON strings and from form fields (`%00`), so a message
  can always be stored (PostgreSQL refuses NUL in text). Webhook bodies are left byte-exact
  (their signatures cover them); the channels strip NUL after checking the signature.
"""
from __future__ import annotations

import json
import re
from typing import Any

from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

DEFAULT_MAX_BODY = 1_000_000  # the dashboard's roster CSV upload
WEBHOOK_MAX_BODY = 128 * 1024  # Twilio's and Telegram's real requests are a few KB
MAX_JSON_DEPTH = 32
MAX_DIGITS = 15
_PERCENT_NUL = re.compile(rb"%00", re.IGNORECASE)
_LONG_NUMBER = re.compile(r"^\d{%d,}$" % (MAX_DIGITS + 1))


class TooLarge(Exception):
    pass


class Malformed(ValueError):
    """A request body that cannot be what any of our clients send."""


def body_limit(path: str) -> int:
    return WEBHOOK_MAX_BODY if path.startswith("/webhooks/") else DEFAULT_MAX_BODY


def strip_nul(value: Any) -> Any:
    """The same structure with every NUL character removed from every string in it."""
    if isinstance(value, str):
        return value.replace("\x00", "") if "\x00" in value else value
    if isinstance(value, dict):
        return {strip_nul(k): strip_nul(v) for k, v in value.items()}
    if isinstance(value, list):
        return [strip_nul(v) for v in value]
    return value


def depth(value: Any, limit: int = MAX_JSON_DEPTH) -> int:
    """How deeply `value` nests, counted without recursion (stops counting past `limit`)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if level > deepest:
            deepest = level
            if deepest > limit:
                return deepest
        if isinstance(item, dict):
            stack.extend((v, level + 1) for v in item.values())
        elif isinstance(item, list):
            stack.extend((v, level + 1) for v in item)
    return deepest


def parse_json_object(body: bytes) -> dict:
    """A JSON object from a request body, or `Malformed`: not JSON, not an object, or too deep."""
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as exc:
        raise Malformed("body is not JSON") from exc
    if not isinstance(data, dict):
        raise Malformed("body is not a JSON object")
    if depth(data) > MAX_JSON_DEPTH:
        raise Malformed("body nests too deeply")
    return strip_nul(data)


def query_problem(raw: bytes) -> str | None:
    """Why a query string is refused, or None."""
    if b"\x00" in raw or _PERCENT_NUL.search(raw):
        return "NUL in the query string"
    from urllib.parse import parse_qsl

    for _key, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if _LONG_NUMBER.match(value.strip()):
            return "a number too long to be a page, an id or a phone number"
    return None


DATABASE_AWAY = "the database is unavailable for a moment; retry shortly"


async def database_away(request, exc) -> PlainTextResponse:
    """An exception handler: the database is down or unreachable. A fast 503 with Retry-After,
    so Twilio (with a fallback URL or its retry settings) and Telegram deliver the update again,
    instead of a 500 after a long wait."""
    import logging

    logging.getLogger("bot.edge").warning("database unavailable (%s) path=%s: answered 503",
                                          type(exc).__name__, request.url.path)
    return PlainTextResponse(DATABASE_AWAY, status_code=503, headers={"Retry-After": "5"})


def database_errors() -> tuple[type[BaseException], ...]:
    """The exceptions that mean the database is away (not a bug in a query)."""
    from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
    from sqlalchemy.exc import TimeoutError as PoolTimeout

    return (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


class EdgeGuard:
    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        problem = query_problem(scope.get("query_string") or b"")
        if problem is not None:
            await PlainTextResponse(f"bad request: {problem}", status_code=400)(scope, receive, send)
            return
        limit = body_limit(path)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length", b"").strip()
        if declared:
            if not declared.isdigit() or int(declared) > limit:
                await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)
                return
        if scope["method"] in ("POST", "PUT", "PATCH") and not path.startswith("/webhooks/"):
            content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            if content_type in (b"application/json", b"application/x-www-form-urlencoded"):
                await self._cleaned(scope, receive, send, limit, content_type)
                return
        await self._counted(scope, receive, send, limit)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise TooLarge()
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except TooLarge:
            if not started:
                await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)

    async def _cleaned(self, scope: Scope, receive: Receive, send: Send, limit: int, content_type: bytes) -> None:
        body = b""
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            if len(body) > limit:
                await PlainTextResponse("request body too large", status_code=413)(scope, receive, send)
                return
            if not message.get("more_body", False):
                break
        if content_type == b"application/json":
            try:
                body = json.dumps(parse_json_object(body)).encode()
            except Malformed as exc:
                await JSONResponse({"error": str(exc)}, status_code=400)(scope, receive, send)
                return
        else:
            body = _PERCENT_NUL.sub(b"", body.replace(b"\x00", b""))
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        scope = dict(scope)
        scope["headers"] = [(k, v) for k, v in scope.get("headers") or [] if k != b"content-length"] + \
            [(b"content-length", str(len(body)).encode())]
        await self.app(scope, replay, send)
