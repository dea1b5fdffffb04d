"""Mentor cases (tickets): how any flow asks for a human.

`open_case` is the one way in. An owner has at most one open case per topic, so asking twice, or
a second critical finding, adds to the case instead of opening another.
"""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from storage.models import MessageLog, Owner, Ticket, TicketEvent

OPEN_STATUSES = ("open", "taken")
CONTEXT_MESSAGES = 10


def open_case_for(session: Session, owner: Owner, topic: str) -> Ticket | None:
    return session.scalars(
        select(Ticket)
        .where(Ticket.owner_id == owner.id, Ticket.topic == topic, Ticket.status.in_(OPEN_STATUSES))
        .order_by(Ticket.id)
    ).first()


def owner_snapshot(owner: Owner) -> dict:
    return {
        "name": owner.name,
        "business_name": owner.business_name,
        "sector": owner.sector,
        "products": list(owner.products or []),
        "city": owner.city,
        "district": owner.district,
        "has_permits": list(owner.has_permits or []),
        "channel": owner.channel,
        "lang": owner.lang,
    }


def recent_messages(session: Session, owner: Owner, limit: int = CONTEXT_MESSAGES) -> list[dict]:
    rows = session.scalars(
        select(MessageLog).where(MessageLog.owner_id == owner.id).order_by(MessageLog.id.desc()).limit(limit)
    ).all()
    return [
        {"direction": r.direction, "text": r.text, "at": r.created_at.isoformat()} for r in reversed(rows)
    ]


def open_case(session: Session, owner: Owner, topic: str, reason: str, priority: int = 2,
              context: dict | None = None, actor: str = "bot") -> tuple[Ticket, bool]:
    """Open a case, or add to the open one on the same topic. Returns (ticket, created)."""
    existing = open_case_for(session, owner, topic)
    if existing is not None:
        existing.priority = min(existing.priority, priority)
        session.add(TicketEvent(ticket=existing, actor=actor, action="repeated", note=reason[:1000]))
        return existing, False
    ticket = Ticket(
        owner_id=owner.id,
        topic=topic,
        reason=reason[:2000],
        priority=priority,
        status="open",
        context={
            "owner": owner_snapshot(owner),
            "last_messages": recent_messages(session, owner),
            **(context or {}),
        },
        created_at=utcnow(),
    )
    session.add(ticket)
    session.add(TicketEvent(ticket=ticket, actor=actor, action="opened", note=reason[:1000]))
    session.flush()
    return ticket, True
