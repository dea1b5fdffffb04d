"""Trainings and events: answering an invitation, seeing what is on, cancelling.

Purpose: owners register for the trainings program staff announce (bot/broadcasts.py, bot/events.py)
with one word, and cancel with one word, without having to find a menu.
Entry words:
  - DAFTAR / "1" / the invitation's button, answering an event invitation. Taken before the active
    flow's step when the invitation reached the owner after their last message (pipeline step e2,
    `answer_invitation`); otherwise DAFTAR still registers when no step took it (`rsvp_word`).
  - BATAL with no flow to cancel (or right after an event message) cancels the registration
    (`cancel_registration`, a hook of the global word BATAL).
  - "pelatihan", "acara", the menu item "Pelatihan & acara": this flow.
Steps:
    choose -> detail -> (register | cancel | back to choose)
    choose_cancel  (BATAL when registered for several events)

    Bot:   Halo Siti 👋 Ada Pelatihan GMP 72 jam ... Mau ikut? Balas DAFTAR atau 1.   (broadcast)
    Owner: daftar
    Bot:   Anda sudah terdaftar ✅ di *Pelatihan GMP Jakarta Timur*. ... Kalau tidak bisa datang, balas BATAL.
    Owner: batal
    Bot:   Baik, pendaftaran Anda di *Pelatihan GMP Jakarta Timur* sudah dibatalkan. ...
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from bot import events, turn_batch
from bot.choices import Option, number_of
from bot.content import Content, content_check
from bot.globals import CANCEL_HOOKS
from bot.normalize import normalize
from bot.turn import Turn
from flows.base import NOT_UNDERSTOOD, Flow, Step
from storage.models import MessageLog, OutboxMessage, Owner
from storage.models.events import Broadcast, BroadcastRecipient, EventRegistration, TrainingEvent

MAX_LISTED = 9
STALE_AFTER = timedelta(days=1)  # an invitation to an event that started longer ago is no longer answered


# --- what the owner was sent -------------------------------------------------------------------

@dataclass
class Invitation:
    event: TrainingEvent
    broadcast_id: int | None
    arrived_at: datetime  # when the owner got it (sent), or when it was queued
    newest: bool  # nothing else reached the owner, and the owner wrote nothing, since


def latest_invitation(turn: Turn) -> Invitation | None:
    session, owner_id = turn.session, turn.owner.id
    batch = turn_batch.facts(session)  # an inbox batch knows who was ever invited (bot/turn_batch.py)
    if batch is not None and batch.may_be_invited(session, owner_id) is False:
        return None
    row = session.execute(
        select(BroadcastRecipient.broadcast_id, BroadcastRecipient.outbox_id, Broadcast.event_id)
        .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
        .where(BroadcastRecipient.owner_id == owner_id, Broadcast.event_id.is_not(None))
        .order_by(BroadcastRecipient.broadcast_id.desc()).limit(1)
    ).first()
    if row is None:
        return None
    message = session.get(OutboxMessage, row.outbox_id) if row.outbox_id else None
    if message is not None and message.status == "cancelled":
        return None  # withdrawn before it was sent: the owner never saw it
    event = session.get(TrainingEvent, row.event_id)
    if event is None or event.starts_at < turn.now - STALE_AFTER:
        return None
    arrived = (message.sent_at or message.created_at) if message is not None else turn.now
    return Invitation(event, row.broadcast_id, arrived, _nothing_since(turn, arrived, message))


def _last_turn_at(turn: Turn) -> datetime | None:
    """When the owner last wrote before this message (the message log holds it; this turn's own
    entry is written at the end of the turn)."""
    return turn.session.scalar(
        select(func.max(MessageLog.created_at)).where(MessageLog.owner_id == turn.owner.id,
                                                      MessageLog.direction == "in")
    )


def _nothing_since(turn: Turn, arrived: datetime, message: OutboxMessage | None) -> bool:
    """True when the bot's message is the last thing in the conversation."""
    last_turn = _last_turn_at(turn)
    if last_turn is not None and last_turn > arrived:
        return False
    later = select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.owner_id == turn.owner.id, OutboxMessage.created_at > arrived
    )
    if message is not None:
        later = later.where(OutboxMessage.id != message.id)
    return not turn.session.scalar(later)


