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


def routes(services: Services) -> list:
    async def twilio_inbound(request: Request) -> Response:
        rt = runtime(services)
        channel = rt.whatsapp
        if channel is None:
            return _off("WhatsApp")
        try:
            incoming = await channel.parse_request(request)
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
        form = await request.form()
        try:
            channel.verify(request, form)
        except RejectedRequest as exc:
            return _forbidden("twilio status", request, exc)
        update = channel.parse_status(form, request.query_params.get("outbox"))
        if update is not None:
            await run_in_threadpool(record_delivery_status, services.db, update)
        return Response(EMPTY_TWIML, media_type="text/xml")

    async def telegram_update(request: Request) -> Response:
        rt = runtime(services)
        channel = rt.telegram
        if channel is None:
            return _off("Telegram")
        try:
            incoming = await channel.parse_request(request)
        except RejectedRequest as exc:
            return _forbidden("telegram", request, exc)
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
