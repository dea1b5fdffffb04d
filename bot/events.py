"""Training events: registering (with a quota and a waiting list), cancelling, reminders, attendance.

The rules, in one place:
- An owner registers by answering an invitation ("DAFTAR", "1", or the button). While seats are
  left they get one (`registered`); once the quota is reached they join the waiting list
  (`waitlisted`), in the order they asked. Registration closes when the event starts.
- "BATAL" cancels. When a registered owner cancels, the first owner on the waiting list gets the
  seat and a message saying so.
- Two reminders go to registered owners: the day before (at 09:00 WIB) and 2 hours before, as
  rows of the shared reminders table (bot/reminders.py). A reminder is not armed when the owner
  registered after it was due (their confirmation said it all), and a 2-hours reminder that would
  fall in the quiet hours goes out the evening before instead.
- Staff mark who attended and export the list as CSV.

Seats are counted under a lock on the event row (PostgreSQL `FOR UPDATE`; SQLite serialises writers),
so two owners answering at the same moment never both get the last seat.
"""
from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from typing import Any, Iterable

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot import reminders
from bot.clock import JAKARTA, local, utcnow
from bot.content import Content
from storage.models import OutboxMessage, Owner
from storage.models.events import EventRegistration, TrainingEvent

log = logging.getLogger(__name__)

DAY_BEFORE_LOCAL_TIME = time(9, 0)
TWO_HOURS = timedelta(hours=2)
QUIET_START, QUIET_END = 20, 7  # WIB; the sender keeps the same rule for anything not a reply
NOTICE_KIND = "reminder"  # reminders and "you got a seat": ahead of broadcasts in the sender's queue
ACTIVE = ("registered", "waitlisted")


class EventError(ValueError):
    pass


# --- presenting an event ---------------------------------------------------------------------

def event_kinds(content: Content) -> dict[str, dict[str, str]]:
    return content.data("events/kinds.yaml")["kinds"]


def kind_label(content: Content, kind: str, lang: str) -> str:
    labels = event_kinds(content).get(kind) or {}
    return labels.get(lang) or labels.get("id") or kind


def format_when(content: Content, moment: datetime, lang: str) -> str:
    """"Selasa, 1 Desember 2026, pukul 09.00 WIB" in the owner's language (names from content)."""
    calendar = content.data("events/calendar.yaml")
    names = calendar.get(lang) or calendar["id"]
    at = local(moment)
    return content.t(
        "events.when",
        lang,
        weekday=names["weekdays"][at.weekday()],
        day=at.day,
        month=names["months"][at.month - 1],
        year=at.year,
        time=f"{at.hour:02d}.{at.minute:02d}",
    )


def event_variables(content: Content, event: TrainingEvent, lang: str) -> dict[str, Any]:
    """The variables every event message (and a broadcast's template) can use."""
    return {
        "event_title": event.title,
        "event_kind": kind_label(content, event.kind, lang),
        "event_when": format_when(content, event.starts_at, lang),
        "event_place": event.place or "",
        "event_link": event.link or "",
        "event_where": event.link or event.place or "",
        "event_quota": event.quota if event.quota is not None else "",
    }


# --- staff: creating and listing ---------------------------------------------------------------

def parse_local_time(value: str) -> datetime:
    """"2026-12-01 09:00" typed by staff in Jakarta time -> aware UTC."""
    text = value.strip().replace("T", " ")
    for fmt in ("%Y-%m-%d %H:%M", "%Y-%m-%d %H.%M", "%Y-%m-%d"):
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=JAKARTA).astimezone(timezone.utc)
    raise EventError(f"`{value}` is not a date and time; write it as YYYY-MM-DD HH:MM (Jakarta time).")


def create_event(session: Session, content: Content, *, title: str, kind: str, starts_at: datetime,
                 place: str | None = None, link: str | None = None, quota: int | None = None,
                 segment: str = "", description: str = "", ends_at: datetime | None = None,
                 created_by: str = "staff", now: datetime | None = None) -> TrainingEvent:
    from bot import segment as segments

    now = now or utcnow()
    problems = []
    if not title.strip():
        problems.append("The title is empty.")
    if kind not in event_kinds(content):
        problems.append(f"Unknown kind `{kind}`; use one of {', '.join(event_kinds(content))} (content/events/kinds.yaml).")
    if starts_at <= now:
        problems.append("The start time is in the past.")
    if ends_at is not None and ends_at <= starts_at:
        problems.append("The end time is not after the start time.")
    if not (place or "").strip() and not (link or "").strip():
        problems.append("Give a place or a link, so owners know where to go.")
    if quota is not None and quota < 1:
        problems.append("The quota must be at least 1 (leave it out for no limit).")
    if segment.strip():
        try:
            segment = segments.parse(segment).spec
        except segments.SegmentError as exc:
            problems.extend(exc.problems)
    if problems:
        raise EventError(" ".join(problems))
    event = TrainingEvent(title=title.strip(), kind=kind, starts_at=starts_at, ends_at=ends_at,
                          place=(place or "").strip() or None, link=(link or "").strip() or None,
                          quota=quota, segment=segment.strip(), description=description, created_by=created_by)
    session.add(event)
    session.flush()
    log.info("event %s created (%s, quota %s)", event.id, kind, quota)
    return event


