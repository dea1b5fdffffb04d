"""Dates and times from an owner's own words, in Asia/Jakarta time.

Owners write "lusa jam 8 pagi", "besok sore", "minggu depan", "tgl 5", "5 des", "jam 14.30",
"senin depan", "nanti malam", "2 hari lagi" (and a little English: "tomorrow 8am", "in 2 days").
`find_when(text, now)` returns the moment meant plus which words said it, so a caller can take
the rest of the message as what the owner wants ("ambil sertifikat PKP"). Pure functions: the
caller passes `now`; nothing here reads the clock or the database.

Rules, so the answer is predictable:
- A date without a time gets `default_time` (09.00); a part of the day alone ("besok sore") its
  usual hour (pagi 08.00, siang 12.00, sore 16.00, malam 19.00).
- A time without a date is today, or tomorrow when that time has already passed.
- "jam 7" with no part of the day is 07.00 when that is still ahead today, else 19.00 when that
  is (an owner at 15.00 writing "jam 7" means this evening), else 07.00 tomorrow; evenings stop
  before 20.00. "jam 2 siang" is 14.00, "jam 7 malam" 19.00.
- "tgl 5" is the next 5th (this month, else next month); "5 des" the next 5 December.
- "senin" is the next Monday after today; "senin depan" the Monday of next week; "senin ini"
  this week's Monday (today when today is Monday).
- "minggu depan" (no weekday) is the same weekday one week ahead; "bulan depan" one month ahead.
"""
from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from functools import lru_cache
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.content import get_content

JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_TIME = time(9, 0)
EVENING_BEFORE = 20  # "jam 7" said at 16.00 is 19.00 today; "jam 8" said at 10.00 is 08.00 tomorrow

PART_OF_DAY = {"pagi": time(8, 0), "siang": time(12, 0), "sore": time(16, 0), "petang": time(18, 0),
               "malam": time(19, 0), "morning": time(8, 0), "noon": time(12, 0),
               "afternoon": time(15, 0), "evening": time(18, 0), "tonight": time(19, 0)}
_PART_ALIASES = {"pagii": "pagi", "pgi": "pagi", "siang2": "siang", "sianh": "siang", "soree": "sore",
                 "sor": "sore", "mlm": "malam", "malem": "malam", "mlam": "malam", "ptg": "petang"}

WEEKDAYS = {"senin": 0, "selasa": 1, "slasa": 1, "rabu": 2, "kamis": 3, "jumat": 4, "jumaat": 4,
            "jmat": 4, "jum": 4, "sabtu": 5, "minggu": 6, "ahad": 6,
            "monday": 0, "tuesday": 1, "wednesday": 2, "thursday": 3, "friday": 4, "saturday": 5,
            "sunday": 6}

MONTHS = {"januari": 1, "jan": 1, "january": 1, "februari": 2, "feb": 2, "pebruari": 2, "february": 2,
          "maret": 3, "mar": 3, "march": 3, "april": 4, "apr": 4, "mei": 5, "may": 5, "juni": 6,
          "jun": 6, "june": 6, "juli": 7, "jul": 7, "july": 7, "agustus": 8, "agu": 8, "agt": 8,
          "agus": 8, "ags": 8, "aug": 8, "august": 8, "september": 9, "sep": 9, "sept": 9, "okt": 10,
          "oktober": 10, "oct": 10, "october": 10, "november": 11, "nov": 11, "nop": 11,
          "nopember": 11, "desember": 12, "des": 12, "dec": 12, "december": 12}

NUMBER_WORDS = {"satu": 1, "se": 1, "sehari": 1, "dua": 2, "tiga": 3, "empat": 4, "lima": 5,
                "enam": 6, "tujuh": 7, "delapan": 8, "sembilan": 9, "sepuluh": 10, "sebelas": 11,
                "duabelas": 12, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "a": 1, "an": 1}

# Words that name a day relative to today.
DAY_WORDS = {"hari ini": 0, "hr ini": 0, "hariini": 0, "today": 0, "sekarang": 0, "skrg": 0,
             "besok": 1, "bsk": 1, "besuk": 1, "bsok": 1, "besog": 1, "esok": 1, "tomorrow": 1,
             "tmrw": 1, "lusa": 2, "besok lusa": 2, "kemarin lusa": None}
