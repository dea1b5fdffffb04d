"""What people do with a case: take, reply, note, transfer, resolve, rate.

Every action writes a TicketEvent (who, what, when) and the messages it causes to others as
outbox rows, all in the caller's transaction. An action that is not allowed raises `Refused`
with a text key that the mentor chat shows.

Taking is atomic: `UPDATE tickets SET status='taken' ... WHERE id=:id AND status='open'`. On
PostgreSQL the second of two simultaneous takers waits for the first's row lock, re-reads the row,
finds it taken and updates nothing; on SQLite writers are serialised. Exactly one mentor wins.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.content import Content
from bot.handoff import notify
from bot.handoff.routing import case_summary, command_label, display_name
from storage.models import ConversationState, Owner, Ticket, TicketEvent
from storage.models.handoff import CaseOffer, Mentor

NOTE_LIMIT = 2000
RATING_FLOW = "mentor"  # flows/mentor.py
RATING_STEP = "rate"


class Refused(Exception):
    """An action the mentor may not do now; `key` is the text that says why."""

    def __init__(self, key: str, **variables: Any):
        super().__init__(key)
        self.key = key
        self.variables = variables


def actor(mentor: Mentor) -> str:
    return f"mentor:{mentor.id}"


def log_event(session: Session, ticket: Ticket, who: str, action: str, note: str = "",
              now: datetime | None = None) -> TicketEvent:
    event = TicketEvent(ticket_id=ticket.id, actor=who, action=action, note=(note or "")[:NOTE_LIMIT],
                        created_at=now or utcnow())
    session.add(event)
    return event


def get_case(session: Session, ticket_id: int) -> Ticket:
    ticket = session.get(Ticket, ticket_id)
    if ticket is None:
        raise Refused("handoff.case_not_found", case_id=ticket_id)
    return ticket


def is_offered(session: Session, ticket: Ticket, mentor: Mentor) -> bool:
    return bool(session.scalar(select(exists().where(CaseOffer.ticket_id == ticket.id,
                                                     CaseOffer.mentor_id == mentor.id))))


def may_see(session: Session, ticket: Ticket, mentor: Mentor) -> bool:
    return mentor.is_supervisor or ticket.mentor_id == mentor.id or is_offered(session, ticket, mentor)


def _require_holder(ticket: Ticket, mentor: Mentor, supervisors_too: bool = False) -> None:
    if ticket.status == "resolved":
        raise Refused("handoff.case_closed", case_id=ticket.id)
    if ticket.status == "taken" and ticket.mentor_id == mentor.id:
        return
    if supervisors_too and mentor.is_supervisor:
        return
    if ticket.status == "open":
        raise Refused("handoff.take_first", case_id=ticket.id)
    raise Refused("handoff.not_yours", case_id=ticket.id)


def _owner(session: Session, ticket: Ticket) -> Owner:
    return session.get(Owner, ticket.owner_id)


# --- take ----------------------------------------------------------------------------------------
def take_case(session: Session, content: Content, ticket_id: int, mentor: Mentor,
              now: datetime | None = None) -> Ticket:
    now = now or utcnow()
    ticket = get_case(session, ticket_id)
    if ticket.status == "resolved":
        raise Refused("handoff.case_closed", case_id=ticket.id)
    if ticket.status == "taken" and ticket.mentor_id == mentor.id:
        raise Refused("handoff.already_yours", case_id=ticket.id)
    if not may_see(session, ticket, mentor):
        raise Refused("handoff.not_offered", case_id=ticket.id)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status == "open")
        .values(status="taken", mentor_id=mentor.id, taken_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ticket)
    if result.rowcount != 1:
        holder = session.get(Mentor, ticket.mentor_id) if ticket.mentor_id else None
        if ticket.status == "resolved":
            raise Refused("handoff.case_closed", case_id=ticket.id)
        if ticket.mentor_id == mentor.id:  # the same mentor tapped twice
            raise Refused("handoff.already_yours", case_id=ticket.id)
        raise Refused("handoff.taken_by_other", case_id=ticket.id,
                      name=holder.first_name if holder else "-")
    log_event(session, ticket, actor(mentor), "taken", mentor.code, now)
    mentor.current_ticket_id = ticket.id
    notify.to_owner(session, content, _owner(session, ticket), "handoff.owner_taken", mentor=mentor.first_name)
    return ticket


# --- reply, note ---------------------------------------------------------------------------------
def reply_to_owner(session: Session, content: Content, ticket: Ticket, mentor: Mentor, text: str,
                   now: datetime | None = None) -> Owner:
    _require_holder(ticket, mentor)
    text = text.strip()
    if not text:
        raise Refused("handoff.reply_empty", case_id=ticket.id)
    owner = _owner(session, ticket)
    notify.to_owner(session, content, owner, "handoff.relay_to_owner", mentor=mentor.first_name, text=text)
    log_event(session, ticket, actor(mentor), "replied", text, now)
    mentor.current_ticket_id = ticket.id
    return owner


def add_note(session: Session, ticket: Ticket, mentor: Mentor, text: str, now: datetime | None = None) -> None:
    if not may_see(session, ticket, mentor):
        raise Refused("handoff.not_offered", case_id=ticket.id)
    if not text.strip():
        raise Refused("handoff.note_empty", case_id=ticket.id)
    log_event(session, ticket, actor(mentor), "note", text.strip(), now)


# --- transfer ------------------------------------------------------------------------------------
def transfer_case(session: Session, content: Content, ticket: Ticket, mentor: Mentor, target: Mentor | None,
                  note: str = "", now: datetime | None = None) -> Mentor:
    """Hand a case to another mentor: it becomes theirs at once; both the owner and they are told."""
    now = now or utcnow()
    _require_holder(ticket, mentor, supervisors_too=True)
    if target is None or not target.active:
        raise Refused("handoff.transfer_unknown")
    if target.id == ticket.mentor_id:
        raise Refused("handoff.transfer_same", name=target.first_name)
    previous = session.get(Mentor, ticket.mentor_id) if ticket.mentor_id else None
    ticket.status = "taken"
    ticket.mentor_id = target.id
    ticket.taken_at = now
    if not is_offered(session, ticket, target):
        session.add(CaseOffer(ticket_id=ticket.id, mentor_id=target.id, via="transfer", created_at=now))
    log_event(session, ticket, actor(mentor), "transferred", f"{target.code}: {note.strip()}".rstrip(": "), now)
    for holder in (previous, mentor):
        if holder is not None and holder.current_ticket_id == ticket.id:
            holder.current_ticket_id = None
    owner = _owner(session, ticket)
    notify.to_mentor(session, content, target, "handoff.mentor_transferred_to_you",
                     options=[command_label(content, "show", ticket.id)], sender=mentor.first_name,
                     note=note.strip() or "-", **case_summary(content, ticket, owner, target.lang))
    notify.to_owner(session, content, owner, "handoff.owner_transferred", mentor=target.first_name)
    return target


# --- resolve and rate ----------------------------------------------------------------------------
def resolve_case(session: Session, content: Content, ticket: Ticket, mentor: Mentor, note: str,
                 now: datetime | None = None) -> Owner:
    now = now or utcnow()
    _require_holder(ticket, mentor, supervisors_too=True)
    note = note.strip()
    if not note:
        raise Refused("handoff.resolve_needs_note", case_id=ticket.id)
    result = session.execute(
        update(Ticket)
        .where(Ticket.id == ticket.id, Ticket.status != "resolved")
        .values(status="resolved", resolved_at=now, resolution_note=note[:NOTE_LIMIT],
                mentor_id=ticket.mentor_id or mentor.id)
        .execution_options(synchronize_session=False)
    )
    session.refresh(ticket)
    if result.rowcount != 1:
        raise Refused("handoff.case_closed", case_id=ticket.id)
    log_event(session, ticket, actor(mentor), "resolved", note, now)
    if mentor.current_ticket_id == ticket.id:
        mentor.current_ticket_id = None
    owner = _owner(session, ticket)
    ask_rating(session, content, owner, ticket, mentor, note)
    return owner


def rating_options(content: Content, lang: str) -> list[str]:
    return [content.t(f"handoff.rate_{n}", lang) for n in range(1, 6)]


def ask_rating(session: Session, content: Content, owner: Owner, ticket: Ticket, mentor: Mentor, note: str) -> None:
    """Tell the owner the case is closed and put their chat on the one satisfaction question."""
    # Lock the owner's row, as the pipeline does for a turn, so a message arriving now cannot
    # overwrite the state we set.
    session.execute(select(Owner.id).where(Owner.id == owner.id).with_for_update())
    state = session.get(ConversationState, owner.id)
    if state is None:
        state = ConversationState(owner_id=owner.id, data={}, history=[], misses=0)
        session.add(state)
    state.flow = RATING_FLOW
    state.step = RATING_STEP
    state.data = {"ticket_id": ticket.id}
    state.history = []
    state.misses = 0
    state.updated_at = utcnow()
    notify.to_owner(session, content, owner, "handoff.owner_resolved",
                    options=rating_options(content, owner.lang or "id"), mentor=mentor.first_name, note=note)


def record_rating(session: Session, ticket: Ticket, rating: int, now: datetime | None = None) -> None:
    if not 1 <= rating <= 5:
        raise ValueError("a rating is 1 to 5")
    ticket.rating = rating
    log_event(session, ticket, "owner", "rated", str(rating), now)


def record_rating_comment(session: Session, ticket: Ticket, comment: str, now: datetime | None = None) -> None:
    ticket.rating_comment = comment.strip()[:NOTE_LIMIT]
    log_event(session, ticket, "owner", "commented", ticket.rating_comment, now)


# --- the owner's side of the relay ----------------------------------------------------------------
def taken_cases(session: Session, owner: Owner) -> list[Ticket]:
    from bot import turn_batch

    batch = turn_batch.facts(session)
    if batch is not None and batch.taken is not None and owner.id not in batch.taken:
        return []  # the inbox batch read its owners' taken cases at once
    return list(session.scalars(
        select(Ticket).where(Ticket.owner_id == owner.id, Ticket.status == "taken").order_by(Ticket.taken_at.desc())
    ).all())


def relay_from_owner(session: Session, content: Content, owner: Owner, text: str,
                     media: list[dict] | None = None, now: datetime | None = None) -> bool:
    """Pass an owner's message to the mentor(s) holding their case(s). False when no case is taken."""
    cases = taken_cases(session, owner)
    if not cases:
        return False
    media = media or []
    shown = text.strip()
    for item in media:
        label = content.t(f"handoff.media_{item.get('kind')}" if item.get("kind") in ("image", "audio", "video",
                                                                                        "document") else
                          "handoff.media_other", "id")
        shown = f"{shown}\n[{label}] {item.get('url', '')}".strip()
    told: set[int] = set()
    for ticket in cases:
        log_event(session, ticket, "owner", "owner_wrote", shown, now)
        if ticket.mentor_id in told:
            continue
        mentor = session.get(Mentor, ticket.mentor_id)
        if mentor is None:
            continue
        told.add(mentor.id)
        notify.to_mentor(session, content, mentor, "handoff.relay_to_mentor", kind="relay", case_id=ticket.id,
                         options=[command_label(content, "show", ticket.id)],
                         owner_name=display_name(content, owner, mentor.lang),
                         text=shown or "-")
    return True
