"""Permit numbers: reading them from a message, checking their format, and the expiry they imply.

Formats come from content/legality/steps.yaml (`number: {prefix, digits, expiry_year_in_last_two}`):
NIB 13 digits; P-IRT 15 digits whose last two are the expiry year; MD + 12 or 15 digits; NA + 11;
TR + 9. A number that fits another kind better gets a kind correction ("15 angka itu nomor P-IRT,
bukan NIB"), never a silent fix.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from bot.content import Content
from bot.legality import rules as legality_rules
from bot.normalize import normalize

# A run of digits possibly broken by spaces, dots, dashes or slashes, optionally with a letter
# prefix glued on or spaced ("MD 2345...", "NA18230100123", "P-IRT No. 2.06.3271.01.0123-29").
_NUMBER = re.compile(r"(?<![A-Za-z0-9])(?:([A-Za-z]{2})\s*[.:]?\s*)?(\d(?:[\d .\-/]*\d)?)")
_DATE = re.compile(r"\b(\d{1,2})[-/.](\d{1,2})[-/.](\d{4})\b")
_MIN_NUMBER_DIGITS = 6  # shorter digit runs are not permit numbers (a day, a count)


@dataclass
class NumberCheck:
    """The verdict on one number for one permit kind.

    ok: it fits. problem (when not ok): "missing", "wrong_length", "wrong_prefix", "bad_year".
    suggested_kind: another kind whose format it fits (the kind correction).
    """

    kind: str
    ok: bool
    canonical: str = ""
    digits: str = ""
    prefix: str = ""
    expiry_year: int | None = None
    problem: str | None = None
    suggested_kind: str | None = None
    got_digits: int = 0
    expected_digits: list[int] = field(default_factory=list)
    expected_prefix: str = ""


@dataclass
class Report:
    """What an owner's "sudah dapat ..." message says."""

    kind: str | None
    raw_number: str | None  # the digits
    prefix: str = ""
    issued_on: date | None = None
    as_typed: str = ""  # the number as written, kept for permits without a fixed format


def _number_specs(content: Content) -> dict[str, dict]:
    return {kind: info["number"] for kind, info in legality_rules.permit_kinds(content).items() if info.get("number")}


def kind_words(content: Content) -> list[tuple[tuple[str, ...], str]]:
    """(normalised words, permit kind), longest first, e.g. (("spp", "irt"), "pirt")."""
    pairs = []
    for kind, info in legality_rules.permit_kinds(content).items():
        for word in info["words"]:
            pairs.append((tuple(normalize(word, content).split()), kind))
    pairs.sort(key=lambda p: -len(p[0]))
    return pairs


def find_kind(text: str, content: Content) -> str | None:
    """The permit kind named in the text ("nib", "p-irt", "sertifikat halal"...), if exactly one."""
    found = find_kinds(text, content)
    return found[0] if len(found) == 1 else None


def find_kinds(text: str, content: Content) -> list[str]:
    """Every permit kind named in the text, in the order of its longest phrases ("NIB dan P-IRT")."""
    words = normalize(text, content).split()
    found: list[str] = []
    used: set[int] = set()
    for phrase, kind in kind_words(content):
        n = len(phrase)
        for i in range(len(words) - n + 1):
            if tuple(words[i:i + n]) == phrase and not (set(range(i, i + n)) & used):
                used |= set(range(i, i + n))
                if kind not in found:
                    found.append(kind)
    return found


def parse_date(text: str) -> date | None:
    match = _DATE.search(text)
    if not match:
        return None
    day, month, year = (int(g) for g in match.groups())
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_report(text: str, content: Content) -> Report:
    """Kind, number and issue date in "sudah dapat NIB 1234567890123 tgl 02-11-2026"."""
    issued_on = parse_date(text)
    without_date = _DATE.sub(" ", text)
    prefix, number, as_typed = "", None, ""
    for match in _NUMBER.finditer(without_date):
        digits = re.sub(r"\D", "", match.group(2))
        if len(digits) >= _MIN_NUMBER_DIGITS:
            prefix = (match.group(1) or "").upper()
            number = digits
            as_typed = match.group(0).strip()
            break
    kind = find_kind(without_date, content)
    specs = _number_specs(content)
    if prefix and not any(spec.get("prefix") == prefix for spec in specs.values()):
        prefix = ""  # "No. 1234..." is not a permit prefix
    if kind is None and prefix:
        kind = next((k for k, spec in specs.items() if spec.get("prefix") == prefix), None)
    return Report(kind=kind, raw_number=number, prefix=prefix, issued_on=issued_on, as_typed=as_typed)


