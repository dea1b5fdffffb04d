"""The web chat: the bot's real pipeline as one more channel ("web"), for staff to try and demo
the bot without a phone.

Each signed-in person talks as a demo owner with the address web-<user id>-<random>; "Mulai baru"
starts over as a new owner. A message goes through `bot.pipeline.handle` synchronously and its
replies come back in the response. Messages that reach the owner later (a mentor's reply relayed,
a broadcast) wait in the outbox; the page polls for them, which is this channel's delivery, so
they are marked delivered when the page fetches them.
"""
from __future__ import annotations

import secrets

from sqlalchemy import select, update
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import broadcasts, reminders
from bot.clock import utcnow
from bot.dashboard.owners import DEMO_CHANNEL
from bot.dashboard.web import db_call, lang_of, page, render
from bot.messages import Inbound
from bot.pipeline import handle
from bot.services import Services
from storage.models import MessageLog, OutboxMessage, Owner

HISTORY = 60


def chat_address(request: Request) -> str:
    user = request.scope["dash_user"]
    address = request.session.get("chat")
    if not address or not address.startswith(f"web-{user.id}-"):
        address = f"web-{user.id}-{secrets.token_hex(3)}"
        request.session["chat"] = address
    return address


def routes(services: Services) -> list:
    def history(address: str) -> tuple[list[dict], int]:
        with services.db.session() as session:
            owner = session.scalars(select(Owner).where(Owner.channel == DEMO_CHANNEL,
                                                        Owner.address == address)).first()
            if owner is None:
                return [], 0
            logged = session.scalars(select(MessageLog).where(MessageLog.owner_id == owner.id)
                                     .order_by(MessageLog.id.desc()).limit(HISTORY)).all()
            later = session.scalars(select(OutboxMessage).where(
                OutboxMessage.channel == DEMO_CHANNEL, OutboxMessage.address == address,
                OutboxMessage.status != "sent").order_by(OutboxMessage.id.desc()).limit(HISTORY)).all()
            items = [{"who": "me" if m.direction == "in" else "bot", "text": m.text, "options": m.options or [],
                      "at": m.created_at} for m in logged]
            # Messages written by other areas (a mentor's relay) are usually in the message log as
            # well; show those once.
            logged_texts = {m.text for m in logged if m.direction == "out"}
            items += [{"who": "bot", "text": m.text, "options": m.options or [], "at": m.created_at}
                      for m in later if m.text not in logged_texts]
            items.sort(key=lambda item: item["at"])
            last = session.scalar(select(OutboxMessage.id).where(
                OutboxMessage.channel == DEMO_CHANNEL, OutboxMessage.address == address)
                .order_by(OutboxMessage.id.desc()).limit(1)) or 0
            return items[-HISTORY:], last

    def deliver_later_messages(address: str, after: int) -> tuple[list[dict], int]:
        with services.db.session() as session:
            reminders.feed_outbox(session, services.content, channel=DEMO_CHANNEL, address=address)  # swept ones
            broadcasts.feed_outbox(session, services.content, channel=DEMO_CHANNEL, address=address)  # queued ones
            rows = session.scalars(select(OutboxMessage).where(
                OutboxMessage.channel == DEMO_CHANNEL, OutboxMessage.address == address,
                OutboxMessage.id > after, OutboxMessage.status.in_(("pending", "sending")))
                .order_by(OutboxMessage.id)).all()
            rows = broadcasts.write_texts(session, rows)  # a broadcast's words are written when delivered
            if rows:
                now = utcnow()
                session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]))
                                .values(status="delivered", sent_at=now, updated_at=now))
            last = max([after] + [r.id for r in rows])
            return [{"text": r.text, "options": r.options or []} for r in rows], last

    @page()
    async def chat_page(request: Request) -> Response:
        address = chat_address(request)
        await db_call(deliver_later_messages, address, 0)  # what waited is shown in the history now
        items, last = await db_call(history, address)
        return render(request, "chat.html", items=items, last_outbox=last, address=address)

    @page()
    async def send(request: Request) -> Response:
        address = chat_address(request)
        wants_json = request.headers.get("content-type", "").startswith("application/json")
        data = await request.json() if wants_json else dict(await request.form())
        message = str(data.get("text") or "").strip()[:2000]
        payload = str(data.get("payload") or "").strip()[:64]
        replies = []
        if message or payload:
            inbound = Inbound(channel=DEMO_CHANNEL, address=address, text=message or payload, payload=payload,
                              lang_hint=lang_of(request), synchronous=True)
            replies = await db_call(handle, inbound, db=services.db, content=services.content)
        if not wants_json:
            return RedirectResponse("/chat/", status_code=303)
        return JSONResponse({"replies": [r.as_json() for r in replies]})

    @page()
    async def poll(request: Request) -> Response:
        try:
            # Outbox ids are 32-bit integers: a larger "after" (a forged or broken poll) means nothing new.
            after = min(max(int(request.query_params.get("after") or 0), 0), 2**31 - 1)
        except ValueError:
            after = 0
        messages, last = await db_call(deliver_later_messages, chat_address(request), after)
        return JSONResponse({"messages": messages, "last": last})

    @page()
    async def reset(request: Request) -> Response:
        request.session.pop("chat", None)
        return RedirectResponse("/chat/", status_code=303)

    return [
        Route("/", chat_page),
        Route("/send", send, methods=["POST"]),
        Route("/poll", poll),
        Route("/reset", reset, methods=["POST"]),
    ]
