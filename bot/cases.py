"""Mentor cases (tickets): how any flow asks for a human, and the pipeline's two handoff hooks.

`open_case` is the one way in. An owner has at most one open case (one conversation with a
mentor): asking twice, a second critical finding or another topic adds to the open case (its
context's "also" list) instead of opening another. A new case carries the
reason, a priority, the owner's last messages and profile, and whatever the `@case_context`
providers add (the legality pathway status, ...); it is routed to mentors at once
(bot/handoff/routing.py).

Topics in use: asked, complaint, misunderstood, media, permit_rejected:<permit>, gmp_critical.
Priority: 1 urgent, 2 normal, 3 low.

The pipeline calls two hooks from here (bot/pipeline.py, INBOUND_HOOKS and RELAY_HOOKS):
- `mentor_inbound`: a message from an address in the mentor roster goes to the mentor chat;
- `relay`: while a mentor holds the owner's case, the owner's messages go to that mentor and the
  bot says nothing (global words were already handled before this hook).
"""
from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.dedupe import first_delivery
from bot.content import Content, get_content
from bot.messages import Inbound, Reply
from storage.models import MessageLog, OutboxMessage, Owner, Ticket, TicketEvent

if TYPE_CHECKING:
    from bot.turn import Turn

log = logging.getLogger(__name__)

OPEN_STATUSES = ("open", "taken")
CONTEXT_MESSAGES = 10


def open_case_for(session: Session, owner: Owner, topic: str | None = None) -> Ticket | None:
    """The owner's open case (on `topic`, when given): one owner, one conversation with a mentor."""
    query = select(Ticket).where(Ticket.owner_id == owner.id, Ticket.status.in_(OPEN_STATUSES))
    if topic is not None:
        query = query.where(Ticket.topic == topic)
    return session.scalars(query.order_by(Ticket.id)).first()


def also_about(ticket: Ticket) -> list[dict]:
    """Further topics joined to a case: [{"topic", "reason", "context"}], oldest first."""
    return list((ticket.context or {}).get("also") or [])


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


# Other areas add to a new case's context: `@case_context` on a function (session, owner) -> dict,
# e.g. the legality pathway returning {"pathway": {"NIB": "done", "P-IRT": "in progress"}}.
CaseContextProvider = Callable[[Session, Owner], dict]
CONTEXT_PROVIDERS: list[CaseContextProvider] = []


def case_context(func: CaseContextProvider) -> CaseContextProvider:
    CONTEXT_PROVIDERS.append(func)
    return func


def _provided_context(session: Session, owner: Owner) -> dict:
    extra: dict = {}
    for provider in CONTEXT_PROVIDERS:
        try:
            with session.begin_nested():  # a broken provider must not stop the case from opening
                extra.update(provider(session, owner) or {})
        except Exception:
            log.exception("case context provider %s failed for owner %s", provider.__name__, owner.id)
    return extra


def open_case(session: Session, owner: Owner, topic: str, reason: str, priority: int = 2,
              context: dict | None = None, actor: str = "bot", content: Content | None = None,
              route: bool = True) -> tuple[Ticket, bool]:
    """Open a case, or add to the open one on the same topic. Returns (ticket, created).

    A new case is routed to mentors in the same transaction (they get an outbox message)."""
    existing = open_case_for(session, owner)
    if existing is not None:
        # One owner, one conversation: a new topic joins the open case, so a mentor answers once.
        existing.priority = min(existing.priority, priority)
        joined = existing.topic != topic and all(a.get("topic") != topic for a in also_about(existing))
        if joined:
            existing.context = {**(existing.context or {}), "also": also_about(existing) + [
                {"topic": topic, "reason": reason[:2000], "context": dict(context or {}),
                 "last_messages": recent_messages(session, owner)}]}
        session.add(TicketEvent(ticket=existing, actor=actor, action="topic_added" if joined else "repeated",
                                note=f"{topic}: {reason[:1000]}" if joined else reason[:1000]))
        if joined:
            from bot.handoff.routing import tell_holder_new_topic

            tell_holder_new_topic(session, content or get_content(), existing, owner, topic)
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
            **_provided_context(session, owner),
            **(context or {}),
        },
        created_at=utcnow(),
    )
    session.add(ticket)
    session.add(TicketEvent(ticket=ticket, actor=actor, action="opened", note=reason[:1000]))
    session.flush()
    if route:
        from bot.handoff.routing import route_case

        route_case(session, content or get_content(), ticket, owner)
    return ticket, True


