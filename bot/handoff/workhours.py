"""Working hours and public holidays, for the mentor SLA clock.

"Untaken after 4 working hours" means 4 hours inside the mentors' working time (Jakarta time),
skipping nights, weekends and days off. The numbers and the hours live in content/handoff/sla.yaml
so staff can change them.

Days off come from two places:
- Indonesia's national public holidays (libur nasional) from the `holidays` package, for any year
  (its Islamic, Chinese and Balinese dates follow the government's decree), so nobody has to type
  next year's list;
- content/handoff/holidays.yaml: the joint-leave days (cuti bersama), which the government decides
  each year by decree and the package may lack or lag, and any one-off day off (e.g. an election
  day) the package does not know.
"""
from __future__ import annotations

import re
import weakref
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays as public_holidays

from bot.clock import as_utc
from bot.content import Content

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_INTERVAL = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")
MAX_DAYS = 3660  # a calendar with no working day at all must not loop forever
COUNTRY = "ID"


def national_holidays(country: str = COUNTRY) -> public_holidays.HolidayBase:
    """The country's public holidays, any year on demand (names in Bahasa Indonesia)."""
    this_year = date.today().year
    # The years around now up front (the package fills other years on first use).
    return public_holidays.country_holidays(country, years=range(this_year - 1, this_year + 3),
                                            categories=(public_holidays.PUBLIC,), language="id")


@dataclass(frozen=True)
class SlaSettings:
    remind_after_hours: float
    escalate_after_hours: float
    first_reply_after_hours: float


def _parse_interval(text: str) -> tuple[time, time]:
    match = _INTERVAL.match(str(text))
    if not match:
        raise ValueError(f"working hours {text!r}: write them as HH:MM-HH:MM")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    if h2 == 24 and m2 == 0:
        h2, m2 = 23, 59  # "until midnight"
    start, end = time(h1, m1), time(h2, m2)
    if end <= start:
        raise ValueError(f"working hours {text!r}: the end must be after the start")
    return start, end


@dataclass(frozen=True)
class WorkingCalendar:
    tz: ZoneInfo
    hours: dict[int, tuple[tuple[time, time], ...]]  # weekday (0 = Monday) -> intervals
    holidays: frozenset[date]  # from content: cuti bersama and one-off days off
    public: public_holidays.HolidayBase | None = None  # national public holidays (the package)

    def is_day_off(self, day: date) -> bool:
        return day in self.holidays or (self.public is not None and day in self.public)

    @classmethod
    def from_config(cls, sla: dict, holidays: dict | None) -> "WorkingCalendar":
        tz = ZoneInfo(sla.get("timezone") or "Asia/Jakarta")
        raw_hours = sla.get("working_hours") or {}
        unknown = set(raw_hours) - set(DAYS)
        if unknown:
            raise ValueError(f"working_hours: unknown day(s) {sorted(unknown)}; use {', '.join(DAYS)}")
        hours: dict[int, tuple[tuple[time, time], ...]] = {}
        for index, day in enumerate(DAYS):
            intervals = sorted(_parse_interval(item) for item in raw_hours.get(day) or [])
            for (_s1, e1), (s2, _e2) in zip(intervals, intervals[1:]):
                if s2 < e1:
                    raise ValueError(f"working_hours.{day}: intervals overlap")
            hours[index] = tuple(intervals)
        days: set[date] = set()
        for item in (holidays or {}).get("holidays") or []:
            value = item.get("date") if isinstance(item, dict) else item
            if isinstance(value, datetime):
                value = value.date()
            if not isinstance(value, date):
                value = date.fromisoformat(str(value))
            days.add(value)
        country = sla.get("public_holidays", COUNTRY)
        try:
            public = national_holidays(str(country)) if country else None
        except NotImplementedError as exc:
            raise ValueError(f"public_holidays: no public holidays known for country {country!r}") from exc
        return cls(tz=tz, hours=hours, holidays=frozenset(days), public=public)

    @classmethod
    def from_content(cls, content: Content) -> "WorkingCalendar":
        # Content caches its files for its lifetime, so the calendar built from them can be too.
        calendar = _CALENDARS.get(content)
        if calendar is None:
            calendar = cls.from_config(content.data("handoff/sla.yaml"), content.data("handoff/holidays.yaml"))
            _CALENDARS[content] = calendar
        return calendar

    # --- questions ----------------------------------------------------------------------------
    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The working intervals of a local calendar day, as aware datetimes."""
        if self.is_day_off(day):
            return []
        return [
            (datetime.combine(day, start, self.tz), datetime.combine(day, end, self.tz))
            for start, end in self.hours.get(day.weekday(), ())
        ]

    def is_working_time(self, at: datetime) -> bool:
        moment = as_utc(at).astimezone(self.tz)
        return any(start <= moment < end for start, end in self.intervals_on(moment.date()))

    def working_hours_between(self, start: datetime, end: datetime) -> float:
        """Working hours elapsed from `start` to `end` (0 when end is not after start)."""
        start_l, end_l = as_utc(start).astimezone(self.tz), as_utc(end).astimezone(self.tz)
        if end_l <= start_l:
            return 0.0
        seconds = 0.0
        day = start_l.date()
        while day <= end_l.date():
            for w_start, w_end in self.intervals_on(day):
                overlap = (min(w_end, end_l) - max(w_start, start_l)).total_seconds()
                if overlap > 0:
                    seconds += overlap
            day += timedelta(days=1)
        return seconds / 3600

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment when `hours` working hours have passed since `start` (aware, UTC)."""
        remaining = timedelta(hours=hours)
        moment = as_utc(start).astimezone(self.tz)
        day = moment.date()
        for _ in range(MAX_DAYS):
            for w_start, w_end in self.intervals_on(day):
                if w_end <= moment:
                    continue
                begin = max(w_start, moment)
                available = w_end - begin
                if remaining <= available:
                    return (begin + remaining).astimezone(ZoneInfo("UTC"))
                remaining -= available
            day += timedelta(days=1)
        raise ValueError("the working calendar has no working hours in the next ten years")

    def next_working_moment(self, at: datetime) -> datetime:
        return self.add_working_hours(at, 0)


