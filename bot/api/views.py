"""The read API for other systems (the city office's data, BBPOM's permit monitoring): owners,
their pathway progress and programme steps, cases, events and indicators, as JSON.

Every request carries `Authorization: Bearer <token>` of a client an admin created
(`umkm-bot api clients create`). A client scoped to an area sees only that area's owners and what
hangs off them; an owner outside it is answered 404, exactly like one that does not exist. Each
client has its own per-minute limit (429 with Retry-After past it). Every request is written to the
audit log. Lists page with `?limit=` (1-500) and `?after_id=` (the last id of the previous page).

Personal data is kept to what such systems need (UU PDP 27/2022, data minimisation): no phone
numbers or chat addresses, no message text, no case reasons or notes.
"""
from __future__ import annotations

from typing import Any, Callable

from limits import RateLimitItemPerMinute
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from bot import locations, programme
from bot.api.clients import ClientView, authenticate
from bot.api.openapi import document
from bot.clock import utcnow
from bot.dashboard.auth import audit
from bot.dashboard.owners import FUNNEL, done_kinds_of, permits_held, reached, real_owners, stage_of
from bot.dashboard.views_owners import pathway_of
from bot.dashboard.web import db_call
from bot.services import Services
from storage.models import Owner, Ticket
from storage.models.events import EventRegistration, TrainingEvent

MAX_LIMIT = 500
DEFAULT_LIMIT = 100


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def _page(request: Request) -> tuple[int, int]:
    try:
        limit = int(request.query_params.get("limit", DEFAULT_LIMIT))
        after = int(request.query_params.get("after_id", 0))
    except ValueError:
        raise ApiError(400, "bad_parameter", "limit and after_id must be whole numbers") from None
    if not 1 <= limit <= MAX_LIMIT or not 0 <= after < 2**31:
        raise ApiError(400, "bad_parameter", f"limit: 1-{MAX_LIMIT}; after_id: 0 or more")
    return limit, after


def _owner_scope(client: ClientView) -> list:
    conditions = [real_owners()]
    if client.area:
        conditions.append(Owner.city == client.area)
    return conditions


def owner_json(content, owner: Owner, done_kinds: set[str], steps: programme.OwnerSteps) -> dict[str, Any]:
    permits = permits_held(owner, done_kinds)
    return {
        "id": owner.id, "name": owner.name, "business_name": owner.business_name, "sector": owner.sector,
        "products": list(owner.products or []),
        "city": owner.city, "city_name": locations.name_of(content, owner.city) if owner.in_jakarta else owner.city,
        "district": owner.district,
        "district_name": locations.name_of(content, owner.district) if owner.in_jakarta else owner.district,
        "lang": owner.lang, "registered_at": _iso(owner.registered_at), "opted_out": owner.opted_out_at is not None,
        "legality_stage": stage_of(owner, permits), "permits": sorted(permits),
        "programme": {s: _iso(d) for s, d in steps.steps.items()},
    }


