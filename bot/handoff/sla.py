"""The SLA check: nobody's case is forgotten.

Run every few minutes by the scheduler (`run_sla_check`) or by hand (`umkm-bot cases sla-check`).
Counting only working hours (content/handoff/sla.yaml, holidays.yaml), for each case:

- open (untaken) for `remind_after_hours`: remind the mentors it was offered to, once;
- open for `escalate_after_hours`: offer it to the supervisors, and tell the owner honestly that
  it is taking longer and who now has it, once;
- taken, but the mentor has not written to the owner for `first_reply_after_hours` since taking
  it: remind that mentor, once.

Outside working time no working hour passes, so the check does nothing then; that also keeps its
messages inside the day. Rows are claimed with `FOR UPDATE SKIP LOCKED`, so two schedulers never
remind twice.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.content import Content
from bot.handoff import notify
from bot.handoff.actions import log_event
from bot.handoff.routing import case_summary, command_label, offer, supervisors_for
from bot.handoff.workhours import WorkingCalendar, sla_settings
from storage.models import Owner, Ticket, TicketEvent
from storage.models.handoff import CaseOffer, CaseRouting, Mentor

log = logging.getLogger(__name__)


@dataclass
class SlaReport:
    reminded: list[int] = field(default_factory=list)
    escalated: list[int] = field(default_factory=list)
    reply_reminded: list[int] = field(default_factory=list)
    skipped_outside_hours: bool = False

    def summary(self) -> str:
        if self.skipped_outside_hours:
            return "outside working hours: nothing to do"
        return (f"reminded {len(self.reminded)} case(s), escalated {len(self.escalated)}, "
                f"reply reminders {len(self.reply_reminded)}")


def run_sla_check(session: Session, content: Content, now: datetime | None = None) -> SlaReport:
    now = now or utcnow()
    calendar = WorkingCalendar.from_content(content)
    settings = sla_settings(content)
    report = SlaReport()
    if not calendar.is_working_time(now):
        report.skipped_outside_hours = True
        return report
    waiting = session.execute(
        select(Ticket, CaseRouting)
        .join(CaseRouting, CaseRouting.ticket_id == Ticket.id)
        .where(Ticket.status == "open", CaseRouting.escalated_at.is_(None))
        .order_by(Ticket.id)
        .with_for_update(skip_locked=True, of=CaseRouting)
    ).all()
    for ticket, routing in waiting:
        hours = calendar.working_hours_between(ticket.created_at, now)
        if hours >= settings.escalate_after_hours:
            _escalate(session, content, ticket, routing, hours, now)
            report.escalated.append(ticket.id)
        elif hours >= settings.remind_after_hours and routing.reminded_at is None:
            _remind(session, content, ticket, routing, hours, now)
            report.reminded.append(ticket.id)
    for ticket in _silent_taken_cases(session):
        if calendar.working_hours_between(ticket.taken_at, now) >= settings.first_reply_after_hours:
            mentor = session.get(Mentor, ticket.mentor_id)
            if mentor is not None:
                notify.to_mentor(session, content, mentor, "handoff.mentor_reply_reminder",
                                 options=[command_label(content, "show", ticket.id)],
                                 hours=int(settings.first_reply_after_hours),
                                 **case_summary(content, ticket, session.get(Owner, ticket.owner_id), mentor.lang))
            log_event(session, ticket, "system", "reply_reminded", mentor.code if mentor else "", now)
            report.reply_reminded.append(ticket.id)
    if report.reminded or report.escalated or report.reply_reminded:
        log.info("sla check: %s", report.summary())
    return report


def _offered_mentors(session: Session, ticket: Ticket) -> list[Mentor]:
    return list(session.scalars(
        select(Mentor).join(CaseOffer, CaseOffer.mentor_id == Mentor.id)
        .where(CaseOffer.ticket_id == ticket.id, Mentor.active.is_(True)).order_by(Mentor.id)
    ).all())


def _remind(session: Session, content: Content, ticket: Ticket, routing: CaseRouting, hours: float,
            now: datetime) -> None:
    owner = session.get(Owner, ticket.owner_id)
    mentors = _offered_mentors(session, ticket)
    notify.to_mentors(session, content, mentors, "handoff.mentor_sla_reminder",
                      lambda lang: {"hours": int(hours), **case_summary(content, ticket, owner, lang)},
                      options=[command_label(content, "take", ticket.id)])
    routing.reminded_at = now
    log_event(session, ticket, "system", "reminded", ", ".join(m.code for m in mentors) or "nobody to remind", now)


def _escalate(session: Session, content: Content, ticket: Ticket, routing: CaseRouting, hours: float,
              now: datetime) -> None:
    owner = session.get(Owner, ticket.owner_id)
    supervisors = supervisors_for(session, owner.city)
    fresh = offer(session, content, ticket, owner, supervisors, "escalation", now,
                  key="handoff.mentor_escalated_case")
    # Supervisors who already had the case (it was routed to them) get a reminder instead.
    notify.to_mentors(session, content, [s for s in supervisors if s not in fresh], "handoff.mentor_sla_reminder",
                      lambda lang: {"hours": int(hours), **case_summary(content, ticket, owner, lang)},
                      options=[command_label(content, "take", ticket.id)])
    routing.escalated_at = now
    routing.reminded_at = routing.reminded_at or now
    note = ", ".join(m.code for m in supervisors) or "no active supervisor"
    log_event(session, ticket, "system", "escalated", note, now)
    if not supervisors:
        log.warning("case %s could not be escalated: no active supervisor", ticket.id)
    notify.to_owner(session, content, owner, "handoff.owner_sla_update")


def _silent_taken_cases(session: Session) -> list[Ticket]:
    """Taken cases whose mentor has neither replied nor been reminded yet."""
    # Only what happened since the current holder took it counts (a transfer restarts the clock).
    replied = exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.created_at >= Ticket.taken_at,
                             TicketEvent.action.in_(("replied", "reply_reminded")))
    return list(session.scalars(
        select(Ticket).where(Ticket.status == "taken", Ticket.taken_at.is_not(None), ~replied)
        .order_by(Ticket.id).with_for_update(skip_locked=True)
    ).all())


SLA_CHECK_EVERY_MINUTES = 5  # how often the scheduler should run `sla_job`


def sla_job(services) -> SlaReport:
    """The periodic job for bot/scheduler.py: one SLA check in its own transaction.

        scheduler.add_job(sla_job, "interval", minutes=SLA_CHECK_EVERY_MINUTES, args=[services])
    """
    with services.db.session() as session:
        return run_sla_check(session, services.content)