def request_mentor(turn: "Turn", topic: str, reason: str, priority: int = 2, context: dict | None = None) -> Ticket:
    """For flows: open (or join) a case and tell the owner a mentor will reply, and roughly when.

    E.g. the legality flow on a rejected permit:
        request_mentor(turn, "permit_rejected:pirt", "P-IRT rejected: label incomplete", priority=1)
    and the GMP check on a critical finding:
        request_mentor(turn, "gmp_critical", "Critical: no hand-washing facility", priority=1)
    The owner is told once per case; a repeat adds to the open case."""
    ticket, created = open_case(turn.session, turn.owner, topic, reason, priority=priority, context=context,
                                content=turn.content)
    turn.say("handoff.opened_by_bot" if created else "handoff.added_to_case")
    return ticket


# --- the pipeline's hooks ------------------------------------------------------------------------
def relay(turn: "Turn") -> bool:
    """While a mentor holds one of the owner's cases, pass the owner's message on and stay quiet."""
    from bot.handoff.actions import relay_from_owner

    media = [{"kind": m.kind, "url": m.url, "content_type": m.content_type} for m in turn.inbound.media]
    return relay_from_owner(turn.session, turn.content, turn.owner, turn.text, media, turn.now)


def open_for_media(turn: "Turn") -> bool:
    """A voice note or photo the bot cannot read, outside a step that wants one: a mentor looks at it.

    Only for owners who agreed to data storage (a case keeps their data). False: not handled."""
    if turn.owner.consent_at is None:
        return False
    kinds = sorted({m.kind for m in turn.inbound.media})
    urls = [m.url for m in turn.inbound.media if m.url]
    reason = f"The owner sent {', '.join(kinds)} the bot cannot read: {' '.join(urls)}".strip()
    _ticket, created = open_case(turn.session, turn.owner, topic="media", reason=reason, actor="owner",
                                 content=turn.content, context={"media": urls})
    turn.say("handoff.media_opened" if created else "handoff.media_added")
    return True


def mentor_inbound(session: Session, inbound: Inbound, content: Content) -> list[Reply] | None:
    """A message from a mentor's own chat goes to the mentor chat, not the owner dialogue.

    Replies go to the outbox like the pipeline's (already "sent" for synchronous callers)."""
    from bot.handoff.delivery import release_held
    from bot.handoff.mentor_chat import handle_mentor_message
    from bot.handoff.roster import mentor_by_address

    from bot import turn_batch

    batch = turn_batch.facts(session)  # an inbox batch read its mentors and released held replies already
    if batch is not None and not batch.is_mentor(inbound.channel, inbound.address):
        if (inbound.channel, inbound.address) not in batch.released:
            release_held(session, inbound.channel, inbound.address)
        return None
    mentor = mentor_by_address(session, inbound.channel, inbound.address, active_only=False)
    if mentor is None:
        # An owner writing opens their WhatsApp window: mentor replies held by it go out now.
        release_held(session, inbound.channel, inbound.address)
        return None
    first = batch.first_delivery(inbound) if batch is not None else None
    if not (first if first is not None else first_delivery(session, inbound)):
        log.info("duplicate mentor message dropped mentor=%s", mentor.id)
        return []
    media = [{"kind": m.kind, "url": m.url} for m in inbound.media]
    # A typed Telegram command keeps its arguments in the text ("/selesai 12 catatan"); its payload is
    # only the command word, for owners. A tapped button carries the whole command in both.
    text = inbound.text if inbound.text.startswith("/") else (inbound.payload or inbound.text)
    replies = handle_mentor_message(session, content, mentor, text, media, inbound.received_at)
    now = utcnow()
    for reply in replies:
        session.add(OutboxMessage(
            owner_id=None, channel=inbound.channel, address=inbound.address, kind=reply.kind, priority=0,
            text=reply.text, options=reply.options, template_vars=reply.template_vars,
            status="sent" if inbound.synchronous else "pending",
            sent_at=now if inbound.synchronous else None, created_at=now,
        ))
    return replies
