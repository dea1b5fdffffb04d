"""Webhooks of the real channels.

POST /webhooks/twilio          WhatsApp messages from Twilio (signed form)
POST /webhooks/twilio/status   Twilio delivery callbacks (signed form)
POST /webhooks/telegram        Telegram updates (JSON, secret-token header)

Each answers as soon as the message is stored with one INSERT (see bot/channels/inbox.py); the
turn runs in an inbox worker (bot/worker.py), never in the web process. Rejections are logged with the reason and the caller's IP, never with a
phone number or message text.
"""
from __future__ import annotations

import logging

from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from bot.channels import runtime
from bot.channels.base import RejectedRequest
from bot.channels.whatsapp import inbound_form
from bot.edge import Malformed, parse_json_object
from bot.sender import record_delivery_status
from bot.services import Services

log = logging.getLogger(__name__)

EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


def _client(request: Request) -> str:
    return request.client.host if request.client else "-"


def _off(name: str) -> Response:
    return PlainTextResponse(f"the {name} channel is off (no credentials configured)", status_code=404)


def _forbidden(channel: str, request: Request, exc: RejectedRequest) -> Response:
    log.warning("%s webhook rejected (%s) path=%s client=%s", channel, exc, request.url.path, _client(request))
    return PlainTextResponse("forbidden", status_code=403)


def _malformed(channel: str, request: Request, exc: Malformed) -> Response:
    log.warning("%s webhook malformed (%s) path=%s client=%s", channel, exc, request.url.path, _client(request))
    return PlainTextResponse("bad request", status_code=400)


async def telegram_update_json(channel, request: Request) -> dict:
    """The secret header first (no body read without it), then the body as a JSON object of
    sane depth with an integer update_id, NUL removed; else `Malformed` (400)."""
    channel.verify(request)
    data = parse_json_object(await request.body())
    if not isinstance(data.get("update_id"), int) or isinstance(data.get("update_id"), bool):
        raise Malformed("no update_id")
    return data


def parse_telegram(channel, data: dict) -> list:
    """python-telegram-bot's reading of an update; one it cannot read (a message without a
    chat, a kind it does not know) is logged and ignored with a 200, so Telegram moves on."""
    try:
        return channel.parse_update(data)
    except Exception as exc:  # noqa: BLE001 - any shape python-telegram-bot cannot read
        log.warning("telegram update %s ignored: unreadable (%s)", data.get("update_id"), type(exc).__name__)
        return []


def routes(services: Services) -> list:
    async def twilio_inbound(request: Request) -> Response:
        rt = runtime(services)
        channel = rt.whatsapp
        if channel is None:
            return _off("WhatsApp")
        try:
            incoming = await channel.parse_request(request)
        except Malformed as exc:
            return _malformed("twilio", request, exc)
        except RejectedRequest as exc:
            return _forbidden("twilio", request, exc)
        for item in incoming:
            await rt.inbox.store_async(item)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def twilio_status(request: Request) -> Response:
        rt = runtime(services)
        channel = rt.whatsapp
        if channel is None:
            return _off("WhatsApp")
        try:
            form = await channel.read_form(request)
            channel.verify(request, form)
            fields = inbound_form(form)
        except Malformed as exc:
            return _malformed("twilio status", request, exc)
        except RejectedRequest as exc:
            return _forbidden("twilio status", request, exc)
        update = channel.parse_status(fields, request.query_params.get("outbox"))
        if update is not None:
            await run_in_threadpool(record_delivery_status, services.db, update)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def telegram_update(request: Request) -> Response:
        rt = runtime(services)
        channel = rt.telegram
        if channel is None:
            return _off("Telegram")
        try:
            data = await telegram_update_json(channel, request)
        except Malformed as exc:
            return _malformed("telegram", request, exc)
        except RejectedRequest as exc:
            return _forbidden("telegram", request, exc)
        incoming = parse_telegram(channel, data)
        todo = await accept_telegram(rt, incoming)
        background = BackgroundTask(todo) if todo is not None else None
        return JSONResponse({}, background=background)

    return [
        Route("/webhooks/twilio", twilio_inbound, methods=["POST"]),
        Route("/webhooks/twilio/status", twilio_status, methods=["POST"]),
        Route("/webhooks/telegram", telegram_update, methods=["POST"]),
    ]


async def accept_telegram(rt, incoming: list):
    """Store what one Telegram update carried (webhook and polling alike) and return the work
    left for after the response: answering stray button taps (messages go to the inbox workers)."""
    callbacks = []
    for item in incoming:
        if item.kind == "message":
            await rt.inbox.store_async(item)
        elif item.kind == "blocked":
            await run_in_threadpool(rt.inbox.mark_blocked, item)
        elif item.kind == "callback_only":
            callbacks.append(item.data["callback_query_id"])
    if not callbacks:
        return None

    async def after() -> None:
        for callback_id in callbacks:
            await rt.telegram.answer_callback(callback_id)

    return after
