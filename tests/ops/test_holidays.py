"""Public holidays for the mentor SLA clock come from the `holidays` package (Indonesia); only
cuti bersama and one-off days stay in content/handoff/holidays.yaml."""
from __future__ import annotations

from datetime import date, datetime, timezone
from zoneinfo import ZoneInfo

from bot.content import Content
from bot.handoff.workhours import WorkingCalendar, check_sla_content, national_holidays
from tests.ops.conftest import REPO

WIB = ZoneInfo("Asia/Jakarta")
# The 2026 national holidays of the SKB (libur nasional) that content/handoff/holidays.yaml listed by hand.
SKB_2026_LIBUR = ["2026-01-01", "2026-01-16", "2026-02-17", "2026-03-19", "2026-03-21", "2026-03-22",
                  "2026-04-03", "2026-04-05", "2026-05-01", "2026-05-14", "2026-05-27", "2026-05-31",
                  "2026-06-01", "2026-06-16", "2026-08-17", "2026-08-25", "2026-12-25"]


def _calendar() -> WorkingCalendar:
    return WorkingCalendar.from_content(Content(REPO / "content"))


def test_every_national_holiday_of_2026_is_a_day_off_without_being_in_content():
    calendar = _calendar()
    listed = {str(day) for day in calendar.holidays}
    for day in SKB_2026_LIBUR:
        assert day not in listed  # not typed into content any more
        assert calendar.is_day_off(date.fromisoformat(day)), day
        assert calendar.intervals_on(date.fromisoformat(day)) == []


def test_cuti_bersama_come_from_content_and_ordinary_days_are_worked():
    calendar = _calendar()
    assert calendar.is_day_off(date(2026, 12, 24))  # cuti bersama Natal, content only
    assert date(2026, 12, 24) not in national_holidays()
    assert not calendar.is_day_off(date(2026, 11, 23))
    # Monday 17 August 2026 (Independence Day) is not worked: Friday 15:00 -> Tuesday 09:00 is 2 hours.
    start = datetime(2026, 8, 14, 15, tzinfo=WIB)
    end = datetime(2026, 8, 18, 9, tzinfo=WIB)
    assert calendar.working_hours_between(start, end) == 2


def test_next_years_moving_holidays_need_no_content_edit():
    calendar = _calendar()
    idul_fitri_2027 = [day for day, name in national_holidays().items() if day.year == 2027 and "Idul Fitri" in name]
    assert idul_fitri_2027, "the package knows 2027"
    for day in idul_fitri_2027:
        assert calendar.is_day_off(day)
    # an SLA deadline that would fall on it moves past it
    before = datetime.combine(idul_fitri_2027[0], datetime.min.time(), WIB).replace(hour=7)
    deadline = calendar.add_working_hours(before.astimezone(timezone.utc), 1)
    assert deadline.astimezone(WIB).date() not in idul_fitri_2027


def test_content_check_catches_an_unknown_country(tmp_path):
    import shutil

    root = tmp_path / "content"
    shutil.copytree(REPO / "content", root)
    sla = root / "handoff" / "sla.yaml"
    sla.write_text(sla.read_text().replace("public_holidays: ID", "public_holidays: XX"))
    errors = check_sla_content(Content(root))
    assert any("public_holidays: no public holidays known for country 'XX'" in e for e in errors), errors
    assert check_sla_content(Content(REPO / "content")) == []
