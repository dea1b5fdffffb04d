"""Checking the words read from a label against content/legality/label_rules.yaml.

`check_reading(reading, content, ...)` returns a `LabelResult`: each mandatory item found or not
(with the line it was found on), the permit number with the project's own number check
(`bot.legality.numbers`: format, kind against the product's route, the P-IRT expiry year), the
warnings (halal logo without a recorded certificate, non-halal ingredients without "tidak halal",
medicinal claims on food) and a verdict. The verdict is never "passes": at best "looks_complete".

Matching tolerates reading errors: keywords of 6+ letters match a line at partial-ratio >= 85
(rapidfuzz), shorter ones as whole words; a few letters Tesseract confuses in numbers (O/0, l/1,
g read as 9 after a number) are mended before the number patterns run.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from datetime import date

from rapidfuzz import fuzz

from bot.content import Content
from bot.labels.ocr import Reading
from bot.labels.rules import ITEM_ORDER, label_rules
from bot.legality import numbers

FUZZY_MIN_LEN = 6
FUZZY_CUTOFF = 85  # keywords of 6-7 letters
FUZZY_CUTOFF_LONG = 80  # keywords of 8+ letters ("komposisi" read as "kompesis")
PERMIT_MIN_DIGITS = 9  # shorter digit runs are codes, dates or house numbers
PERMIT_KINDS = ("pirt", "md", "notif", "tr")
MIN_DATE_DIGITS = 6  # d m yy


@dataclass
class ItemFinding:
    key: str
    found: bool
    text: str = ""  # the line it was read on
    note: str | None = None  # e.g. "wording": a date is there but not as "Baik digunakan sebelum"


@dataclass
class PermitFinding:
    found: bool
    text: str = ""  # as read
    kind: str | None = None  # pirt | md | notif | tr, as printed (or as the route expects)
    expected_kind: str | None = None  # from the product's route, when known
    number: str = ""  # canonical, when the format fits
    ok: bool = False
    problem: str | None = None  # wrong_length | wrong_prefix | bad_year | expired | wrong_kind | missing
    expiry_year: int | None = None


@dataclass
class LabelResult:
    readable: bool
    verdict: str  # unreadable | needs_fixes | looks_complete
    items: list[ItemFinding] = field(default_factory=list)
    permit: PermitFinding = field(default_factory=lambda: PermitFinding(found=False))
    warnings: list[str] = field(default_factory=list)  # halal_without_certificate, non_halal_unstated, claim
    claims: list[str] = field(default_factory=list)
    words: list[dict] = field(default_factory=list)  # [{"text", "conf"}]
    text: str = ""
    mean_confidence: float = 0.0
    route: str | None = None

    @property
    def missing(self) -> list[str]:
        return [i.key for i in self.items if not i.found]

    def item(self, key: str) -> ItemFinding:
        return next(i for i in self.items if i.key == key)

    def as_dict(self) -> dict:
        data = asdict(self)
        data["missing"] = self.missing
        return data


# --- matching helpers ----------------------------------------------------------------------------
def _clean(line: str) -> str:
    return re.sub(r"\s+", " ", line.lower()).strip()


def _has_keyword(line: str, keyword: str) -> bool:
    keyword = keyword.lower()
    if len(keyword) < FUZZY_MIN_LEN:
        return re.search(rf"(?<![a-z0-9]){re.escape(keyword)}(?![a-z0-9])", line) is not None
    if keyword in line:
        return True
    cutoff = FUZZY_CUTOFF_LONG if len(keyword) >= 8 else FUZZY_CUTOFF
    return len(line) >= len(keyword) - 1 and fuzz.partial_ratio(keyword, line) >= cutoff


def _any_keyword(line: str, keywords) -> str | None:
    return next((k for k in keywords if _has_keyword(line, k)), None)


def _best_score(line: str, keywords) -> float:
    """How well the line carries any of these keywords (100 = literally)."""
    best = 0.0
    for keyword in keywords:
        keyword = keyword.lower()
        if _has_keyword(line, keyword):
            best = max(best, 100.0 if keyword in line else fuzz.partial_ratio(keyword, line))
    return best


def _mend_numbers(line: str) -> str:
    """Letters Tesseract reads for digits inside numbers, and a unit "g" read as "9"."""
    line = re.sub(r"(?<=\d)[oO](?=\d)|(?<=\d)[oO]\b", "0", line)
    line = re.sub(r"(?<=\d)[lI|](?=\d)", "1", line)
    line = re.sub(r"(?<=\d)[)(\]\[](?=\s*\d)", "", line)
    return line


def _mend_unit(line: str) -> str:
    return re.sub(r"(?<=\d)\s?9\s*$", " g", line)


# --- items ---------------------------------------------------------------------------------------
def _line_heights(reading: Reading) -> list[tuple[str, float]]:
    out = []
    for words in reading.lines:
        heights = sorted(w.height for w in words if any(c.isalpha() for c in w.text))
        height = heights[len(heights) // 2] if heights else 0
        out.append((" ".join(w.text for w in words), float(height)))
    return out


def _find_product_name(reading: Reading, lines: list[str], rule: dict, others: list[str],
                       product_names: list[str]) -> ItemFinding:
    for line in lines:
        if _any_keyword(line, rule.get("keywords") or []):
            return ItemFinding("product_name", True, line)
    for name in product_names:
        name = _clean(name)
        if len(name) >= 4:
            for line in lines:
                if fuzz.partial_ratio(name, line) >= FUZZY_CUTOFF:
                    return ItemFinding("product_name", True, line)
    heights = [(text, h) for text, h in _line_heights(reading) if h > 0]
    if len(heights) >= 2:
        ordered = sorted(h for _, h in heights)
        median = ordered[len(ordered) // 2]
        ratio = float(rule.get("title_height_ratio") or 1.25)
        for position, (text, height) in enumerate(heights):
            letters = [c for c in text if c.isalpha()]
            clean = _clean(text)
            if len(letters) < 4 or len(letters) < 0.6 * len(text.replace(" ", "")) \
                    or _any_keyword(clean, others) or "halal" in clean:
                continue
            # Printed larger than the rest, or a first line in capitals (how names are printed).
            capitals = sum(c.isupper() for c in letters) >= 0.8 * len(letters)
            if height >= ratio * median or (position < 2 and capitals):
                return ItemFinding("product_name", True, text)
    return ItemFinding("product_name", False)


def _find_simple(key: str, lines: list[str], rule: dict, rivals: list[str] = ()) -> ItemFinding:
    value = re.compile(rule["value"]) if rule.get("value") else None
    for index, line in enumerate(lines):
        score = _best_score(line, rule.get("keywords") or [])
        if score and score >= _best_score(line, rivals):
            if value is None:
                return ItemFinding(key, True, line)
            nearby = " ".join(lines[index:index + 2])
            if value.search(_mend_unit(_mend_numbers(line))) or value.search(_mend_numbers(nearby)) \
                    or (key == "net_content" and re.search(r"\d", line)):
                return ItemFinding(key, True, line)
    if value is not None and rule.get("standalone"):
        for line in lines:
            if value.search(_mend_numbers(line)):
                return ItemFinding(key, True, line)
    return ItemFinding(key, False)


def _find_producer(lines: list[str], rule: dict, rivals: list[str]) -> ItemFinding:
    """"Diproduksi oleh" and "kode produksi" look alike to a fuzzy match: a line counts for the
    producer only when it carries a producer keyword better than a production-code one."""
    for line in lines:
        score = _best_score(line, rule.get("keywords") or [])
        if score and score > _best_score(line, rivals):
            return ItemFinding("producer", True, line)
    address = rule.get("address_words") or []
    for line in lines:
        words = set(re.findall(r"[a-z]+", line))
        if len(words & set(address)) >= 2:
            return ItemFinding("producer", True, line, note="address_only")
    return ItemFinding("producer", False)


def _find_best_before(lines: list[str], rule: dict) -> ItemFinding:
    value = re.compile(rule["value"])
    for index, line in enumerate(lines):
        if _any_keyword(line, rule.get("keywords") or []):
            nearby = _mend_numbers(" ".join(lines[index:index + 2]))
            # The wording is what must be exact; a date whose separators were lost in reading
            # ("11062027") still counts when the line carries enough digits for one.
            if value.search(nearby) or len(re.findall(r"\d", _mend_numbers(line))) >= MIN_DATE_DIGITS:
                return ItemFinding("best_before", True, line)
            return ItemFinding("best_before", False, line, note="no_date")
    for line in lines:
        if _any_keyword(line, rule.get("other_wordings") or []) and value.search(_mend_numbers(line)):
            return ItemFinding("best_before", False, line, note="wording")
    return ItemFinding("best_before", False)


# --- the permit number ---------------------------------------------------------------------------
def _permit_candidates(lines: list[str], content: Content, skip: set[str]) -> list[tuple[str, numbers.Report]]:
    out = []
    for line in lines:
        if line in skip:
            continue
        mended = _mend_numbers(line)
        report = numbers.parse_report(mended, content)
        if report.raw_number is None:
            continue
        if report.kind in PERMIT_KINDS or report.prefix or len(report.raw_number) >= PERMIT_MIN_DIGITS:
            out.append((line, report))
    return out


def check_permit(lines: list[str], content: Content, expected_kind: str | None, today: date,
                 skip: set[str]) -> PermitFinding:
    candidates = _permit_candidates(lines, content, skip)
    if not candidates:
        return PermitFinding(found=False, expected_kind=expected_kind, problem="missing")
    specs = {k: v["number"] for k, v in numbers.legality_rules.permit_kinds(content).items() if v.get("number")}
    line, report = candidates[0]
    kind = report.kind if report.kind in PERMIT_KINDS else None
    if kind is None and report.prefix:
        kind = next((k for k, s in specs.items() if (s.get("prefix") or "") == report.prefix), None)
    if kind is None:
        # How the kinds are printed, including common misreadings ("PART No." for "P-IRT No.").
        markers = label_rules(content).get("permit_markers") or {}
        kind = next((k for k, words in markers.items() if any(_has_keyword(line, w) for w in words)), None)
    if kind is None:
        kind = expected_kind or ("pirt" if len(report.raw_number) in (specs.get("pirt") or {}).get("digits", []) else None)
    finding = PermitFinding(found=True, text=line, kind=kind, expected_kind=expected_kind)
    if kind is None:
        finding.problem = "unknown_kind"
        return finding
    check = numbers.check_number(kind, report.raw_number, content, prefix=report.prefix, today=today,
                                 as_typed=report.as_typed)
    finding.number = check.canonical
    finding.expiry_year = check.expiry_year
    if not check.ok:
        finding.problem = check.problem
        return finding
    if check.expiry_year is not None and check.expiry_year < today.year:
        finding.problem = "expired"
        return finding
    if expected_kind and kind != expected_kind:
        finding.problem = "wrong_kind"
        return finding
    finding.ok = True
    return finding


# --- the whole label -----------------------------------------------------------------------------
def readable(reading: Reading, content: Content) -> bool:
    rule = label_rules(content).get("readable") or {}
    confident = reading.confident(float(rule.get("min_confidence", 55)))
    return len(confident) >= int(rule.get("min_words", 6))


def check_reading(reading: Reading, content: Content, route: str | None = None,
                  halal_certified: bool | None = None, product_names: list[str] | None = None,
                  today: date | None = None) -> LabelResult:
    """What the label shows and lacks. `route`: the product's pathway route (pirt, md, ...), when
    known; `halal_certified`: whether the owner has a recorded halal certificate (None: unknown)."""
    rules = label_rules(content)
    today = today or date.today()
    result = LabelResult(readable=readable(reading, content), verdict="unreadable", route=route,
                         words=[{"text": w.text, "conf": round(w.conf, 1)} for w in reading.words],
                         text=reading.text, mean_confidence=round(reading.mean_confidence, 1))
    raw_lines = [line.strip() for line in reading.text.split("\n") if line.strip()]
    lines = [_clean(line) for line in raw_lines]
    as_read = dict(zip(lines, raw_lines))
    items_rules = rules["items"]
    findings: dict[str, ItemFinding] = {}
    for key in ITEM_ORDER:
        rule = items_rules[key]
        if key == "product_name":
            others = [k for other, r in items_rules.items() if other not in ("product_name", "permit_number")
                      for k in r.get("keywords") or [] if len(k) >= 4]
            findings[key] = _find_product_name(reading, lines, rule, others, product_names or [])
        elif key == "producer":
            rivals = items_rules["production_code"].get("keywords") or []
            findings[key] = _find_producer(lines, rule, rivals)
        elif key == "best_before":
            findings[key] = _find_best_before(lines, rule)
        elif key == "permit_number":
            continue
        else:
            rivals = items_rules["producer"].get("keywords") or [] if key == "production_code" else []
            findings[key] = _find_simple(key, lines, rule, rivals)
    route_permits = rules.get("route_permits") or {}
    expected_kind = route_permits.get(route) if route else None
    skip = {f.text for k, f in findings.items() if k in ("best_before", "production_code") and f.text}
    permit = check_permit(lines, content, expected_kind, today, skip)
    result.permit = permit
    permit_required = route not in (rules.get("no_permit_routes") or [])
    findings["permit_number"] = ItemFinding("permit_number", permit.found or not permit_required,
                                            permit.text, note=None if permit_required else "not_required")
    result.items = [findings[key] for key in ITEM_ORDER]
    for finding in result.items:
        finding.text = as_read.get(finding.text, finding.text)
    permit.text = as_read.get(permit.text, permit.text)
    whole = "\n".join(lines)
    halal = rules.get("halal") or {}
    states_non_halal = any(_has_keyword(line, k) for line in lines for k in halal.get("non_halal_statement") or [])
    shows_halal = any(_has_keyword(line, k) for line in lines for k in halal.get("logo_words") or []
                      if not any(_has_keyword(line, s) for s in halal.get("non_halal_statement") or []))
    if shows_halal and halal_certified is not True:
        result.warnings.append("halal_without_certificate")
    has_non_halal = any(re.search(rf"(?<![a-z]){re.escape(k)}(?![a-z])", whole)
                        for k in halal.get("non_halal_ingredients") or [])
    if has_non_halal and not states_non_halal:
        result.warnings.append("non_halal_unstated")
    if has_non_halal and shows_halal:
        result.warnings.append("halal_and_non_halal")
    for claim in rules.get("forbidden_claims") or []:
        if any(_has_keyword(line, claim) for line in lines):
            result.claims.append(claim)
    if result.claims:
        result.warnings.append("claim")
    found_count = sum(1 for i in result.items if i.found and i.note != "not_required")
    if not result.readable or found_count <= 1:
        result.readable = False
        result.verdict = "unreadable"
    elif result.missing or (permit_required and permit.problem) or result.warnings:
        result.verdict = "needs_fixes"
    else:
        result.verdict = "looks_complete"
    return result
