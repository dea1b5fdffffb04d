"""Mentor cases on the web: my queue, the area queue, one case with its conversation, and the
same actions as the Telegram mentor chat (take, reply, note, transfer, resolve).

The actions are the handoff area's own functions (bot.handoff.actions), so the rules, the case
events, the owner's messages and the rating question are exactly those of the mentor chat. A
refusal (not yours, already taken...) shows the same words the mentor chat would send.

Staff and admins see every case read-only; acting needs a mentor account (the roster row is
who the owner is told is helping them).
"""
from __future__ import annotations

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot import locations, names
from bot.clock import utcnow
from bot.dashboard import auth
from bot.dashboard.scope import can_see_case, case_visibility, in_area, viewer_for
from bot.dashboard.views_casetools import case_tools
from bot.dashboard.views_owners import owner_profile, recent_messages
from bot.dashboard.web import db_call, lang_of, page, render
from bot.handoff import actions
from bot.handoff.actions import Refused
from bot.labels.card import label_card, routes as label_routes
from bot.handoff.reasons import plain_reason
from bot.services import Services
from storage.models import Owner, Ticket, TicketEvent
from storage.models.handoff import CaseRouting, Mentor

LIST_LIMIT = 200
TABS_MENTOR = ("mine", "area", "resolved")
TABS_STAFF = ("open", "taken", "resolved")
ACTIONS = ("take", "reply", "note", "transfer", "resolve")
# Case events with a name in content/web (event.<action>); others show as stored.
EVENT_NAMES = ("opened", "repeated", "routed", "reminded", "reply_reminded", "escalated", "taken", "replied", "note",
               "transferred", "resolved", "rated", "commented", "owner_wrote")