def routes(services: Services) -> list:
    content = services.content
    limiter = MovingWindowRateLimiter(MemoryStorage())

    def endpoint(work: Callable[[Session, ClientView, Request], Any]):
        """Authenticate, rate-limit, run `work` in a session, audit, answer JSON."""

        async def handle(request: Request) -> Response:
            token = request.headers.get("authorization", "")
            token = token[7:].strip() if token[:7].lower() == "bearer " else ""

            def run():
                with services.db.session() as session:
                    client = authenticate(session, token)
                    if client is None:
                        raise ApiError(401, "unauthorized", "a valid API token is required (Authorization: Bearer ...)",
                                       {"WWW-Authenticate": 'Bearer realm="umkm-api"'})
                    item = RateLimitItemPerMinute(client.per_minute)
                    if not limiter.hit(item, "client", str(client.id)):
                        reset = limiter.get_window_stats(item, "client", str(client.id)).reset_time
                        wait = max(1, int(reset - utcnow().timestamp()) + 1)
                        raise ApiError(429, "rate_limited", f"at most {client.per_minute} requests a minute",
                                       {"Retry-After": str(wait)})
                    body = work(session, client, request)
                    audit(session, f"api:{client.name}", "api_read", request.url.path[:64],
                          str(request.url.query)[:500])
                    return body

            try:
                body = await db_call(run)
            except ApiError as error:
                return JSONResponse({"error": error.code, "message": error.message}, status_code=error.status,
                                    headers=error.headers)
            return JSONResponse(body)

        return handle

    def list_owners(session: Session, client: ClientView, request: Request):
        limit, after = _page(request)
        owners = session.scalars(select(Owner).where(*_owner_scope(client), Owner.id > after)
                                 .order_by(Owner.id).limit(limit)).all()
        ids = [o.id for o in owners]
        done, steps = done_kinds_of(session, ids), programme.steps_of(session, ids)
        data = [owner_json(content, o, done[o.id], steps[o.id]) for o in owners]
        return {"data": data, "next_after_id": ids[-1] if len(ids) == limit else None}

    def _one_owner(session: Session, client: ClientView, request: Request) -> Owner:
        owner_id = request.path_params["owner_id"]
        owner = session.scalars(select(Owner).where(Owner.id == owner_id, *_owner_scope(client))).first()
        if owner is None:
            raise ApiError(404, "not_found", f"no owner {owner_id}")
        return owner

    def get_owner(session: Session, client: ClientView, request: Request):
        owner = _one_owner(session, client, request)
        done, steps = done_kinds_of(session, [owner.id]), programme.steps_of(session, [owner.id])
        return owner_json(content, owner, done[owner.id], steps[owner.id])

    def get_pathway(session: Session, client: ClientView, request: Request):
        owner = _one_owner(session, client, request)
        permits = sorted(permits_held(owner, done_kinds_of(session, [owner.id])[owner.id]))
        steps = pathway_of(session, content, owner, permits, "id")
        return {"owner_id": owner.id, "steps": [
            {"step": s["step"], "name": s["name"], "status": s["status"], "product": s["product"],
             "number": s["number"], "expires_on": _iso(s["expires_on"]), "rejection": s["rejection"]} for s in steps]}

    def list_cases(session: Session, client: ClientView, request: Request):
        limit, after = _page(request)
        query = (select(Ticket).join(Owner, Owner.id == Ticket.owner_id)
                 .where(*_owner_scope(client), Ticket.id > after).order_by(Ticket.id).limit(limit))
        status = request.query_params.get("status", "")
        if status:
            if status not in ("open", "taken", "resolved"):
                raise ApiError(400, "bad_parameter", "status: open, taken or resolved")
            query = query.where(Ticket.status == status)
        tickets = session.scalars(query).all()
        data = [{"id": t.id, "owner_id": t.owner_id, "topic": t.topic.split(":")[0], "status": t.status,
                 "priority": t.priority, "created_at": _iso(t.created_at), "taken_at": _iso(t.taken_at),
                 "resolved_at": _iso(t.resolved_at), "rating": t.rating} for t in tickets]
        return {"data": data, "next_after_id": data[-1]["id"] if len(data) == limit else None}

    def list_events(session: Session, client: ClientView, request: Request):
        limit, after = _page(request)
        events = session.scalars(select(TrainingEvent).where(TrainingEvent.id > after)
                                 .order_by(TrainingEvent.id).limit(limit)).all()
        counts: dict[tuple[int, str], int] = {}
        if events:
            rows = session.execute(
                select(EventRegistration.event_id, EventRegistration.status, func.count())
                .join(Owner, Owner.id == EventRegistration.owner_id)
                .where(EventRegistration.event_id.in_([e.id for e in events]), *_owner_scope(client))
                .group_by(EventRegistration.event_id, EventRegistration.status))
            counts = {(event_id, status): n for event_id, status, n in rows}
        data = [{"id": e.id, "title": e.title, "kind": e.kind, "starts_at": _iso(e.starts_at), "ends_at": _iso(e.ends_at),
                 "place": e.place, "link": e.link, "quota": e.quota, "status": e.status,
                 "registered": counts.get((e.id, "registered"), 0), "waitlisted": counts.get((e.id, "waitlisted"), 0),
                 "attended": counts.get((e.id, "attended"), 0)} for e in events]
        return {"data": data, "next_after_id": data[-1]["id"] if len(data) == limit else None}

    def get_indicators(session: Session, client: ClientView, request: Request):
        funnel = programme.funnel(session, area=client.area)
        scope = _owner_scope(client)
        legality = {stage: session.scalar(select(func.count(Owner.id)).where(and_(*scope), reached(stage)))
                    for stage in FUNNEL}
        return {"area": client.area or None, "programme": funnel.counts, "legality_funnel": legality,
                "cases": {status: session.scalar(select(func.count(Ticket.id)).join(Owner, Owner.id == Ticket.owner_id)
                                                 .where(*scope, Ticket.status == status))
                          for status in ("open", "taken", "resolved")}}

    async def openapi(request: Request) -> Response:
        return JSONResponse(document())

    return [
        Route("/api/openapi.json", openapi),
        Route("/api/v1/owners", endpoint(list_owners)),
        Route("/api/v1/owners/{owner_id:int}", endpoint(get_owner)),
        Route("/api/v1/owners/{owner_id:int}/pathway", endpoint(get_pathway)),
        Route("/api/v1/cases", endpoint(list_cases)),
        Route("/api/v1/events", endpoint(list_events)),
        Route("/api/v1/indicators", endpoint(get_indicators)),
    ]