TIME_WORDS = {"jam", "jm", "pukul", "pkl", "at"}
DATE_WORDS = {"tgl", "tanggal", "tangal", "tggl", "tg", "date"}
UNITS = {"hari": "days", "hr": "days", "hri": "days", "day": "days", "days": "days",
         "minggu": "weeks", "mgg": "weeks", "pekan": "weeks", "week": "weeks", "weeks": "weeks",
         "bulan": "months", "bln": "months", "month": "months", "months": "months",
         "jam": "hours", "jm": "hours", "hour": "hours", "hours": "hours",
         "menit": "minutes", "mnt": "minutes", "minute": "minutes", "minutes": "minutes"}
LATER = {"lagi", "lg", "lgi", "kemudian", "later", "dr sekarang", "dari sekarang"}
NEXT = {"depan", "dpn", "berikutnya", "next", "dpan"}
THIS = {"ini", "this"}

_TOKEN = re.compile(r"\d{1,2}[.:]\d{2}(?:[.:]\d{2})?|\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?|\d+|[a-z]+\d*|[^\sa-z\d]",
                    re.IGNORECASE)


@dataclass(frozen=True)
class When:
    """A moment an owner meant. `at` is aware (Asia/Jakarta); `words` the token positions used."""

    at: datetime
    has_date: bool
    has_time: bool
    words: frozenset[int]
    tokens: tuple[str, ...]

    @property
    def iso(self) -> str:
        return self.at.isoformat()


def raw_tokens(text: str) -> list[str]:
    """The text's words, numbers and signs as written (case kept)."""
    return _TOKEN.findall(text or "")


def tokens(text: str) -> list[str]:
    spellings = _date_spellings(get_content())
    return [spellings.get(t.lower(), t.lower()) for t in raw_tokens(text)]


@lru_cache(maxsize=8)
def _date_spellings(content) -> dict[str, str]:
    """Regional spellings of date words from content/lexicon.yaml `abbreviations` and `date_spellings`
    ("senen" Monday, "ngarep" next, "esuk" morning, "sesuk" tomorrow): only those that become a word
    read here."""
    date_words = set(WEEKDAYS) | set(MONTHS) | set(DAY_WORDS) | set(PART_OF_DAY) | set(UNITS) | NEXT | THIS \
        | LATER | TIME_WORDS | DATE_WORDS
    lexicon = content.data("lexicon.yaml") or {}
    spellings = {**(lexicon.get("abbreviations") or {}), **(lexicon.get("date_spellings") or {})}
    return {str(k): str(v) for k, v in spellings.items() if str(v) in date_words and str(k) not in date_words}


def _number(token: str) -> int | None:
    if token.isdecimal():
        return int(token)
    return NUMBER_WORDS.get(token)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(day.day, calendar.monthrange(year, month + 1)[1]))


def _clock(token: str) -> tuple[int, int] | None:
    """"14.30", "8:00", "8" -> (hour, minute)."""
    match = re.fullmatch(r"(\d{1,2})(?:[.:](\d{2}))?(?:[.:]\d{2})?", token)
    if not match:
        return None
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    if hour > 24 or minute > 59:
        return None
    return hour % 24, minute


def _apply_part(hour: int, part: str | None) -> int:
    if part in ("siang",):
        return hour + 12 if 1 <= hour <= 6 else hour
    if part in ("sore", "petang", "afternoon", "evening"):
        return hour + 12 if 1 <= hour <= 11 else hour
    if part in ("malam", "tonight"):
        if hour == 12:
            return 0
        return hour + 12 if 5 <= hour <= 11 else hour
    if part in ("pagi", "morning") and hour == 12:
        return 0
    return hour


def _part(token: str | None) -> str | None:
    if token is None:
        return None
    token = _PART_ALIASES.get(token, token)
    return token if token in PART_OF_DAY else None


