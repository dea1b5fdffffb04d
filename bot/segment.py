"""Which owners a broadcast or an event is for, written as a short declarative spec.

    sector=food kota=jakarta-timur stage=no:pirt
    kecamatan=cakung,duren-sawit lang=id since=2026-01-01
    all

Terms are separated by spaces and all must hold; commas inside a term mean "any of these".
Fields (Indonesian name first, English alias second):

    kota / city           the owner's city or area key ("jakarta-timur"; spaces and hyphens are the same)
    kecamatan / district  the kecamatan key ("duren-sawit")
    sektor / sector       food | cosmetics | herbal | other (pangan, kosmetik, jamu are accepted)
    produk / products     a word found in any of the owner's products ("keripik")
    tahap / stage         no:<permit> ("belum punya") or has:<permit> ("sudah punya");
                          permits: nib, pirt, bpom, halal, pkp
    gmp                   the GMP level of the owner's latest self-check: 1-4 or I-IV
    sejak / since         registered on or after this date (YYYY-MM-DD, Jakarta time)
    sampai / until        registered before the end of this date
    bahasa / lang         id | en
    kanal / channel       whatsapp | telegram
    all                   every owner (alone: an empty spec is refused so a typo never reaches everyone)

Whatever the spec, only owners who can be messaged are selected (`reachable()`): they gave consent,
did not opt out (STOP/BERHENTI), are not marked unreachable, and use a channel the sender can push to.

`parse()` raises `SegmentError` with every problem found, in plain words for program staff.
The result compiles to SQLAlchemy conditions on `owners`, so counting 100,000 owners is one query.
"""
from __future__ import annotations

import difflib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import String, cast, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import JAKARTA
from storage.models import Owner

PUSH_CHANNELS = ("whatsapp", "telegram")  # channels where the bot may write first
SECTORS = {"food": "food", "pangan": "food", "makanan": "food", "minuman": "food",
           "cosmetics": "cosmetics", "kosmetik": "cosmetics", "kosmetika": "cosmetics",
           "herbal": "herbal", "jamu": "herbal", "obat": "herbal", "obat-tradisional": "herbal",
           "other": "other", "lainnya": "other", "lain": "other"}
PERMITS = {"nib": "nib", "pirt": "pirt", "p-irt": "pirt", "spp-irt": "pirt", "sppirt": "pirt",
           "bpom": "bpom", "md": "bpom", "halal": "halal", "pkp": "pkp"}
STAGE_WORDS = {"no": False, "belum": False, "tanpa": False, "has": True, "sudah": True, "punya": True}
GMP_LEVELS = {"1": 1, "2": 2, "3": 3, "4": 4, "i": 1, "ii": 2, "iii": 3, "iv": 4}
LANGS = ("id", "en")

FIELDS = {  # spec word -> canonical field
    "kota": "city", "city": "city",
    "kecamatan": "district", "district": "district", "kec": "district",
    "sektor": "sector", "sector": "sector",
    "produk": "products", "products": "products", "product": "products",
    "tahap": "stage", "stage": "stage",
    "gmp": "gmp", "level": "gmp",
    "sejak": "since", "since": "since",
    "sampai": "until", "until": "until",
    "bahasa": "lang", "lang": "lang", "language": "lang",
    "kanal": "channel", "channel": "channel",
}
_VALUE = re.compile(r"^[a-z0-9][a-z0-9 _.:-]*$")
_WORD = re.compile(r"^[a-z0-9][a-z0-9 -]*$")


