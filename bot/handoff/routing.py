"""Which mentors a new case goes to.

Order (the first level with anyone wins):
1. `kecamatan`: active mentors covering the owner's kecamatan and sector;
2. `city`: active mentors covering any part of the owner's city area, same sector;
3. `supervisor`: active supervisors covering the owner's city area, else every active supervisor;
4. `none`: nobody to offer it to; the case waits on the web queue and is logged loudly.

Owners outside Jakarta (or with no place on file) go straight to the supervisors.
"""
from __future__ import annotations

import logging
import weakref
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from bot.clock import utcnow
from bot import names
from bot.content import Content
from bot.handoff import notify
from bot.handoff.reasons import plain_reason
from bot.handoff.workhours import WorkingCalendar
from storage.models import Owner, Ticket, TicketEvent
from storage.models.handoff import CaseOffer, CaseRouting, Mentor, MentorArea

log = logging.getLogger(__name__)


@dataclass
class Route:
    level: str
    mentors: list[Mentor]


def _active(session: Session, role: str, **area) -> list[Mentor]:
    query = select(Mentor).where(Mentor.active.is_(True), Mentor.role == role).options(selectinload(Mentor.areas))
    if area:
        # A subquery, not a join: DISTINCT over a JSON column fails on PostgreSQL.
        covering = select(MentorArea.mentor_id).where(*(getattr(MentorArea, k) == v for k, v in area.items()))
        query = query.where(Mentor.id.in_(covering))
    return list(session.scalars(query.order_by(Mentor.id)).all())


def supervisors_for(session: Session, city: str | None) -> list[Mentor]:
    found = _active(session, "supervisor", city=city) if city else []
    return found or _active(session, "supervisor")


def find_route(session: Session, owner: Owner) -> Route:
    district, city, sector = owner.district, owner.city, owner.sector
    if district and city:
        near = [m for m in _active(session, "mentor", city=city, kecamatan=district) if m.covers_sector(sector)]
        if near:
            return Route("kecamatan", near)
    if city:
        wider = [m for m in _active(session, "mentor", city=city) if m.covers_sector(sector)]
        if wider:
            return Route("city", wider)
    supervisors = supervisors_for(session, city)
    if supervisors:
        return Route("supervisor", supervisors)
    return Route("none", [])


def offer(session: Session, content: Content, ticket: Ticket, owner: Owner, mentors: list[Mentor], via: str,
          now: datetime, key: str = "handoff.mentor_new_case") -> list[Mentor]:
    """Offer the case to mentors who do not have it yet, and tell them. Returns the newly offered."""
    already = set(session.scalars(select(CaseOffer.mentor_id).where(CaseOffer.ticket_id == ticket.id)).all())
    fresh = [m for m in mentors if m.id not in already]
    calendar = WorkingCalendar.from_content(content)
    # A new case found at night reaches the mentors when their working day starts.
    not_before = None if calendar.is_working_time(now) else calendar.next_working_moment(now)
    for mentor in fresh:
        session.add(CaseOffer(ticket_id=ticket.id, mentor_id=mentor.id, via=via, created_at=now))
    notify.to_mentors(session, content, fresh, key, lambda lang: case_summary(content, ticket, owner, lang),
                      options=[command_label(content, "take", ticket.id)], not_before=not_before)
    return fresh


def route_case(session: Session, content: Content, ticket: Ticket, owner: Owner, now: datetime | None = None) -> Route:
    """Decide who gets a new case, record it, and notify them (all in the caller's transaction)."""
    now = now or utcnow()
    route = find_route(session, owner)
    session.add(CaseRouting(ticket_id=ticket.id, level=route.level, routed_at=now))
    offer(session, content, ticket, owner, route.mentors, route.level, now)
    note = f"{route.level}: " + (", ".join(m.code for m in route.mentors) or "no active mentor or supervisor")
    session.add(TicketEvent(ticket_id=ticket.id, actor="system", action="routed", note=note, created_at=now))
    if route.level == "none":
        log.warning("case %s (owner %s) has nobody to go to: no active mentor or supervisor", ticket.id, owner.id)
    return route


def tell_holder_new_topic(session: Session, content: Content, ticket: Ticket, owner: Owner, topic: str) -> None:
    """A new topic joined a case a mentor already holds: they hear of it in their chat."""
    if ticket.status != "taken" or not ticket.mentor_id:
        return
    holder = session.get(Mentor, ticket.mentor_id)
    if holder is None:
        return
    lang = holder.lang or "id"
    notify.to_mentor(session, content, holder, "handoff.mentor_topic_added",
                     options=[command_label(content, "show", ticket.id)],
                     **{**case_summary(content, ticket, owner, lang),
                        "new_topic": content.t(_topic_key(content, topic), lang)})


def display_name(content: Content, owner: Owner, lang: str = "id", fallback: str | None = None) -> str:
    """The owner as mentors read them: "Bu Sumarni", honorific kept, never "Bu" alone."""
    return names.split(owner.name or fallback, content).full or content.t("handoff.unknown_name", lang)


def command_label(content: Content, command: str, ticket_id: int, lang: str = "id") -> str:
    """An option a mentor taps to act on a case, e.g. "/ambil 12" (command words from content)."""
    words = content.data("handoff/commands.yaml")["commands"][command]
    return f"/{words[0]} {ticket_id}"


def case_summary(content: Content, ticket: Ticket, owner: Owner, lang: str = "id") -> dict:
    """The variables every mentor-facing text about a case may use."""
    snapshot = (ticket.context or {}).get("owner") or {}
    sector = owner.sector or snapshot.get("sector")
    also = (ticket.context or {}).get("also") or []
    topics = [ticket.topic] + [a.get("topic") for a in also if a.get("topic") != ticket.topic]
    return {
        "case_id": ticket.id,
        "priority": ticket.priority,
        "topic": " + ".join(dict.fromkeys(content.t(_topic_key(content, t), lang) for t in topics)),
        "reason": plain_reason(content, ticket, lang),
        "owner_name": display_name(content, owner, lang, snapshot.get("name")),
        "business": owner.business_name or snapshot.get("business_name") or "-",
        "sector": content.t(f"handoff.sector_{sector}", lang) if sector in ("food", "cosmetics", "herbal", "other")
        else "-",
        "place": ", ".join(p for p in (place_name(content, owner.district),
                                        place_name(content, owner.city)) if p) or "-",
    }


_PLACE_NAMES: "weakref.WeakKeyDictionary[Content, dict[str, str]]" = weakref.WeakKeyDictionary()


def place_name(content: Content, key: str | None) -> str | None:
    """locations.name_of, with the names read once per Content (routing and lists call it a lot)."""
    if not key:
        return None
    found = _PLACE_NAMES.get(content)
    if found is None:
        from bot import locations

        found = {}
        for area in locations.areas(content):
            found[area.key] = area.name
            found.update({kec.key: kec.name for kec in area.kecamatan})
        _PLACE_NAMES[content] = found
    return found.get(key, key)


def _topic_key(content: Content, topic: str) -> str:
    """Topics look like "asked" or "permit_rejected:pirt"; the part before ":" names the text."""
    base = (topic or "other").split(":", 1)[0]
    key = f"handoff.topic_{base}"
    return key if content.has(key) else "handoff.topic_other"