def _latest_event_notice(turn: Turn) -> int | None:
    """The event of a message the bot sent on its own (invitation, reminder, seat freed) after
    the owner's last turn, if that is the last thing the owner received."""
    since = _last_turn_at(turn)
    query = select(OutboxMessage).where(OutboxMessage.owner_id == turn.owner.id)
    if since is not None:
        query = query.where(OutboxMessage.created_at >= since)
    message = turn.session.execute(query.order_by(OutboxMessage.id.desc()).limit(1)).scalar_one_or_none()
    key = (message.dedupe_key or "") if message is not None else ""
    parts = key.split(":")
    if key.startswith("ev:") and len(parts) >= 3:  # "you got a seat"
        return int(parts[1])
    if key.startswith("reminder:") and len(parts) == 3:  # a reminder of the shared reminders table
        return events.event_of_reminder(turn.session, int(parts[1]))
    if key.startswith("bc:") and len(parts) == 3:
        return turn.session.scalar(select(Broadcast.event_id).where(Broadcast.id == int(parts[1])))
    return None


# --- reading the owner's answer ----------------------------------------------------------------

def _words(content: Content, kind: str) -> frozenset[str]:
    return frozenset(normalize(str(w), content) for w in content.data("events/replies.yaml")[kind])


def _register_option(turn: Turn) -> Option:
    return turn.option("register", "events.option_register")


def _says_register(turn: Turn) -> bool:
    return turn.norm in _words(turn.content, "register")


def _picks_first_option(turn: Turn) -> bool:
    """"1", "satu", or the invitation's button (its label comes back as the payload or text)."""
    if number_of(turn.text, turn.content) == 1:
        return True
    label = normalize(turn.t("events.option_register"), turn.content)
    return turn.norm == label


def _rsvp(turn: Turn, invitation: Invitation) -> None:
    rsvp = events.register(turn.session, invitation.event.id, turn.owner.id, turn.now,
                           broadcast_id=invitation.broadcast_id)
    variables = events.event_variables(turn.content, rsvp.event, turn.lang)
    if rsvp.outcome == "registered":
        turn.say("events.registered", **variables)
    elif rsvp.outcome == "waitlisted":
        turn.say("events.waitlisted", position=rsvp.position, **variables)
    elif rsvp.outcome == "already_registered":
        turn.say("events.already_registered", **variables)
    elif rsvp.outcome == "already_waitlisted":
        turn.say("events.already_waitlisted", position=rsvp.position, **variables)
    else:
        turn.say("events.closed", **variables)


# Listed in bot/nlu/rules.py ANSWER_HOOKS.
def answer_invitation(turn: Turn) -> bool:
    """DAFTAR / 1 / the button, when the invitation is what the owner is answering."""
    says_word, picks_one = _says_register(turn), _picks_first_option(turn)
    if not (says_word or picks_one):
        return False
    invitation = latest_invitation(turn)
    if invitation is None:
        return False
    idle = turn.flow_name in (None, "menu")
    # "1" is only ours when the invitation is the bot's last message; DAFTAR also when the owner is
    # not in the middle of something and cannot mean the program registration (already registered).
    if not (invitation.newest or (says_word and idle and turn.owner.is_registered)):
        return False
    _rsvp(turn, invitation)
    if not idle:
        turn.say("common.back_to_question")
        turn.reprompt()
    return True


# Listed in bot/nlu/rules.py FEATURE_PHRASES: before the free-text interpretations, where DAFTAR
# means the program registration.
def rsvp_word(turn: Turn) -> bool:
    """DAFTAR typed in the middle of another flow, no answer to its step, with an open invitation."""
    if turn.flow_name in (None, "menu") or not _says_register(turn):
        return False
    invitation = latest_invitation(turn)
    if invitation is None:
        return False
    _rsvp(turn, invitation)
    return True