class _Parser:
    def __init__(self, toks: list[str], now: datetime):
        self.toks = toks
        self.now = now.astimezone(JAKARTA)
        self.today = self.now.date()
        self.used: set[int] = set()
        self.day: date | None = None
        self.clock: time | None = None
        self.part: str | None = None
        self.delta: timedelta | None = None  # "2 jam lagi": an exact moment from now
        self.bare_hour = False  # "jam 8" without a part of the day: morning or evening

    def tok(self, i: int) -> str | None:
        return self.toks[i] if 0 <= i < len(self.toks) else None

    def use(self, *indexes: int) -> None:
        self.used.update(indexes)

    def run(self) -> None:
        i = 0
        while i < len(self.toks):
            i = self.step(i)

    def step(self, i: int) -> int:  # noqa: C901 - one readable list of patterns
        t, nxt, nxt2 = self.tok(i), self.tok(i + 1), self.tok(i + 2)
        # "hari ini", "besok lusa", "besok", "lusa"
        if nxt is not None and f"{t} {nxt}" in DAY_WORDS and DAY_WORDS[f"{t} {nxt}"] is not None:
            self._set_day(self.today + timedelta(days=DAY_WORDS[f"{t} {nxt}"]), i, i + 1)
            return i + 2
        if t in DAY_WORDS and DAY_WORDS[t] is not None and t not in ("sekarang", "skrg"):
            self._set_day(self.today + timedelta(days=DAY_WORDS[t]), i)
            return i + 1
        # "nanti malam", "nanti sore", "ntar siang"
        if t in ("nanti", "ntar", "entar", "nti") and _part(nxt):
            if self.day is None:
                self._set_day(self.today, i)
            self.use(i)
            return i + 1
        # "2 hari lagi", "dalam 3 hari", "in 2 days", "seminggu lagi", "sebulan lagi", "2 jam lagi"
        amount, unit_at = None, None
        if t in ("dalam", "in") and nxt is not None and _number(nxt) and UNITS.get(nxt2 or ""):
            amount, unit_at, start = _number(nxt), i + 2, i
        elif _number(t) and UNITS.get(nxt or "") and (self.tok(i + 2) in LATER or self.tok(i - 1) in ("dalam", "in")):
            amount, unit_at, start = _number(t), i + 1, i
        elif t in ("seminggu", "sebulan", "sejam", "setengah") and (nxt in LATER):
            amount, start = 1, i
            unit = {"seminggu": "weeks", "sebulan": "months", "sejam": "hours", "setengah": None}[t]
            if unit:
                self._relative(unit, amount, start, i)
                self.use(i + 1)
                return i + 2
        if amount is not None and unit_at is not None:
            self._relative(UNITS[self.toks[unit_at]], amount, start, unit_at)
            end = unit_at + 1
            if self.tok(end) in LATER:
                self.use(end)
                end += 1
            return end
        # "minggu depan", "pekan depan", "bulan depan", "next week"
        if t in ("minggu", "mgg", "pekan", "week") and nxt in NEXT:
            self._set_day(self.today + timedelta(days=7), i, i + 1)
            return i + 2
        if t in ("next",) and nxt in ("week", "month"):
            self._set_day(self.today + timedelta(days=7) if nxt == "week" else _add_months(self.today, 1), i, i + 1)
            return i + 2
        if t in ("bulan", "bln") and nxt in NEXT:
            self._set_day(_add_months(self.today, 1), i, i + 1)
            return i + 2
        # weekdays: "senin", "hari senin", "senin depan", "senin ini"
        if t in WEEKDAYS:
            if t == "minggu" and _number(self.tok(i - 1) or ""):
                return i + 1  # "2 minggu" without "lagi" is a count, not Sunday
            wanted = WEEKDAYS[t]
            if self.tok(i - 1) in ("hari", "hr"):
                self.use(i - 1)
            if nxt in NEXT:
                monday_next = self.today - timedelta(days=self.today.weekday()) + timedelta(days=7)
                self._set_day(monday_next + timedelta(days=wanted), i, i + 1)
                return i + 2
            if nxt in ("besok", "bsk", "besuk", "esok"):
                # "senin besok": the coming Monday, not tomorrow
                ahead = (wanted - self.today.weekday()) % 7 or 7
                self._set_day(self.today + timedelta(days=ahead), i, i + 1)
                return i + 2
            if nxt in THIS:
                monday = self.today - timedelta(days=self.today.weekday())
                day = monday + timedelta(days=wanted)
                self._set_day(day if day >= self.today else day + timedelta(days=7), i, i + 1)
                return i + 2
            ahead = (wanted - self.today.weekday()) % 7 or 7
            self._set_day(self.today + timedelta(days=ahead), i)
            return i + 1
        # "tgl 5", "tanggal 5 desember", "tgl 5/12"
        if t in DATE_WORDS and nxt is not None:
            if re.fullmatch(r"\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?", nxt):
                if self._numeric_date(nxt):
                    self.use(i, i + 1)
                    return i + 2
            number = int(nxt) if nxt.isdecimal() else None
            if number and 1 <= number <= 31:
                month = MONTHS.get(nxt2 or "")
                year = self._year(i + 3) if month else None
                self._calendar_day(number, month, year)
                self.use(i, i + 1, *((i + 2,) if month else ()), *((i + 3,) if year else ()))
                return i + (4 if year else 3 if month else 2)
        # "5 des", "5 desember 2026"
        if t.isdecimal() and 1 <= int(t) <= 31 and nxt in MONTHS and self.tok(i - 1) not in TIME_WORDS:
            year = self._year(i + 2)
            self._calendar_day(int(t), MONTHS[nxt], year)
            self.use(i, i + 1, *((i + 2,) if year else ()))
            return i + (3 if year else 2)
        # "5/12", "05-12-2026"
        if re.fullmatch(r"\d{1,2}[/-]\d{1,2}(?:[/-]\d{2,4})?", t) and self._numeric_date(t):
            self.use(i)
            return i + 1
        # "jam 8", "jam 14.30", "pukul 9 pagi", "jam setengah 9", "jam 8an"
        if t in TIME_WORDS and nxt is not None:
            if nxt == "setengah" and nxt2 is not None and _clock(nxt2):
                hour, _ = _clock(nxt2)
                return self._set_clock((hour - 1) % 24, 30, i, i + 1, i + 2, part_at=i + 3)
            token = nxt[:-2] if nxt.endswith("an") and nxt[:-2].isdecimal() else nxt
            if _number(token) is not None and not token.isdecimal():
                token = str(_number(token))
            found = _clock(token)
            if found and not (UNITS.get(nxt2 or "") == "hours" or nxt2 in LATER and t != "jam"):
                if self.tok(i + 2) in LATER:  # "jam 2 lagi" is rare; treat as two hours later
                    self._relative("hours", found[0], i, i + 2)
                    return i + 3
                return self._set_clock(found[0], found[1], i, i + 1, part_at=i + 2)
        # "14.30", "8:00", "8am", "8 pagi"
        if re.fullmatch(r"\d{1,2}[.:]\d{2}", t) and _clock(t):
            hour, minute = _clock(t)
            return self._set_clock(hour, minute, i, part_at=i + 1)
        am_pm = re.fullmatch(r"(\d{1,2})(am|pm)", t)
        if am_pm:
            hour = int(am_pm.group(1)) % 12 + (12 if am_pm.group(2) == "pm" else 0)
            self.clock, self.bare_hour = time(hour, 0), False
            self.use(i)
            return i + 1
        if t.isdecimal() and nxt in ("am", "pm") and int(t) <= 12:
            hour = int(t) % 12 + (12 if nxt == "pm" else 0)
            self.clock, self.bare_hour = time(hour, 0), False
            self.use(i, i + 1)
            return i + 2
        if t.isdecimal() and _part(nxt) and int(t) <= 12 and self.clock is None:
            return self._set_clock(int(t), 0, i, part_at=i + 1)
        # a part of the day alone: "besok sore", "pagi ini"
        if _part(t) and self.clock is None and self.part is None:
            self.part = _part(t)
            self.use(i)
            if nxt in THIS:
                self.use(i + 1)
                if self.day is None:
                    self.day = self.today
                return i + 2
            return i + 1
        return i + 1

    def _set_day(self, day: date, *indexes: int) -> None:
        self.day = day
        self.use(*indexes)

    def _relative(self, unit: str, amount: int, start: int, end: int) -> None:
        if unit in ("hours", "minutes"):
            self.delta = timedelta(**{unit: amount})
        elif unit == "months":
            self.day = _add_months(self.today, amount)
        else:
            self.day = self.today + timedelta(**{unit: amount})
        self.use(*range(start, end + 1))

    def _year(self, i: int) -> int | None:
        token = self.tok(i)
        if token and token.isdecimal() and len(token) == 4 and 2000 <= int(token) <= 2100:
            return int(token)
        return None

    def _calendar_day(self, day_number: int, month: int | None, year: int | None) -> None:
        if month is None:
            candidate = self._safe_date(self.today.year, self.today.month, day_number)
            if candidate is None or candidate < self.today:
                following = _add_months(self.today.replace(day=1), 1)
                candidate = self._safe_date(following.year, following.month, day_number)
            self.day = candidate
            return
        if year is not None:
            self.day = self._safe_date(year, month, day_number)
            return
        # The next such date: this year, else a later one ("29 feb" waits for a leap year).
        self.day = next((d for y in range(self.today.year, self.today.year + 5)
                         if (d := self._safe_date(y, month, day_number)) is not None and d >= self.today), None)

    def _numeric_date(self, token: str) -> bool:
        parts = [int(p) for p in re.split(r"[/-]", token)]
        day_number, month = parts[0], parts[1]
        if not (1 <= month <= 12 and 1 <= day_number <= 31):
            return False
        year = None
        if len(parts) == 3:
            year = parts[2] + 2000 if parts[2] < 100 else parts[2]
        self._calendar_day(day_number, month, year)
        return self.day is not None

    @staticmethod
    def _safe_date(year: int, month: int, day_number: int) -> date | None:
        try:
            return date(year, month, day_number)
        except ValueError:
            return None

    def _set_clock(self, hour: int, minute: int, *indexes: int, part_at: int) -> int:
        if self.tok(part_at) in ("am", "pm") and 1 <= hour <= 12:  # "at 8 am"
            self.use(*indexes, part_at)
            self.clock, self.bare_hour = time(hour % 12 + (12 if self.tok(part_at) == "pm" else 0), minute), False
            return part_at + 1
        part = _part(self.tok(part_at))
        self.use(*indexes)
        end = max(indexes) + 1
        if part:
            self.part = part
            self.use(part_at)
            end = part_at + 1
            hour = _apply_part(hour, part)
            self.bare_hour = False
        elif self.part:
            hour = _apply_part(hour, self.part)
        else:
            self.bare_hour = 1 <= hour <= 11  # "jam 7": morning or evening, decided in result()
        self.clock = time(hour, minute)
        return end

    def result(self) -> When | None:
        if not self.used:
            return None
        if self.delta is not None:
            at = self.now + self.delta
            if self.day is not None and self.day != self.today:
                at = datetime.combine(self.day, at.timetz().replace(tzinfo=None), tzinfo=JAKARTA)
            return When(at.replace(second=0, microsecond=0), True, True, frozenset(self.used), tuple(self.toks))
        has_time = self.clock is not None or self.part is not None
        clock = self.clock
        if clock is None and self.part is not None:
            clock = PART_OF_DAY[self.part]
        if self.day is None:
            if clock is None:
                return None
            day = self.today
            at = datetime.combine(day, clock, tzinfo=JAKARTA)
            if at <= self.now and self.bare_hour and clock.hour < 12:
                evening = at + timedelta(hours=12)
                if evening > self.now and evening.hour < EVENING_BEFORE:
                    at = evening
            if at <= self.now:
                at = datetime.combine(day + timedelta(days=1), clock, tzinfo=JAKARTA)
            return When(at, False, True, frozenset(self.used), tuple(self.toks))
        at = datetime.combine(self.day, clock or DEFAULT_TIME, tzinfo=JAKARTA)
        return When(at, True, has_time, frozenset(self.used), tuple(self.toks))


def find_when(text: str, now: datetime, default_time: time = DEFAULT_TIME) -> When | None:
    """The moment the text names, or None. `now` must be timezone-aware."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    parser = _Parser(tokens(text), now)
    parser.run()
    found = parser.result()
    if found is not None and not found.has_time and default_time != DEFAULT_TIME:
        found = When(datetime.combine(found.at.date(), default_time, tzinfo=JAKARTA), found.has_date, False,
                     found.words, found.tokens)
    return found


def parse_when(text: str, now: datetime, default_time: time = DEFAULT_TIME) -> datetime | None:
    """Just the moment (aware, Asia/Jakarta), or None when the text names none."""
    found = find_when(text, now, default_time)
    return found.at if found else None


def rest_of(text: str, when: When | None) -> list[str]:
    """The text's tokens (case kept) that did not say the date or time, in order."""
    toks = raw_tokens(text)
    used = when.words if when else frozenset()
    return [t for i, t in enumerate(toks) if i not in used]