def seat_counts(session: Session, event_ids: Iterable[int]) -> dict[int, dict[str, int]]:
    ids = list(event_ids)
    out: dict[int, dict[str, int]] = {i: {s: 0 for s in ("registered", "waitlisted", "cancelled", "attended")} for i in ids}
    if not ids:
        return out
    rows = session.execute(
        select(EventRegistration.event_id, EventRegistration.status, func.count())
        .where(EventRegistration.event_id.in_(ids))
        .group_by(EventRegistration.event_id, EventRegistration.status)
    )
    for event_id, status, count in rows:
        out[event_id][status] = count
    return out


# --- owners: registering and cancelling ----------------------------------------------------------

@dataclass
class Rsvp:
    outcome: str  # registered | waitlisted | already_registered | already_waitlisted | closed
    event: TrainingEvent
    registration: EventRegistration | None = None
    position: int | None = None  # on the waiting list, 1 = next


def _lock_event(session: Session, event_id: int) -> TrainingEvent | None:
    return session.execute(
        select(TrainingEvent).where(TrainingEvent.id == event_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def is_open(event: TrainingEvent, now: datetime) -> bool:
    return event.status == "scheduled" and event.starts_at > now


def _seated(session: Session, event_id: int) -> int:
    return session.scalar(
        select(func.count()).select_from(EventRegistration).where(
            EventRegistration.event_id == event_id, EventRegistration.status.in_(("registered", "attended"))
        )
    ) or 0


def waitlist_position(session: Session, registration: EventRegistration) -> int:
    ahead = session.scalar(
        select(func.count()).select_from(EventRegistration).where(
            EventRegistration.event_id == registration.event_id,
            EventRegistration.status == "waitlisted",
            (EventRegistration.waitlisted_at < registration.waitlisted_at)
            | ((EventRegistration.waitlisted_at == registration.waitlisted_at) & (EventRegistration.id < registration.id)),
        )
    ) or 0
    return ahead + 1


def register(session: Session, event_id: int, owner_id: int, now: datetime | None = None,
             broadcast_id: int | None = None) -> Rsvp:
    now = now or utcnow()
    event = _lock_event(session, event_id)
    if event is None:
        raise EventError(f"no event {event_id}")
    registration = session.execute(
        select(EventRegistration).where(EventRegistration.event_id == event_id, EventRegistration.owner_id == owner_id)
    ).scalar_one_or_none()
    if registration is not None and registration.status in ("registered", "attended"):
        return Rsvp("already_registered", event, registration)
    if registration is not None and registration.status == "waitlisted":
        return Rsvp("already_waitlisted", event, registration, waitlist_position(session, registration))
    if not is_open(event, now):
        return Rsvp("closed", event, registration)
    has_seat = event.quota is None or _seated(session, event_id) < event.quota
    status = "registered" if has_seat else "waitlisted"
    if registration is None:
        registration = EventRegistration(event_id=event_id, owner_id=owner_id, status=status, created_at=now,
                                         broadcast_id=broadcast_id)
        session.add(registration)
    registration.status = status
    registration.cancelled_at = None
    registration.registered_at = now if has_seat else None
    registration.waitlisted_at = None if has_seat else now
    session.flush()
    if has_seat:
        schedule_reminders(session, event, owner_id, now)
    log.info("owner %s %s for event %s", owner_id, status, event_id)
    if has_seat:
        return Rsvp("registered", event, registration)
    return Rsvp("waitlisted", event, registration, waitlist_position(session, registration))


def active_registrations(session: Session, owner_id: int, now: datetime) -> list[EventRegistration]:
    """The owner's registrations and waiting-list places for events that have not started."""
    return list(session.execute(
        select(EventRegistration).join(TrainingEvent)
        .where(EventRegistration.owner_id == owner_id, EventRegistration.status.in_(ACTIVE),
               TrainingEvent.status == "scheduled", TrainingEvent.starts_at > now)
        .order_by(TrainingEvent.starts_at, EventRegistration.id)
    ).scalars())


def cancel(session: Session, content: Content, registration: EventRegistration,
           now: datetime | None = None) -> EventRegistration | None:
    """Cancel one registration; a freed seat goes to the first on the waiting list, who is told.
    Returns the promoted registration, if any."""
    now = now or utcnow()
    event = _lock_event(session, registration.event_id)
    session.refresh(registration)
    if registration.status not in ACTIVE:
        return None
    had_seat = registration.status == "registered"
    registration.status = "cancelled"
    registration.cancelled_at = now
    session.flush()
    cancel_reminders(session, registration.event_id, registration.owner_id, now)
    log.info("owner %s cancelled event %s", registration.owner_id, registration.event_id)
    if not had_seat or event is None or not is_open(event, now):
        return None
    return _promote_next(session, content, event, now)


def _promote_next(session: Session, content: Content, event: TrainingEvent, now: datetime) -> EventRegistration | None:
    if event.quota is not None and _seated(session, event.id) >= event.quota:
        return None
    nxt = session.execute(
        select(EventRegistration)
        .where(EventRegistration.event_id == event.id, EventRegistration.status == "waitlisted")
        .order_by(EventRegistration.waitlisted_at, EventRegistration.id).limit(1)
    ).scalar_one_or_none()
    if nxt is None:
        return None
    nxt.status = "registered"
    nxt.registered_at = now
    session.flush()
    schedule_reminders(session, event, nxt.owner_id, now)
    owner = session.get(Owner, nxt.owner_id)
    if owner is not None:
        lang = owner.lang or "id"
        queue_notice(
            session, owner,
            content.t("events.promoted", lang, **event_variables(content, event, lang)),
            dedupe_key=f"ev:{event.id}:{owner.id}:promoted:{nxt.registered_at:%Y%m%d%H%M%S}",
            template_vars={"event_title": event.title, "event_when": format_when(content, event.starts_at, lang)},
            now=now,
        )
    log.info("owner %s promoted from the waiting list of event %s", nxt.owner_id, event.id)
    return nxt


def promote_waitlist(session: Session, content: Content, event_id: int, now: datetime | None = None) -> list[int]:
    """Fill free seats from the waiting list (after staff raise the quota). Returns promoted owner ids."""
    now = now or utcnow()
    event = _lock_event(session, event_id)
    promoted = []
    while event is not None and is_open(event, now):
        nxt = _promote_next(session, content, event, now)
        if nxt is None:
            break
        promoted.append(nxt.owner_id)
    return promoted


# --- messages the bot starts -------------------------------------------------------------------

def _insert(session: Session):
    dialect = session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(OutboxMessage.__table__)


def queue_notice(session: Session, owner: Owner, text: str, *, dedupe_key: str, kind: str = NOTICE_KIND,
                 options: list[str] | None = None, template_vars: dict | None = None,
                 now: datetime | None = None) -> bool:
    """Put one bot-initiated message in the outbox, once per dedupe_key. True if it was new."""
    from bot.pipeline import PRIORITY  # late: the pipeline imports every flow, and flows import this module

    now = now or utcnow()
    priority = PRIORITY.get(kind, PRIORITY["reminder"])
    result = session.execute(
        _insert(session).values(
            owner_id=owner.id, channel=owner.channel, address=owner.address, kind=kind, priority=priority,
            text=text, options=list(options or []), template_vars=dict(template_vars or {}),
            dedupe_key=dedupe_key, status="pending", attempts=0, created_at=now,
        ).on_conflict_do_nothing(index_elements=["dedupe_key"])
    )
    return bool(result.rowcount)


# --- reminders -----------------------------------------------------------------------------------
# Event reminders are rows of the shared reminders table (bot/reminders.py), kind "training_event":
# the scheduler's one sweep sends them (once each, never in the quiet hours, never to an owner who
# stopped messages or turned this kind off in "pengingat saya"). Registering schedules them,
# cancelling removes them.

REMINDER_KIND = "training_event"
_REMINDER_TEXT = {"day_before": "events.reminder_day_before", "two_hours": "events.reminder_two_hours"}


@dataclass(frozen=True)
class _EventReminderKind(reminders.ReminderKind):
    """One kind for owners ("Pengingat pelatihan" in "pengingat saya"), two texts."""

    def render(self, content: Content, lang: str, payload) -> str:
        variables = {
            "event_title": payload["event_title"],
            "event_when": format_when(content, datetime.fromisoformat(payload["starts_at"]), lang),
            "event_where": payload.get("event_where") or "",
        }
        return content.t(_REMINDER_TEXT[payload["which"]], lang, **variables)


reminders.register_kind(_EventReminderKind(REMINDER_KIND, _REMINDER_TEXT["day_before"], "events.reminder_kind"))


def _in_quiet_hours(moment: datetime) -> bool:
    hour = local(moment).hour
    return hour >= QUIET_START or hour < QUIET_END


def reminder_times(event: TrainingEvent) -> dict[str, datetime]:
    """When each reminder of an event is due (aware UTC)."""
    start_local = local(event.starts_at)
    day_before = datetime.combine(start_local.date() - timedelta(days=1), DAY_BEFORE_LOCAL_TIME, tzinfo=JAKARTA)
    two_hours = event.starts_at - TWO_HOURS
    if _in_quiet_hours(two_hours):
        # A 05:00 reminder would wait for the quiet hours to end; send it the evening before.
        evening = local(two_hours)
        if evening.hour < QUIET_END:
            evening -= timedelta(days=1)
        two_hours = datetime.combine(evening.date(), time(QUIET_START - 1, 0), tzinfo=JAKARTA)
    return {"day_before": day_before.astimezone(timezone.utc), "two_hours": two_hours.astimezone(timezone.utc)}


def reminder_key(event_id: int, owner_id: int, which: str) -> str:
    return f"event:{event_id}:{owner_id}:{which}"


def schedule_reminders(session: Session, event: TrainingEvent, owner_id: int, now: datetime) -> int:
    """Arm the day-before and 2-hours reminders of one registered owner. A reminder already due
    is not armed: the owner registered after it, and their confirmation said it all. The
    day-before one expires when the 2-hours one is due (a late sweep sends only the useful one)."""
    due = reminder_times(event)
    expires = {"day_before": due["two_hours"], "two_hours": event.starts_at}
    payload = {"event_id": event.id, "event_title": event.title, "starts_at": event.starts_at.isoformat(),
               "event_where": event.link or event.place or ""}
    armed = 0
    for which, due_at in due.items():
        key = reminder_key(event.id, owner_id, which)
        if due_at <= now:
            reminders.cancel(session, owner_id, key=key, now=now)
            continue
        reminders.schedule(session, owner_id, REMINDER_KIND, due_at, key, subject=f"event:{event.id}",
                           payload={**payload, "which": which}, expires_at=expires[which], rearm=True, now=now)
        armed += 1
    return armed


def cancel_reminders(session: Session, event_id: int, owner_id: int, now: datetime) -> int:
    return reminders.cancel(session, owner_id, subject=f"event:{event_id}", now=now)


def event_of_reminder(session: Session, reminder_id: int) -> int | None:
    """The event a reminder row is about, when it is an event reminder."""
    row = session.get(reminders.Reminder, reminder_id)
    if row is None or row.kind != REMINDER_KIND:
        return None
    return (row.payload or {}).get("event_id")


# --- attendance ----------------------------------------------------------------------------------

def mark_attendance(session: Session, event_id: int, owner_ids: Iterable[int], attended: bool = True,
                    now: datetime | None = None) -> int:
    """Mark owners as attended (walk-ins without a registration too), or undo it."""
    now = now or utcnow()
    changed = 0
    for owner_id in owner_ids:
        if session.get(Owner, owner_id) is None:
            raise EventError(f"no owner {owner_id}")
        registration = session.execute(
            select(EventRegistration).where(EventRegistration.event_id == event_id, EventRegistration.owner_id == owner_id)
        ).scalar_one_or_none()
        if attended:
            if registration is None:  # a walk-in
                session.add(EventRegistration(event_id=event_id, owner_id=owner_id, status="attended",
                                              created_at=now, attended_at=now))
                changed += 1
            elif registration.status != "attended":
                registration.status = "attended"
                registration.attended_at = now
                changed += 1
        elif registration is not None and registration.status == "attended":
            registration.status = "registered"
            registration.attended_at = None
            changed += 1
    session.flush()
    return changed


EXPORT_COLUMNS = ("owner_id", "name", "business_name", "channel", "address", "city", "district", "sector",
                  "status", "registered_at_wib", "attended_at_wib")


def attendance_csv(session: Session, event_id: int) -> str:
    """Every registration of an event (attended first), for staff reports."""
    rows = session.execute(
        select(EventRegistration, Owner).join(Owner, Owner.id == EventRegistration.owner_id)
        .where(EventRegistration.event_id == event_id).order_by(EventRegistration.id)
    ).all()
    order = {"attended": 0, "registered": 1, "waitlisted": 2, "cancelled": 3}
    rows.sort(key=lambda pair: (order.get(pair[0].status, 9), pair[0].id))

    def wib(moment):
        return local(moment).strftime("%Y-%m-%d %H:%M") if moment else ""

    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    for registration, owner in rows:
        writer.writerow([owner.id, owner.name or "", owner.business_name or "", owner.channel, owner.address,
                         owner.city or "", owner.district or "", owner.sector or "", registration.status,
                         wib(registration.registered_at), wib(registration.attended_at)])
    return out.getvalue()