def _say_cancelled(turn: Turn, registration: EventRegistration) -> None:
    was_waiting = registration.status == "waitlisted"
    event = turn.session.get(TrainingEvent, registration.event_id)
    events.cancel(turn.session, turn.content, registration, turn.now)
    variables = events.event_variables(turn.content, event, turn.lang)
    if was_waiting:
        turn.say("events.cancelled_waitlist", **variables)
    else:
        turn.say("events.cancelled", **variables)


def cancel_registration(turn: Turn) -> bool:
    """BATAL: cancels an event registration when there is no flow to cancel, or when the bot's
    last message was about that event (a reminder says "balas BATAL")."""
    registrations = events.active_registrations(turn.session, turn.owner.id, turn.now)
    if not registrations:
        return False
    if turn.flow_name not in (None, "menu"):
        event_id = _latest_event_notice(turn)
        registrations = [r for r in registrations if r.event_id == event_id]
        if not registrations:
            return False
    if len(registrations) == 1:
        _say_cancelled(turn, registrations[0])
        return True
    turn.end_flow()
    turn.state.flow = FLOW.name  # straight to the question, without the flow's opening list
    turn.goto("choose_cancel", remember=False)
    return True


CANCEL_HOOKS.append(cancel_registration)


# --- the flow ----------------------------------------------------------------------------------

def visible_events(turn: Turn) -> list[TrainingEvent]:
    """Upcoming events for this owner: in the event's segment, invited, or already registered."""
    from bot import segment as segments

    session, owner_id = turn.session, turn.owner.id
    upcoming = session.execute(
        select(TrainingEvent).where(TrainingEvent.status == "scheduled", TrainingEvent.starts_at > turn.now)
        .order_by(TrainingEvent.starts_at)
    ).scalars().all()
    mine = set(session.execute(
        select(EventRegistration.event_id).where(EventRegistration.owner_id == owner_id,
                                                 EventRegistration.status != "cancelled")
    ).scalars())
    invited = set(session.execute(
        select(Broadcast.event_id).join(BroadcastRecipient, BroadcastRecipient.broadcast_id == Broadcast.id)
        .where(BroadcastRecipient.owner_id == owner_id, Broadcast.event_id.is_not(None))
    ).scalars())
    shown = []
    for event in upcoming:
        if event.id in mine or event.id in invited:
            shown.append(event)
            continue
        try:
            spec = segments.parse(event.segment or "all")
        except segments.SegmentError:
            continue
        if session.scalar(select(func.count()).select_from(Owner).where(
                Owner.id == owner_id, *spec.conditions(only_reachable=False))):
            shown.append(event)
    return shown[:MAX_LISTED]


def _event_options(turn: Turn, listed: list[TrainingEvent]) -> list[Option]:
    return [Option(str(event.id), event.title) for event in listed]


def start(turn: Turn) -> None:
    if not visible_events(turn):
        turn.end_flow()
        turn.say("events.none")
        return
    turn.goto("choose", remember=False)


def ask_choose(turn: Turn) -> None:
    listed = visible_events(turn)
    turn.data["listed"] = [e.id for e in listed]
    turn.say("events.list_title", options=_event_options(turn, listed))


def handle_choose(turn: Turn):
    listed = [e for e in (turn.session.get(TrainingEvent, i) for i in turn.data.get("listed", [])) if e]
    choice = turn.choose(_event_options(turn, listed))
    if choice is None:
        return NOT_UNDERSTOOD
    turn.data["event_id"] = int(choice.key)
    turn.goto("detail")
    return None


def _registration(turn: Turn, event_id: int) -> EventRegistration | None:
    return turn.session.execute(
        select(EventRegistration).where(EventRegistration.event_id == event_id,
                                        EventRegistration.owner_id == turn.owner.id)
    ).scalar_one_or_none()


def _detail_options(turn: Turn, registration: EventRegistration | None) -> list[Option]:
    active = registration is not None and registration.status in events.ACTIVE
    first = turn.option("cancel", "events.option_cancel") if active else _register_option(turn)
    return [first, turn.option("back", "events.option_back")]


