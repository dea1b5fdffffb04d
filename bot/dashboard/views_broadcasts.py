"""Training events and broadcasts for programme staff: compose with a live preview and the
recipient count, send now or schedule, watch progress, cancel; events with seats, registrations
and attendance.

Everything goes through the broadcasts area's own code (bot.broadcasts, bot.segment, bot.events):
the form only builds the same segment spec staff would type in `umkm-bot broadcast` (shown under
the form, so the CLI and the page read alike). The live preview counts recipients with one query
and renders the message for the first of them; sending runs the full check (every recipient's
message rendered) before anything is queued.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from bot import broadcasts, locations
from bot import events as events_mod
from bot import segment as segments
from bot.clock import local, utcnow
from bot.dashboard import auth
from bot.dashboard.csvexport import csv_response
from bot.dashboard.owners import SECTORS
from bot.dashboard.web import db_call, lang_of, page, render, text
from bot.services import Services
from storage.models import Owner
from storage.models.events import Broadcast, EventRegistration, TrainingEvent

STAGE_CHOICES = ("no:nib", "no:pirt", "no:bpom", "no:halal", "no:pkp", "has:nib", "has:pirt", "has:bpom", "has:halal")
GMP_CHOICES = ("1", "2", "3", "4")
LIST_LIMIT = 100


def _values(data, name: str) -> list[str]:
    """A field that may be repeated (multi-select) from a form or a JSON body."""
    if hasattr(data, "getlist"):
        values = data.getlist(name)
    else:
        raw = data.get(name)
        values = raw if isinstance(raw, list) else [raw] if raw else []
    return [str(v).strip() for v in values if str(v).strip()]


def build_spec(data) -> str:
    """The segment spec of the compose form, e.g. "kota=jakarta-timur sektor=food tahap=no:pirt"."""
    terms = []
    for name, word in (("city", "kota"), ("district", "kecamatan"), ("sector", "sektor"), ("stage", "tahap"),
                       ("gmp", "gmp"), ("lang", "bahasa"), ("channel", "kanal")):
        values = _values(data, name)
        if values:
            terms.append(f"{word}={','.join(values)}")
    products = str(data.get("products") or "").strip().lower()
    if products:
        terms.append(f"produk={','.join(p.strip() for p in products.split(',') if p.strip())}")
    since = str(data.get("since") or "").strip()
    if since:
        terms.append(f"sejak={since}")
    return " ".join(terms) or "all"


def _event_id(data) -> int | None:
    raw = str(data.get("event_id") or "").strip()
    return int(raw) if raw.isdecimal() else None


def _scheduled_at(data) -> datetime | None:
    if str(data.get("when") or "now") != "later":
        return None
    raw = str(data.get("at") or "").strip()
    return events_mod.parse_local_time(raw) if raw else None


def routes(services: Services) -> list:
    content, db = services.content, services.db

    def preview(data) -> dict:
        spec = build_spec(data)
        errors: list[str] = []
        count, sample = 0, ""
        with db.session() as session:
            try:
                parsed = segments.parse(spec)
            except segments.SegmentError as exc:
                parsed = None
                errors.extend(exc.problems)
            event = None
            event_id = _event_id(data)
            if event_id is not None:
                event = session.get(TrainingEvent, event_id)
                if event is None:
                    errors.append(f"There is no event {event_id}.")
            if parsed is not None:
                count = session.scalar(select(func.count(Owner.id)).where(*parsed.conditions())) or 0
            try:
                template, template_en = broadcasts.resolve_templates(
                    content, str(data.get("message") or ""), str(data.get("message_en") or "") or None, event)
                renderer = broadcasts.Renderer(content, template, template_en, event)
                row = None
                if parsed is not None:
                    row = session.execute(select(*broadcasts.OWNER_COLUMNS).where(*parsed.conditions())
                                          .order_by(Owner.id).limit(1)).first()
                sample = renderer.render(row or broadcasts.BlankOwner())[0]
            except broadcasts.BroadcastError as exc:
                errors.extend(exc.problems)
        return {"spec": spec, "count": count, "sample": sample, "errors": errors}

    def _compose_context(data, errors=None) -> dict:
        with db.session() as session:
            upcoming = session.scalars(select(TrainingEvent).where(TrainingEvent.status == "scheduled",
                                                                   TrainingEvent.starts_at > utcnow())
                                       .order_by(TrainingEvent.starts_at)).all()
            choices = [(e.id, e.title, local(e.starts_at)) for e in upcoming]
        return {"events": choices, "areas": locations.areas(content), "sectors": SECTORS,
                "stages": STAGE_CHOICES, "gmp_levels": GMP_CHOICES, "form": data, "errors": errors or [],
                "variables": broadcasts.OWNER_VARIABLES, "event_variables": broadcasts.EVENT_VARIABLES}

    @page("admin", "staff")
    async def compose(request: Request) -> Response:
        data = dict(request.query_params)
        context = await db_call(_compose_context, data)
        shown = await db_call(preview, request.query_params)
        return render(request, "broadcast_new.html", preview=shown, **context)

    @page("admin", "staff")
    async def live_preview(request: Request) -> Response:
        data = await request.json()
        if not isinstance(data, dict):
            raise HTTPException(400)
        shown = await db_call(preview, data)
        shown["count_text"] = text(request, "bc.recipients", n=shown["count"])
        return JSONResponse(shown)

    @page("admin", "staff")
    async def submit(request: Request) -> Response:
        user = request.scope["dash_user"]
        form = await request.form()

        def create() -> int:
            scheduled_at = _scheduled_at(form)
            with db.session() as session:
                broadcast, checked = broadcasts.create(
                    session, content, segment=build_spec(form), template=str(form.get("message") or ""),
                    template_en=str(form.get("message_en") or "") or None, event_id=_event_id(form),
                    scheduled_at=scheduled_at, created_by=user.username)
                auth.audit(session, user, "broadcast_created", f"broadcast:{broadcast.id}",
                           f"{checked.recipients} recipients; {broadcast.segment}")
                broadcast_id, due = broadcast.id, broadcast.scheduled_at <= utcnow()
            if due:
                broadcasts.enqueue(db, content, broadcast_id)
            return broadcast_id

        try:
            broadcast_id = await db_call(create)
        except (broadcasts.BroadcastError, events_mod.EventError) as exc:
            problems = exc.problems if isinstance(exc, broadcasts.BroadcastError) else [str(exc)]
            context = await db_call(_compose_context, form)
            shown = await db_call(preview, form)
            return render(request, "broadcast_new.html", status_code=400, preview=shown,
                          **{**context, "errors": problems})
        return RedirectResponse(f"/dash/broadcasts/{broadcast_id}", status_code=303)

    def _list():
        with db.session() as session:
            rows = session.scalars(select(Broadcast).order_by(Broadcast.id.desc()).limit(LIST_LIMIT)).all()
            return [{"b": b, "progress": broadcasts.progress(session, b.id),
                     "event": b.event.title if b.event else None} for b in rows]

    @page("admin", "staff")
    async def listing(request: Request) -> Response:
        return render(request, "broadcasts.html", rows=await db_call(_list))

    def _one(broadcast_id: int):
        with db.session() as session:
            b = session.get(Broadcast, broadcast_id)
            if b is None:
                return None
            return {"b": b, "event": b.event.title if b.event else None,
                    "progress": broadcasts.progress(session, b.id)}

    @page("admin", "staff")
    async def detail(request: Request) -> Response:
        found = await db_call(_one, request.path_params["broadcast_id"])
        if found is None:
            raise HTTPException(404)
        return render(request, "broadcast.html", **found, states=broadcasts.PROGRESS_STATES)

    @page("admin", "staff")
    async def progress_json(request: Request) -> Response:
        found = await db_call(_one, request.path_params["broadcast_id"])
        if found is None:
            raise HTTPException(404)
        counts = found["progress"]
        return JSONResponse({"status": found["b"].status, "counts": counts, "done": counts["done"],
                             "total": counts["total"]})

    @page("admin", "staff")
    async def cancel(request: Request) -> Response:
        user = request.scope["dash_user"]
        broadcast_id = request.path_params["broadcast_id"]

        def run():
            withdrawn = broadcasts.cancel(db, broadcast_id)
            with db.session() as session:
                auth.audit(session, user, "broadcast_cancelled", f"broadcast:{broadcast_id}", f"{withdrawn} withdrawn")

        try:
            await db_call(run)
        except broadcasts.BroadcastError:
            raise HTTPException(404)
        return RedirectResponse(f"/dash/broadcasts/{broadcast_id}", status_code=303)

    # --- events ----------------------------------------------------------------------------------
    def _events():
        with db.session() as session:
            rows = session.scalars(select(TrainingEvent).order_by(TrainingEvent.starts_at.desc()).limit(LIST_LIMIT)).all()
            seats = events_mod.seat_counts(session, [e.id for e in rows])
            return [{"e": e, "seats": seats[e.id]} for e in rows]

    def _kinds(request: Request) -> list[tuple[str, str]]:
        lang = lang_of(request)
        return [(k, events_mod.kind_label(content, k, lang)) for k in events_mod.event_kinds(content)]

    def _segment_choices() -> dict:
        """The segment dropdowns, as on the broadcast page: staff never type filter syntax."""
        return {"areas": locations.areas(content), "sectors": SECTORS, "stages": STAGE_CHOICES,
                "gmp_levels": GMP_CHOICES}

    @page("admin", "staff")
    async def events_page(request: Request) -> Response:
        return render(request, "events.html", rows=await db_call(_events), kinds=_kinds(request), form={},
                      error=request.session.pop("event_error", ""), **_segment_choices())

    @page("admin", "staff")
    async def events_create(request: Request) -> Response:
        user = request.scope["dash_user"]
        form = await request.form()

        def create() -> int:
            quota_raw = str(form.get("quota") or "").strip()
            with db.session() as session:
                event = events_mod.create_event(
                    session, content, title=str(form.get("title") or ""), kind=str(form.get("kind") or ""),
                    starts_at=events_mod.parse_local_time(str(form.get("starts_at") or "")),
                    place=str(form.get("place") or ""), link=str(form.get("link") or ""),
                    quota=int(quota_raw) if quota_raw.isdecimal() else None,
                    segment="" if build_spec(form) == "all" else build_spec(form), created_by=user.username)
                auth.audit(session, user, "event_created", f"event:{event.id}", event.title)
                return event.id

        try:
            event_id = await db_call(create)
        except events_mod.EventError as exc:
            return render(request, "events.html", status_code=400, rows=await db_call(_events),
                          kinds=_kinds(request), form=dict(form), error=str(exc), **_segment_choices())
        return RedirectResponse(f"/dash/events/{event_id}", status_code=303)

    def _event(event_id: int):
        with db.session() as session:
            event = session.get(TrainingEvent, event_id)
            if event is None:
                return None
            registrations = session.execute(
                select(EventRegistration, Owner).join(Owner, Owner.id == EventRegistration.owner_id)
                .where(EventRegistration.event_id == event_id).order_by(EventRegistration.id)).all()
            return {"e": event, "seats": events_mod.seat_counts(session, [event_id])[event_id],
                    "registrations": [{"r": r, "owner": o} for r, o in registrations]}

    @page("admin", "staff")
    async def event_detail(request: Request) -> Response:
        found = await db_call(_event, request.path_params["event_id"])
        if found is None:
            raise HTTPException(404)
        return render(request, "event.html", **found)

    @page("admin", "staff")
    async def event_attendance(request: Request) -> Response:
        user = request.scope["dash_user"]
        event_id = request.path_params["event_id"]
        form = await request.form()
        attended = {int(v) for v in form.getlist("attended") if str(v).isdecimal()}
        shown = {int(v) for v in form.getlist("shown") if str(v).isdecimal()}

        def mark():
            with db.session() as session:
                events_mod.mark_attendance(session, event_id, sorted(attended), attended=True)
                events_mod.mark_attendance(session, event_id, sorted(shown - attended), attended=False)
                auth.audit(session, user, "attendance_marked", f"event:{event_id}", f"{len(attended)} attended")

        await db_call(mark)
        return RedirectResponse(f"/dash/events/{event_id}", status_code=303)

    @page("admin", "staff")
    async def event_csv(request: Request) -> Response:
        user = request.scope["dash_user"]
        event_id = request.path_params["event_id"]

        def export():
            with db.session() as session:
                if session.get(TrainingEvent, event_id) is None:
                    return None
                auth.audit(session, user, "export_attendance", f"event:{event_id}")
                return events_mod.attendance_csv(session, event_id)

        body = await db_call(export)
        if body is None:
            raise HTTPException(404)
        import csv
        import io

        rows = list(csv.reader(io.StringIO(body)))
        return csv_response(f"event-{event_id}-attendance.csv", rows[0] if rows else [], rows[1:])

    return [
        Route("/broadcasts", listing),
        Route("/broadcasts", submit, methods=["POST"]),
        Route("/broadcasts/new", compose),
        Route("/broadcasts/preview", live_preview, methods=["POST"]),
        Route("/broadcasts/{broadcast_id:int}", detail),
        Route("/broadcasts/{broadcast_id:int}/progress", progress_json),
        Route("/broadcasts/{broadcast_id:int}/cancel", cancel, methods=["POST"]),
        Route("/events", events_page),
        Route("/events", events_create, methods=["POST"]),
        Route("/events/{event_id:int}", event_detail),
        Route("/events/{event_id:int}/attendance", event_attendance, methods=["POST"]),
        Route("/events/{event_id:int}/attendance.csv", event_csv),
    ]