class SegmentError(ValueError):
    """A spec that cannot be used; `problems` lists every reason, each a full sentence."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


@dataclass(frozen=True)
class Segment:
    spec: str
    terms: dict[str, tuple] = field(default_factory=dict)  # canonical field -> parsed values
    everyone: bool = False

    def describe(self) -> str:
        if self.everyone and not self.terms:
            return "all reachable owners"
        return " and ".join(f"{name} in ({', '.join(map(str, values))})" for name, values in self.terms.items())

    def conditions(self, only_reachable: bool = True) -> list[ColumnElement[bool]]:
        """SQL conditions on `owners` (with the reachability rule, unless told otherwise)."""
        out = list(reachable()) if only_reachable else []
        for name, values in self.terms.items():
            out.append(_CONDITION[name](values))
        return out

    def matches_query(self):
        return select(Owner.id).where(*self.conditions())


def reachable() -> list[ColumnElement[bool]]:
    return [
        Owner.consent_at.is_not(None),
        Owner.opted_out_at.is_(None),
        Owner.unreachable_at.is_(None),
        Owner.channel.in_(PUSH_CHANNELS),
    ]


def parse(spec: str) -> Segment:
    """Parse and validate a spec; raises SegmentError listing every problem."""
    text = (spec or "").strip().lower()
    problems: list[str] = []
    if not text:
        raise SegmentError(["The segment is empty. Write `all` to reach every owner, or e.g. `sector=food kota=jakarta-timur`."])
    terms: dict[str, tuple] = {}
    everyone = False
    for raw in _split_terms(text):
        if raw in ("all", "semua"):
            everyone = True
            continue
        if "=" not in raw:
            problems.append(f"`{raw}` is not a `field=value` term. Known fields: {_known_fields()}.")
            continue
        key, _, value = raw.partition("=")
        key, value = key.strip(), value.strip()
        name = FIELDS.get(key)
        if name is None:
            hint = difflib.get_close_matches(key, list(FIELDS), n=1)
            suggestion = f" Did you mean `{hint[0]}`?" if hint else ""
            problems.append(f"Unknown field `{key}`.{suggestion} Known fields: {_known_fields()}.")
            continue
        if name in terms:
            problems.append(f"Field `{key}` is given twice; put several values in one term with commas (`{key}=a,b`).")
            continue
        values = [v.strip() for v in value.split(",")]
        if not value or any(not v for v in values):
            problems.append(f"`{raw}` has an empty value.")
            continue
        parsed, errors = _PARSERS[name](key, values)
        problems.extend(errors)
        if not errors:
            terms[name] = tuple(parsed)
    if everyone and terms:
        problems.append("`all` cannot be combined with other terms; leave it out to narrow the segment.")
    if "since" in terms and "until" in terms and terms["since"][0] >= terms["until"][0]:
        problems.append("`since` must be before `until`.")
    if problems:
        raise SegmentError(problems)
    return Segment(spec=" ".join(_split_terms(text)), terms=terms, everyone=everyone)


def _split_terms(text: str) -> list[str]:
    # Values may contain spaces around commas ("kota=jakarta timur"): glue words without "=" to
    # the term before them, so "kota=jakarta timur sector=food" reads as two terms.
    terms: list[str] = []
    for word in text.split():
        if terms and "=" not in word and word not in ("all", "semua") and "=" in terms[-1]:
            terms[-1] += " " + word
        else:
            terms.append(word)
    return terms


def _known_fields() -> str:
    seen: dict[str, str] = {}
    for word, name in FIELDS.items():
        seen.setdefault(name, word)
    return ", ".join(seen.values())


# --- value parsers: (spec key, raw values) -> (parsed values, problems) --------------------------

def _area(key: str, values: list[str]):
    out, problems = [], []
    for value in values:
        slug = re.sub(r"[\s_]+", "-", value)
        if not _VALUE.match(slug):
            problems.append(f"`{key}={value}`: use letters, digits and hyphens, e.g. `{key}=jakarta-timur`.")
        out.append(slug)
    return out, problems


def _choice(table: dict[str, str], what: str):
    def parse_value(key: str, values: list[str]):
        out, problems = [], []
        allowed = ", ".join(sorted(set(table.values())))
        for value in values:
            if value not in table:
                problems.append(f"`{key}={value}`: unknown {what}; use one of {allowed}.")
            else:
                out.append(table[value])
        return out, problems

    return parse_value


def _words(key: str, values: list[str]):
    out, problems = [], []
    for value in values:
        if not _WORD.match(value):
            problems.append(f"`{key}={value}`: use letters, digits, spaces and hyphens only.")
        out.append(value)
    return out, problems


def _stage(key: str, values: list[str]):
    out, problems = [], []
    for value in values:
        word, sep, permit = value.partition(":")
        if not sep or word not in STAGE_WORDS or permit not in PERMITS:
            problems.append(
                f"`{key}={value}`: write `no:<permit>` (belum punya) or `has:<permit>` (sudah punya), "
                f"permit one of {', '.join(sorted(set(PERMITS.values())))}; e.g. `{key}=no:pirt`."
            )
            continue
        out.append(("has" if STAGE_WORDS[word] else "no", PERMITS[permit]))
    return out, problems


def _gmp(key: str, values: list[str]):
    out, problems = [], []
    for value in values:
        level = GMP_LEVELS.get(value.removeprefix("level-").removeprefix("level"))
        if level is None:
            problems.append(f"`{key}={value}`: a GMP level is 1, 2, 3 or 4 (I-IV).")
        else:
            out.append(level)
    if not problems and gmp_levels_source() is None:
        problems.append(f"`{key}=`: GMP levels are not available yet (no GMP self-check results table).")
    return out, problems


def _date(key: str, values: list[str]):
    if len(values) != 1:
        return [], [f"`{key}=` takes one date, not a list."]
    try:
        return [date.fromisoformat(values[0])], []
    except ValueError:
        return [], [f"`{key}={values[0]}`: write the date as YYYY-MM-DD, e.g. `{key}=2026-01-31`."]


_PARSERS = {
    "city": _area,
    "district": _area,
    "sector": _choice(SECTORS, "sector"),
    "products": _words,
    "stage": _stage,
    "gmp": _gmp,
    "since": _date,
    "until": _date,
    "lang": _choice({lang: lang for lang in LANGS} | {"indonesia": "id", "english": "en", "inggris": "en"}, "language"),
    "channel": _choice({c: c for c in PUSH_CHANNELS} | {"wa": "whatsapp", "tg": "telegram"}, "channel"),
}


# --- SQL ----------------------------------------------------------------------------------------

def _slug_column(column):
    # "Jakarta Timur", "jakarta_timur" and "jakarta-timur" are the same area.
    return func.replace(func.replace(func.lower(func.trim(column)), " ", "-"), "_", "-")


def _json_text(column):
    # JSON lists are matched on their text: works the same on SQLite and PostgreSQL's json type.
    return func.lower(cast(column, String))


def _json_escaped(value: str) -> str:
    # Stored JSON escapes non-ASCII ("\u00e9"); escape the searched word the same way, and
    # escape LIKE's own wildcards.
    escaped = json.dumps(value, ensure_ascii=True)[1:-1]
    return escaped.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _jakarta_midnight_utc(day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=JAKARTA).astimezone(timezone.utc)


def _has_permit(permit: str):
    return _json_text(Owner.has_permits).like(f'%"{_json_escaped(permit)}"%', escape="\\")


def _stage_condition(values):
    # "Belum punya P-IRT" comes from the permits the owner told us about (owners.has_permits).
    parts = []
    for word, permit in values:
        held = _has_permit(permit)
        parts.append(held if word == "has" else ~held)
    return or_(*parts)


def gmp_levels_source():
    """The GMP self-check table with an owner's level, once the GMP feature provides it."""
    return None


def _gmp_condition(values):
    source = gmp_levels_source()
    if source is None:  # parse() already refused the spec; this guards direct use
        raise SegmentError(["GMP levels are not available yet."])
    return source(values)


_CONDITION = {
    "city": lambda values: _slug_column(Owner.city).in_(values),
    "district": lambda values: _slug_column(Owner.district).in_(values),
    "sector": lambda values: Owner.sector.in_(values),
    "products": lambda values: or_(
        *[_json_text(Owner.products).like(f"%{_json_escaped(v)}%", escape="\\") for v in values]
    ),
    "stage": _stage_condition,
    "gmp": _gmp_condition,
    "since": lambda values: Owner.registered_at >= _jakarta_midnight_utc(values[0]),
    "until": lambda values: Owner.registered_at < _jakarta_midnight_utc(values[0] + timedelta(days=1)),
    "lang": lambda values: Owner.lang.in_(values),
    "channel": lambda values: Owner.channel.in_(values),
}

__all__ = ["PUSH_CHANNELS", "Segment", "SegmentError", "parse", "reachable"]
