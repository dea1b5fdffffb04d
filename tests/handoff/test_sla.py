"""The SLA clock counts working hours only, and each reminder and escalation happens once."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from bot.cli import main
from bot.handoff.sla import run_sla_check
from bot.handoff.workhours import WorkingCalendar
from storage.db import forget_database
from storage.models import TicketEvent
from storage.models.handoff import CaseOffer, CaseRouting, Mentor
from tests.handoff.conftest import make_owner, mentor_says, only_case, outbox_to, say

WIB = ZoneInfo("Asia/Jakarta")
SLA = {"timezone": "Asia/Jakarta", "working_hours": {d: ["08:00-16:00"] for d in ("mon", "tue", "wed", "thu", "fri")}}


def _wib(*args) -> datetime:
    return datetime(*args, tzinfo=WIB)


def _check(db, content):
    with db.session() as session:
        return run_sla_check(session, content)


def test_working_hours_skip_nights_weekends_and_holidays():
    calendar = WorkingCalendar.from_config(SLA, {"holidays": [{"date": date(2026, 12, 24)}, {"date": date(2026, 12, 25)}]})
    assert calendar.working_hours_between(_wib(2026, 11, 23, 9), _wib(2026, 11, 23, 13)) == 4
    # Friday 14:00 -> Monday 10:00: 2 hours Friday, 2 hours Monday.
    assert calendar.working_hours_between(_wib(2026, 11, 27, 14), _wib(2026, 11, 30, 10)) == 4
    # Wednesday 23 Dec 15:00 -> Monday 28 Dec 09:00: Christmas Eve leave and Christmas are not worked.
    assert calendar.working_hours_between(_wib(2026, 12, 23, 15), _wib(2026, 12, 28, 9)) == 2
    assert calendar.add_working_hours(_wib(2026, 12, 23, 15), 4) == _wib(2026, 12, 28, 11).astimezone(timezone.utc)
    assert calendar.add_working_hours(_wib(2026, 11, 21, 22), 0) == _wib(2026, 11, 23, 8).astimezone(timezone.utc)
    assert not calendar.is_working_time(_wib(2026, 11, 23, 16, 0))


def test_lunch_break_and_bad_hours_in_config():
    calendar = WorkingCalendar.from_config({"working_hours": {"mon": ["08:00-12:00", "13:00-16:00"]}}, None)
    assert calendar.working_hours_between(_wib(2026, 11, 23, 11), _wib(2026, 11, 23, 14)) == 2
    with pytest.raises(ValueError, match="end must be after the start"):
        WorkingCalendar.from_config({"working_hours": {"mon": ["16:00-08:00"]}}, None)


def test_untaken_case_reminds_then_escalates_with_an_honest_owner_update(roster, content, clock):
    """Acceptance: SLA escalation with a frozen clock (Monday 09:00 WIB; remind after 4, escalate
    after 8 working hours with 08:00-16:00 working days)."""
    owner = make_owner(roster)
    say(roster, content, owner, "mau bicara dengan pendamping")
    ticket = only_case(roster)
    assert len(outbox_to(roster, "900000001")) == 1  # the new-case message

    clock.shift(timedelta(hours=3, minutes=59))
    report = _check(roster, content)
    assert not report.reminded and not report.escalated

    clock.shift(timedelta(minutes=1))  # 13:00: 4 working hours
    report = _check(roster, content)
    assert report.reminded == [ticket.id] and not report.escalated
    reminder = outbox_to(roster, "900000001")[-1]
    assert "sudah menunggu 4 jam kerja" in reminder.text and reminder.options == [f"/ambil {ticket.id}"]
    assert _check(roster, content).reminded == []  # once only
    assert len(outbox_to(roster, "900000001")) == 2

    clock.move_to(_wib(2026, 11, 23, 20, 0))  # evening: no working hour passes, nothing happens
    assert _check(roster, content).skipped_outside_hours

    clock.move_to(_wib(2026, 11, 24, 8, 59))  # Tuesday: 7h59m of working time so far
    assert _check(roster, content).escalated == []
    clock.move_to(_wib(2026, 11, 24, 9, 0))
    report = _check(roster, content)
    assert report.escalated == [ticket.id]
    for supervisor in ("900000101", "900000100"):  # SPV-BAR and the all-Jakarta SPV-DKI
        [escalation] = outbox_to(roster, supervisor)
        assert "belum diambil pendamping wilayah" in escalation.text
    owner_update = outbox_to(roster, owner)[-1]
    assert owner_update.text == content.t("handoff.owner_sla_update")
    assert _check(roster, content).escalated == []  # once only
    with roster.session() as session:
        routing = session.get(CaseRouting, ticket.id)
        assert routing.reminded_at is not None and routing.escalated_at is not None
        offered = sorted(session.scalars(select(Mentor.code).join(CaseOffer, CaseOffer.mentor_id == Mentor.id)).all())
        assert offered == ["JO-KJ-FOOD", "SPV-BAR", "SPV-DKI"]
        actions = session.scalars(select(TicketEvent.action).order_by(TicketEvent.id)).all()
        assert actions == ["opened", "routed", "reminded", "escalated"]
    # The escalated supervisor takes it; the SLA check leaves taken cases alone.
    taken = mentor_says(roster, content, "900000101", f"/ambil {ticket.id}")
    assert "sekarang Anda pegang" in taken[0].text


def test_taken_case_without_a_reply_reminds_the_mentor_once(roster, content, clock):
    owner = make_owner(roster)
    say(roster, content, owner, "tolong")
    ticket = only_case(roster)
    mentor_says(roster, content, "900000001", f"/ambil {ticket.id}")
    clock.shift(timedelta(hours=6))  # 15:00 Monday: 6 working hours
    assert _check(roster, content).reply_reminded == []
    clock.move_to(_wib(2026, 11, 24, 10, 0))  # 8 working hours since taking
    assert _check(roster, content).reply_reminded == [ticket.id]
    assert "belum membalas" in outbox_to(roster, "900000001")[-1].text
    assert _check(roster, content).reply_reminded == []


def test_a_reply_stops_the_reply_reminder(roster, content, clock):
    owner = make_owner(roster)
    say(roster, content, owner, "tolong")
    ticket = only_case(roster)
    mentor_says(roster, content, "900000001", f"/ambil {ticket.id}")
    mentor_says(roster, content, "900000001", "Halo Bu, saya Budi")
    clock.move_to(_wib(2026, 11, 25, 10, 0))
    assert _check(roster, content).reply_reminded == []


def test_cli_sla_check(roster, content, clock, monkeypatch):
    owner = make_owner(roster)
    say(roster, content, owner, "tolong")
    clock.shift(timedelta(hours=5))
    monkeypatch.setenv("DATABASE_URL", roster.url)
    try:
        result = CliRunner().invoke(main, ["cases", "sla-check"], catch_exceptions=False)
    finally:
        forget_database(roster.url)
    assert result.exit_code == 0
    assert "reminded 1 case(s), escalated 0" in result.output
