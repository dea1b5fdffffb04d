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
    tahap / stage         the legality pathway: no:<permit> (belum punya), has:<permit> (sudah punya),
                          needs:<permit> (on the owner's pathway, not done yet), doing:<permit>
                          (applied, in progress); permits: nib, pirt, bpom (md/notif/tr), md, notif,
                          tr, halal, pkp, cppob, cpkb, cpotb, umot, ukot
    gmp                   the GMP level of the owner's latest finished self-check: 1-4 or I-IV, or
                          none (never finished one)
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

from sqlalchemy import String, cast, exists, func, or_, select
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import JAKARTA
from storage.models import Owner
from storage.models.gmp import GmpCheck
from storage.models.legality import PathwayStep

PUSH_CHANNELS = ("whatsapp", "telegram")  # channels where the bot may write first
SECTORS = {"food": "food", "pangan": "food", "makanan": "food", "minuman": "food",
           "cosmetics": "cosmetics", "kosmetik": "cosmetics", "kosmetika": "cosmetics",
           "herbal": "herbal", "jamu": "herbal", "obat": "herbal", "obat-tradisional": "herbal",
           "other": "other", "lainnya": "other", "lain": "other"}
# Permit words staff may use (aliases -> one name), the permit kinds of the legality pathway each
# covers (legality_steps.permit_kind), and the answer to registration's "which permits do you have"
# (owners.has_permits) that counts as holding it for an owner whose pathway does not say.
PERMIT_ALIASES = {"p-irt": "pirt", "spp-irt": "pirt", "sppirt": "pirt", "na": "notif"}
PATHWAY_KINDS = {"nib": ("nib",), "pirt": ("pirt",), "bpom": ("md", "notif", "tr"), "md": ("md",),
                 "notif": ("notif",), "tr": ("tr",), "halal": ("halal",), "pkp": ("pkp",), "cppob": ("cppob",),
                 "cpkb": ("cpkb",), "cpotb": ("cpotb",), "umot": ("umot",), "ukot": ("ukot",)}
TOLD_AT_REGISTRATION = {"nib": "nib", "pirt": "pirt", "bpom": "bpom", "halal": "halal", "pkp": "pkp"}
STAGE_WORDS = {"no": "no", "belum": "no", "tanpa": "no", "has": "has", "sudah": "has", "punya": "has",
               "needs": "needs", "perlu": "needs", "doing": "doing", "sedang": "doing", "proses": "doing"}
GMP_LEVELS = {"1": "I", "2": "II", "3": "III", "4": "IV", "i": "I", "ii": "II", "iii": "III", "iv": "IV",
              "none": None, "belum": None}
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
        # Agreed in the chat, or an imported list recorded a WhatsApp opt-in (bot/owners_import.py).
        or_(Owner.consent_at.is_not(None), Owner.opt_in_at.is_not(None)),
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
        permit = PERMIT_ALIASES.get(permit, permit)
        if not sep or word not in STAGE_WORDS or permit not in PATHWAY_KINDS:
            problems.append(
                f"`{key}={value}`: write `no:<permit>` (belum punya), `has:<permit>` (sudah punya), "
                f"`needs:<permit>` (perlu, belum selesai) or `doing:<permit>` (sedang diurus), "
                f"permit one of {', '.join(PATHWAY_KINDS)}; e.g. `{key}=no:pirt`."
            )
            continue
        out.append((STAGE_WORDS[word], permit))
    return out, problems


def _gmp(key: str, values: list[str]):
    out, problems = [], []
    for value in values:
        name = value.removeprefix("level-").removeprefix("level")
        if name not in GMP_LEVELS:
            problems.append(f"`{key}={value}`: a GMP level is 1, 2, 3 or 4 (I-IV), or `none` (no self-check yet).")
        else:
            out.append(GMP_LEVELS[name])
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


def _pathway(permit: str, statuses: tuple[str, ...]):
    return exists().where(PathwayStep.owner_id == Owner.id, PathwayStep.permit_kind.in_(PATHWAY_KINDS[permit]),
                          PathwayStep.status.in_(statuses))


def _holds(permit: str):
    """Done on the legality pathway, or said at registration (owners.has_permits)."""
    held = _pathway(permit, ("selesai",))
    told = TOLD_AT_REGISTRATION.get(permit)
    if told is None:
        return held
    return or_(held, _json_text(Owner.has_permits).like(f'%"{_json_escaped(told)}"%', escape="\\"))


def _stage_condition(values):
    parts = []
    for word, permit in values:
        if word == "has":
            parts.append(_holds(permit))
        elif word == "no":
            parts.append(~_holds(permit))
        elif word == "needs":
            parts.append(_pathway(permit, ("belum", "sedang", "ditolak")))
        else:  # doing
            parts.append(_pathway(permit, ("sedang",)))
    return or_(*parts)


def _gmp_condition(values):
    latest = (
        select(GmpCheck.level)
        .where(GmpCheck.owner_id == Owner.id, GmpCheck.status == "completed")
        .order_by(GmpCheck.completed_at.desc(), GmpCheck.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    levels = [v for v in values if v is not None]
    parts = [latest.in_(levels)] if levels else []
    if None in values:
        parts.append(latest.is_(None))
    return or_(*parts)


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