def ask_detail(turn: Turn) -> None:
    event = turn.session.get(TrainingEvent, turn.data["event_id"])
    registration = _registration(turn, event.id)
    variables = events.event_variables(turn.content, event, turn.lang)
    turn.say("events.detail", **variables)
    options = _detail_options(turn, registration)
    if registration is not None and registration.status in ("registered", "attended"):
        turn.say("events.status_registered", options=options)
    elif registration is not None and registration.status == "waitlisted":
        turn.say("events.status_waitlisted", options=options,
                 position=events.waitlist_position(turn.session, registration))
    elif event.quota is None:
        turn.say("events.status_open_unlimited", options=options)
    else:
        counts = events.seat_counts(turn.session, [event.id])[event.id]
        seats = event.quota - counts["registered"] - counts["attended"]
        if seats > 0:
            turn.say("events.status_open", options=options, seats=seats)
        else:
            turn.say("events.status_full", options=options)


def handle_detail(turn: Turn):
    event = turn.session.get(TrainingEvent, turn.data["event_id"])
    registration = _registration(turn, event.id)
    choice = turn.choose(_detail_options(turn, registration))
    if choice is None and _says_register(turn) and (registration is None or registration.status not in events.ACTIVE):
        choice = _register_option(turn)
    if choice is None:
        return NOT_UNDERSTOOD
    if choice.key == "back":
        turn.goto("choose")
        return None
    turn.end_flow()
    if choice.key == "cancel":
        _say_cancelled(turn, registration)
    else:
        invitation = latest_invitation(turn)
        if invitation is None or invitation.event.id != event.id:
            invitation = Invitation(event, None, turn.now, False)  # found in the list, not invited
        _rsvp(turn, invitation)
    return None


def _cancel_options(turn: Turn) -> list[Option]:
    registrations = events.active_registrations(turn.session, turn.owner.id, turn.now)
    return [Option(str(r.id), turn.session.get(TrainingEvent, r.event_id).title) for r in registrations]


def ask_choose_cancel(turn: Turn) -> None:
    turn.say("events.choose_cancel", options=_cancel_options(turn))


def handle_choose_cancel(turn: Turn):
    choice = turn.choose(_cancel_options(turn))
    if choice is None:
        return NOT_UNDERSTOOD
    registration = turn.session.get(EventRegistration, int(choice.key))
    turn.end_flow()
    _say_cancelled(turn, registration)
    return None


FLOW = Flow(
    name="events",
    steps={
        "choose": Step(ask_choose, handle_choose),
        "detail": Step(ask_detail, handle_detail),
        "choose_cancel": Step(ask_choose_cancel, handle_choose_cancel),
    },
    start=start,
    description="Trainings and events: see what is on, register, cancel.",
)


# --- content checks ------------------------------------------------------------------------------

@content_check
def check_events_content(content: Content) -> list[str]:
    from bot.broadcasts import BroadcastError, compile_message

    errors = []
    kinds = content.data("events/kinds.yaml").get("kinds") or {}
    if not kinds:
        errors.append("events/kinds.yaml: no kinds")
    for key, labels in kinds.items():
        for lang in ("id", "en"):
            if not (labels or {}).get(lang):
                errors.append(f"events/kinds.yaml: kind {key!r} has no {lang!r} label")
    calendar = content.data("events/calendar.yaml")
    for lang in ("id", "en"):
        names = calendar.get(lang) or {}
        if len(names.get("weekdays") or []) != 7 or len(names.get("months") or []) != 12:
            errors.append(f"events/calendar.yaml: {lang!r} needs 7 weekdays and 12 months")
    replies = content.data("events/replies.yaml")
    for kind in ("register", "cancel"):
        if not replies.get(kind):
            errors.append(f"events/replies.yaml: {kind!r} has no words")
    for lang in ("id", "en"):
        try:  # the standard invitation must pass the same checks as a staff-written message
            compile_message(content.raw("events.invite_default", lang), has_event=True)
        except BroadcastError as exc:
            errors.append(f"texts/{lang}.yaml: events.invite_default: {exc}")
    return errors


__all__ = ["FLOW", "answer_invitation", "cancel_registration", "latest_invitation", "rsvp_word"]