def _fits(spec: dict, digits: str, prefix: str) -> bool:
    want = spec.get("prefix") or ""
    return len(digits) in (spec.get("digits") or []) and (not prefix or prefix == want)


def check_number(kind: str, raw: str | None, content: Content, prefix: str = "", today: date | None = None,
                 as_typed: str = "") -> NumberCheck:
    """Does `raw` (digits, maybe with separators) fit the format of permit `kind`?"""
    specs = _number_specs(content)
    spec = specs.get(kind)
    digits = re.sub(r"\D", "", raw or "")
    if raw and not prefix:
        glued = re.match(r"\s*([A-Za-z]{2})\s*\d", raw)
        prefix = glued.group(1).upper() if glued else ""
    if spec is None:
        # A permit without a fixed format (PKP certificate, halal certificate): any number is kept.
        canonical = (as_typed or raw or "").strip()[:40]
        return NumberCheck(kind, ok=bool(canonical), canonical=canonical, digits=digits,
                           problem=None if canonical else "missing")
    want_prefix = spec.get("prefix") or ""
    check = NumberCheck(kind, ok=False, digits=digits, prefix=prefix, got_digits=len(digits),
                        expected_digits=list(spec.get("digits") or []), expected_prefix=want_prefix)
    if not digits:
        check.problem = "missing"
        return check
    others = [k for k, s in specs.items() if k != kind and _fits(s, digits, prefix)]
    if prefix and prefix != want_prefix:
        check.problem = "wrong_prefix"
        check.suggested_kind = next((k for k in others if (specs[k].get("prefix") or "") == prefix), None)
        return check
    if len(digits) not in check.expected_digits:
        check.problem = "wrong_length"
        # Only suggest a kind the number fits exactly, prefix included when it needs one.
        check.suggested_kind = next((k for k in others if not specs[k].get("prefix") or prefix), None)
        return check
    check.canonical = f"{want_prefix}{digits}" if want_prefix else digits
    if spec.get("expiry_year_in_last_two"):
        year = 2000 + int(digits[-2:])
        today = today or date.today()
        years = legality_rules.permit_kinds(content)[kind].get("validity_years") or 0
        # A permit cannot end later than a full validity period from today.
        if year > today.year + years:
            check.problem = "bad_year"
            check.expiry_year = year
            return check
        check.expiry_year = year
    check.ok = True
    return check


def add_years(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February in a year without one
        return day.replace(year=day.year + years, day=28)


def expiry_date(kind: str, issued_on: date, content: Content, number_year: int | None = None) -> date | None:
    """When a permit ends: issue date + validity years (P-IRT 5, notification 3...). For a P-IRT the
    year printed in the number wins, since it is what the permit itself says."""
    info = legality_rules.permit_kinds(content).get(kind) or {}
    years = info.get("validity_years")
    if not years:
        return None
    expires = add_years(issued_on, years)
    if number_year is not None and expires.year != number_year:
        expires = add_years(expires, number_year - expires.year)
    return expires


def renew_from(kind: str, expires_on: date, content: Content) -> date | None:
    """The day to start renewing (expiry minus renew_before_months), for reminders."""
    info = legality_rules.permit_kinds(content).get(kind) or {}
    months = info.get("renew_before_months")
    if not months or expires_on is None:
        return None
    month_index = expires_on.year * 12 + expires_on.month - 1 - int(months)
    year, month = divmod(month_index, 12)
    day = min(expires_on.day, 28)
    return date(year, month + 1, day)