_CALENDARS: "weakref.WeakKeyDictionary[Content, WorkingCalendar]" = weakref.WeakKeyDictionary()


def sla_settings(content: Content) -> SlaSettings:
    raw = content.data("handoff/sla.yaml")
    return SlaSettings(
        remind_after_hours=float(raw.get("remind_after_hours", 4)),
        escalate_after_hours=float(raw.get("escalate_after_hours", 8)),
        first_reply_after_hours=float(raw.get("first_reply_after_hours", 8)),
    )


def check_sla_content(content: Content) -> list[str]:
    """Errors in content/handoff/sla.yaml and holidays.yaml (registered as a content check)."""
    errors: list[str] = []
    try:
        sla = content.data("handoff/sla.yaml")
        holidays = content.data("handoff/holidays.yaml")
    except Exception as exc:  # a missing file is reported, not raised
        return [str(exc)]
    for name, raw in (("sla.yaml", sla), ("holidays.yaml", holidays)):
        for field in ("source", "last_reviewed"):
            if not raw.get(field):
                errors.append(f"handoff/{name}: missing {field}")
    try:
        calendar = WorkingCalendar.from_config(sla, holidays)
        if not any(calendar.hours.values()):
            errors.append("handoff/sla.yaml: no working hours on any day")
    except (ValueError, TypeError) as exc:
        errors.append(f"handoff/sla.yaml or holidays.yaml: {exc}")
    numbers = {}
    for key in ("remind_after_hours", "escalate_after_hours", "first_reply_after_hours"):
        value = sla.get(key)
        if not isinstance(value, (int, float)) or value <= 0:
            errors.append(f"handoff/sla.yaml: {key} must be a positive number of working hours")
        else:
            numbers[key] = value
    if len(numbers) == 3 and numbers["escalate_after_hours"] <= numbers["remind_after_hours"]:
        errors.append("handoff/sla.yaml: escalate_after_hours must be more than remind_after_hours")
    for index, item in enumerate(holidays.get("holidays") or [], start=1):
        if not isinstance(item, dict) or not item.get("date") or not item.get("name"):
            errors.append(f"handoff/holidays.yaml: holiday {index} needs a date and a name")
        elif item.get("kind") not in ("libur", "cuti_bersama"):
            errors.append(f"handoff/holidays.yaml: holiday {index}: kind must be libur or cuti_bersama")
    return errors
