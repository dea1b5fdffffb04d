"""A minimal web queue of mentor cases for staff (the dashboard area polishes it).

    GET /handoff/cases?status=active|open|taken|resolved|all   the queue (default active = open
                                                              and taken), most urgent first
    GET /handoff/cases/{id}                             one case: owner, context, events, messages

Read-only: mentors act from their chat. The pages show owners' data, so they need the password
in HANDOFF_QUEUE_PASSWORD (HTTP Basic, any user name). Without it they are served only on a
local-only run (UMKM_HOST on loopback and no PUBLIC_BASE_URL), as with `make run`.
"""
from __future__ import annotations

import base64
import binascii
import hmac
import os
from pathlib import Path

import jinja2
from sqlalchemy import func, select
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from bot.clock import local, utcnow
from bot.handoff.routing import case_summary
from bot.handoff.satisfaction import satisfaction
from bot.handoff.workhours import WorkingCalendar
from bot.services import Services
from storage.models import MessageLog, Owner, Ticket, TicketEvent
from storage.models.handoff import CaseOffer, CaseRouting, Mentor

TEMPLATES = Path(__file__).resolve().parent.parent / "web" / "templates"
STATUSES = ("active", "open", "taken", "resolved", "all")
PAGE_SIZE = 200
LOOPBACK = ("127.0.0.1", "::1", "localhost")

_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader(str(TEMPLATES)),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
)


def _allowed(request: Request, services: Services) -> bool:
    password = os.environ.get("HANDOFF_QUEUE_PASSWORD", "")
    if not password:
        settings = services.settings
        return settings.host in LOOPBACK and not settings.public_base_url
    header = request.headers.get("authorization", "")
    if not header.lower().startswith("basic "):
        return False
    try:
        _user, _, given = base64.b64decode(header[6:]).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return False
    return hmac.compare_digest(given.encode(), password.encode())


def _deny() -> Response:
    return Response("Password required (HANDOFF_QUEUE_PASSWORD).", status_code=401,
                    headers={"WWW-Authenticate": 'Basic realm="mentor cases"'})


def _when(value) -> str:
    return local(value).strftime("%d-%m-%Y %H:%M") if value else "-"


def routes(services: Services) -> list:
    content = services.content

    async def queue(request: Request) -> Response:
        if not _allowed(request, services):
            return _deny()
        status = request.query_params.get("status", "active")
        status = status if status in STATUSES else "active"
        calendar = WorkingCalendar.from_content(content)
        now = utcnow()
        with services.db.session() as session:
            query = select(Ticket, Owner, CaseRouting).join(Owner, Owner.id == Ticket.owner_id) \
                .outerjoin(CaseRouting, CaseRouting.ticket_id == Ticket.id)
            if status == "active":
                query = query.where(Ticket.status.in_(("open", "taken")))
            elif status != "all":
                query = query.where(Ticket.status == status)
            order = (Ticket.resolved_at.desc(),) if status == "resolved" else \
                (Ticket.status, Ticket.priority, Ticket.id)  # "open" sorts before "taken"
            rows = session.execute(query.order_by(*order).limit(PAGE_SIZE)).all()
            holders = {m.id: m for m in session.scalars(
                select(Mentor).where(Mentor.id.in_({t.mentor_id for t, _, _ in rows if t.mentor_id}))).all()}
            counts = dict(session.execute(select(Ticket.status, func.count()).group_by(Ticket.status)).all())
            cases = []
            for ticket, owner, routing in rows:
                summary = case_summary(content, ticket, owner)
                holder = holders.get(ticket.mentor_id)
                cases.append({
                    **summary,
                    "status": ticket.status,
                    "opened": _when(ticket.created_at),
                    "waiting_hours": round(calendar.working_hours_between(ticket.created_at, now), 1)
                    if ticket.status == "open" else None,
                    "holder": f"{holder.name} ({holder.code})" if holder else "-",
                    "level": routing.level if routing else "-",
                    "reminded": bool(routing and routing.reminded_at),
                    "escalated": bool(routing and routing.escalated_at),
                    "rating": ticket.rating,
                })
            score = satisfaction(session)
        html = _env.get_template("handoff/queue.html").render(
            cases=cases, status=status, statuses=STATUSES, counts=counts, score=score, limit=PAGE_SIZE)
        return HTMLResponse(html)

    async def detail(request: Request) -> Response:
        if not _allowed(request, services):
            return _deny()
        with services.db.session() as session:
            ticket = session.get(Ticket, request.path_params["case_id"])
            if ticket is None:
                return HTMLResponse("Case not found.", status_code=404)
            owner = session.get(Owner, ticket.owner_id)
            mentors = {m.id: m for m in session.scalars(select(Mentor)).all()}
            events = session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id)
                                     .order_by(TicketEvent.id)).all()
            offers = session.scalars(select(CaseOffer).where(CaseOffer.ticket_id == ticket.id)
                                     .order_by(CaseOffer.id)).all()
            messages = session.scalars(select(MessageLog).where(MessageLog.owner_id == owner.id)
                                       .order_by(MessageLog.id.desc()).limit(30)).all()

            def who(actor: str) -> str:
                kind, _, ident = actor.partition(":")
                mentor = mentors.get(int(ident)) if kind == "mentor" and ident.isdigit() else None
                return f"{mentor.name} ({mentor.code})" if mentor else actor

            holder = mentors.get(ticket.mentor_id)
            html = _env.get_template("handoff/case.html").render(
                case=case_summary(content, ticket, owner),
                ticket=ticket,
                holder=f"{holder.name} ({holder.code})" if holder else "-",
                opened=_when(ticket.created_at), taken=_when(ticket.taken_at), resolved=_when(ticket.resolved_at),
                owner=owner,
                pathway=(ticket.context or {}).get("pathway") or {},
                events=[{"at": _when(e.created_at), "who": who(e.actor), "action": e.action, "note": e.note}
                        for e in events],
                offers=[{"mentor": who(f"mentor:{o.mentor_id}"), "via": o.via, "at": _when(o.created_at)}
                        for o in offers],
                messages=[{"at": _when(m.created_at), "direction": m.direction, "kind": m.kind, "text": m.text}
                          for m in reversed(messages)],
            )
        return HTMLResponse(html)

    return [
        Route("/handoff/cases", queue),
        Route("/handoff/cases/{case_id:int}", detail),
    ]