def routes(services: Services) -> list:
    content = services.content

    def _list(user, tab: str, lang: str = "id"):
        with services.db.session() as session:
            viewer = viewer_for(session, user)
            query = select(Ticket, Owner).join(Owner, Owner.id == Ticket.owner_id)
            condition = case_visibility(viewer)
            if condition is not None:
                query = query.where(condition)
            if tab == "mine":
                query = query.where(Ticket.status == "taken", Ticket.mentor_id == viewer.mentor_id)
            elif tab == "area":
                query = query.where(Ticket.status == "open")
            elif tab in ("open", "taken", "resolved"):
                query = query.where(Ticket.status == tab)
            if tab == "resolved" and user.is_mentor and not viewer.everything:
                query = query.where((Ticket.mentor_id == viewer.mentor_id) | in_area(viewer))
            order = (Ticket.resolved_at.desc(),) if tab == "resolved" else (Ticket.priority, Ticket.id)
            rows = session.execute(query.order_by(*order).limit(LIST_LIMIT)).all()
            holders = {m.id: m.name for m in session.scalars(
                select(Mentor).where(Mentor.id.in_({t.mentor_id for t, _ in rows if t.mentor_id})))}
            routing = {r.ticket_id: r for r in session.scalars(
                select(CaseRouting).where(CaseRouting.ticket_id.in_([t.id for t, _ in rows])))}
            now = utcnow()
            return [{
                "id": t.id, "topic": t.topic, "reason": plain_reason(content, t, lang), "priority": t.priority,
                "status": t.status, "owner_name": names.split(o.name, content).full, "business": o.business_name,
                "place": ", ".join(p for p in (locations.name_of(content, o.district),
                                                locations.name_of(content, o.city)) if p),
                "created_at": t.created_at, "waiting_hours": (now - t.created_at).total_seconds() / 3600,
                "holder": holders.get(t.mentor_id), "rating": t.rating,
                "late": bool(routing.get(t.id) and (routing[t.id].reminded_at or routing[t.id].escalated_at)),
            } for t, o in rows]

    @page()
    async def cases(request: Request) -> Response:
        user = request.scope["dash_user"]
        tabs = TABS_MENTOR if user.is_mentor else TABS_STAFF
        asked = request.query_params.get("tab")
        tab = asked if asked in tabs else tabs[0]
        rows = await db_call(_list, user, tab, lang_of(request))
        if not asked and not rows and user.is_mentor and "area" in tabs:
            tab = "area"  # nothing of their own: the cases waiting in their area
            rows = await db_call(_list, user, tab, lang_of(request))
        return render(request, "cases.html", cases=rows, tab=tab, tabs=tabs, flash=request.session.pop("flash", ""))

    def _detail(user, case_id: int, lang: str):
        with services.db.session() as session:
            viewer = viewer_for(session, user)
            if not can_see_case(session, viewer, case_id):
                auth.audit(session, user, "view_case_refused", f"case:{case_id}")
                return None
            ticket = session.get(Ticket, case_id)
            profile = owner_profile(session, content, ticket.owner_id, lang)
            profile["messages"] = recent_messages(session, ticket.owner_id, limit=50)
            profile["label"] = label_card(session, content, case_id, ticket.owner_id, lang)  # bot/labels
            mentors = {m.id: m for m in session.scalars(select(Mentor).order_by(Mentor.name))}

            def who(actor: str) -> str:
                kind, _, ident = actor.partition(":")
                mentor = mentors.get(int(ident)) if kind == "mentor" and ident.isdecimal() else None
                return mentor.name if mentor else actor

            events = [{"at": e.created_at, "who": who(e.actor), "action": e.action, "note": e.note}
                      for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == case_id)
                                               .order_by(TicketEvent.id))]
            me = viewer.mentor
            holder = mentors.get(ticket.mentor_id)
            may = {
                "take": me is not None and ticket.status == "open" and actions.may_see(session, ticket, me),
                "reply": me is not None and ticket.status == "taken" and ticket.mentor_id == me.id,
                "note": me is not None and ticket.status != "resolved" and actions.may_see(session, ticket, me),
                "resolve": me is not None and ticket.status == "taken"
                and (ticket.mentor_id == me.id or me.is_supervisor),
            }
            may["transfer"] = may["resolve"]
            targets = [(m.id, m.name, m.code) for m in mentors.values()
                       if m.active and m.id != ticket.mentor_id] if may["transfer"] else []
            auth.audit(session, user, "view_case", f"owner:{ticket.owner_id}", f"case:{case_id}")
            tools = case_tools(session, content, viewer, ticket, lang)
            return {
                "id": ticket.id, "topic": ticket.topic, "reason": plain_reason(content, ticket, lang),
                "recorded_reason": ticket.reason, "priority": ticket.priority,
                "status": ticket.status, "created_at": ticket.created_at, "taken_at": ticket.taken_at,
                "resolved_at": ticket.resolved_at, "resolution_note": ticket.resolution_note,
                "rating": ticket.rating, "rating_comment": ticket.rating_comment,
                "holder": holder.name if holder else None, "events": events, "may": may, "targets": targets,
                "offered_elsewhere": me is not None and ticket.status == "open" and not may["take"],
                "tools": tools,
            }, profile

    @page()
    async def case_detail(request: Request) -> Response:
        found = await db_call(_detail, request.scope["dash_user"], request.path_params["case_id"], lang_of(request))
        if found is None:
            raise HTTPException(404)
        case, profile = found
        return render(request, "case.html", case=case, owner=profile, event_names=EVENT_NAMES, tools=case["tools"],
                      flash=request.session.pop("flash", ""))

    @page("mentor")
    async def case_action(request: Request) -> Response:
        user = request.scope["dash_user"]
        case_id, action = request.path_params["case_id"], request.path_params["action"]
        if action not in ACTIONS:
            raise HTTPException(404)
        form = await request.form()
        note = str(form.get("text") or "").strip()
        lang = lang_of(request)

        def act() -> str:
            try:
                return _act()
            except Refused as refused:  # raised out of the transaction, so nothing half-done is kept
                return content.t(refused.key, lang, **refused.variables)

        def _act() -> str:
            with services.db.session() as session:
                viewer = viewer_for(session, user)
                me = viewer.mentor
                if me is None or not can_see_case(session, viewer, case_id):
                    raise HTTPException(404)
                ticket = actions.get_case(session, case_id)
                if action == "take":
                    actions.take_case(session, content, case_id, me)
                elif action == "reply":
                    actions.reply_to_owner(session, content, ticket, me, note)
                elif action == "note":
                    actions.add_note(session, ticket, me, note)
                elif action == "transfer":
                    raw = str(form.get("mentor_id") or "")
                    target = session.get(Mentor, int(raw)) if raw.isdecimal() else None
                    actions.transfer_case(session, content, ticket, me, target, note)
                elif action == "resolve":
                    actions.resolve_case(session, content, ticket, me, note)
                auth.audit(session, user, f"case_{action}", f"case:{case_id}")
                return ""

        refusal = await db_call(act)
        request.session["flash"] = refusal or f"done:{action}"
        return RedirectResponse(f"/dash/cases/{case_id}", status_code=303)

    return [
        Route("/cases", cases),
        Route("/cases/{case_id:int}", case_detail),
        Route("/cases/{case_id:int}/{action}", case_action, methods=["POST"]),
        *label_routes(services),  # the label photo on the case card (bot/labels/card.py)
    ]
