"""GMP self-checks as data, and the pure rules that turn answers into findings and a level.

Checklists live in content/gmp/<id>.yaml (CPPB-IRT, CPPOB, CPKB, CPOTB); the level rule and the
re-check interval per level live in content/gmp/levels.yaml. Nothing here touches the database or
a conversation: flows/gmp_check.py asks the questions and stores answers, this module scores them.

Answers are "yes", "no" or "unknown" ("tidak tahu"). Every question is phrased so that "yes" is
the good answer; "no" is a finding of the item's severity. "unknown" counts as a finding too when
levels.yaml says so (an inspector will not accept what the owner cannot show), and is reported
apart so the owner knows what to go and look at.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, Iterable, Mapping
from weakref import WeakKeyDictionary

from bot.content import LANGS, Content, ContentError, content_check

SEVERITIES = ("critical", "serious", "major", "minor")  # most severe first
SEVERITY_RANK = {name: rank for rank, name in enumerate(SEVERITIES)}
ANSWERS = ("yes", "no", "unknown")
CHECKLIST_DIR = "gmp"
LEVELS_FILE = "gmp/levels.yaml"
NON_CHECKLIST_FILES = {"levels", "reminders", "phrases"}  # the other files in content/gmp


@dataclass(frozen=True)
class Item:
    id: str
    aspect: str
    severity: str
    question: Mapping[str, str]
    why: Mapping[str, str]
    fix: Mapping[str, str]

    def text(self, part: str, lang: str) -> str:
        texts = getattr(self, part)
        return texts.get(lang) or texts["id"]


@dataclass(frozen=True)
class Aspect:
    code: str
    name: Mapping[str, str]
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Checklist:
    id: str
    title: Mapping[str, str]
    short: Mapping[str, str]
    aspects: tuple[Aspect, ...]
    source: str
    last_reviewed: str
    verify: bool
    verify_note: Mapping[str, str]
    offer: Mapping[str, Any]

    @property
    def items(self) -> tuple[Item, ...]:
        return tuple(item for aspect in self.aspects for item in aspect.items)

    def item(self, item_id: str) -> Item:
        for item in self.items:
            if item.id == item_id:
                return item
        raise KeyError(item_id)

    def aspect(self, code: str) -> Aspect:
        for aspect in self.aspects:
            if aspect.code == code:
                return aspect
        raise KeyError(code)

    def index(self, item_id: str) -> int:
        return [item.id for item in self.items].index(item_id)


@dataclass(frozen=True)
class Level:
    level: str
    max: Mapping[str, int]
    audit_every_days: int
    remind_after_days: int
    meaning: Mapping[str, str]

    def admits(self, counts: Mapping[str, int]) -> bool:
        return all(counts.get(severity, 0) <= limit for severity, limit in self.max.items())


@dataclass(frozen=True)
class Estimate:
    """How a scheme without official levels I-IV (CPPOB, CPKB, CPOTB) shows a result: in its own
    terms, as an estimate."""
    heading: Mapping[str, str]  # with {grade}
    grades: Mapping[str, Mapping[str, str]]  # level -> words in the scheme's own terms
    note: Mapping[str, str]


@dataclass(frozen=True)
class LevelView:
    """What the owner reads about the level of one result."""
    official: bool  # the CPPB-IRT level table; False = an estimate in the scheme's own terms
    heading: str
    note: str
    not_ready: str  # "the P-IRT inspection would not pass yet; fix first: ..." or ""


@dataclass(frozen=True)
class LevelRule:
    levels: tuple[Level, ...]
    unknown_counts_as_finding: bool
    source: str
    last_reviewed: str
    verify: bool
    verify_note: Mapping[str, str]
    severity_names: Mapping[str, Mapping[str, str]]
    applies_to: str = "cppb_irt"
    level_heading: Mapping[str, str] = field(default_factory=dict)
    not_ready_levels: tuple[str, ...] = ()
    not_ready_text: Mapping[str, str] = field(default_factory=dict)
    estimates: Mapping[str, Estimate] = field(default_factory=dict)

    def view(self, checklist_id: str, level: Level, lang: str, first_fix: str = "") -> LevelView:
        """The level in the words the scheme uses. The I-IV table is CPPB-IRT's own; other schemes
        get an estimate in their terms. A CPPB-IRT level the P-IRT inspection would not pass says so
        plainly, with the fix to do first."""
        def pick(texts: Mapping[str, str]) -> str:
            return texts.get(lang) or texts.get("id") or ""

        estimate = self.estimates.get(checklist_id)
        if checklist_id != self.applies_to and estimate is not None:
            grade = pick(estimate.grades.get(level.level) or {})
            return LevelView(False, pick(estimate.heading).format(grade=grade), pick(estimate.note), "")
        heading = pick(self.level_heading).format(level=level.level) or f"Level {level.level}"
        not_ready = ""
        if level.level in self.not_ready_levels and first_fix:
            not_ready = pick(self.not_ready_text).format(fix=first_fix)
        return LevelView(True, heading, "", not_ready)

    def level_for(self, counts: Mapping[str, int]) -> Level:
        for level in self.levels:
            if level.admits(counts):
                return level
        return self.levels[-1]

    def get(self, name: str) -> Level:
        for level in self.levels:
            if level.level == name:
                return level
        raise KeyError(name)


@dataclass(frozen=True)
class Finding:
    item: Item
    answer: str  # "no" or "unknown"

    @property
    def severity(self) -> str:
        return self.item.severity

    @property
    def unknown(self) -> bool:
        return self.answer == "unknown"


@dataclass
class Result:
    checklist: Checklist
    level: Level
    findings: list[Finding]
    counts: dict[str, int]  # findings by severity (including "unknown" answers when they count)
    unknown: int  # how many answers were "tidak tahu"
    answered: int
    total: int
    needs_mentor: bool  # a critical item answered "no" or "unknown"
    critical_items: list[str] = field(default_factory=list)

    @property
    def finding_total(self) -> int:
        return len(self.findings)

    def top_fixes(self, n: int = 3) -> list[Finding]:
        return self.findings[:n]


# --- loading -----------------------------------------------------------------------------------
def _texts(node: Any, where: str, errors: list[str]) -> dict[str, str]:
    if not isinstance(node, dict):
        errors.append(f"{where}: must be a mapping with {', '.join(LANGS)}")
        return {}
    out = {}
    for lang in LANGS:
        value = node.get(lang)
        if not isinstance(value, str) or not value.strip():
            errors.append(f"{where}: missing text in {lang!r}")
        else:
            out[lang] = value.strip()
    return out


def _reviewed(raw: Mapping[str, Any], where: str, errors: list[str]) -> str:
    value = raw.get("last_reviewed")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str) and len(value) == 10:
        try:
            return date.fromisoformat(value).isoformat()
        except ValueError:
            pass
    errors.append(f"{where}: last_reviewed must be a date (YYYY-MM-DD)")
    return ""


def parse_checklist(raw: Any, name: str) -> tuple[Checklist | None, list[str]]:
    """A Checklist from a parsed YAML file, and every problem found in it."""
    errors: list[str] = []
    where = f"gmp/{name}.yaml"
    if not isinstance(raw, dict):
        return None, [f"{where}: top level must be a mapping"]
    if raw.get("id") != name:
        errors.append(f"{where}: id must be {name!r} (the file name)")
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        errors.append(f"{where}: missing source")
    reviewed = _reviewed(raw, where, errors)
    verify = bool(raw.get("verify", False))
    verify_note = _texts(raw.get("verify_note"), f"{where}: verify_note", errors) if verify else {}
    title = _texts(raw.get("title"), f"{where}: title", errors)
    short = _texts(raw.get("short"), f"{where}: short", errors)
    offer = raw.get("offer") or {}
    if not isinstance(offer, dict) or not offer.get("sectors"):
        errors.append(f"{where}: offer.sectors must list the sectors this checklist is for")
        offer = {}
    aspects: list[Aspect] = []
    seen_items: set[str] = set()
    seen_aspects: set[str] = set()
    raw_aspects = raw.get("aspects")
    if not isinstance(raw_aspects, list) or not raw_aspects:
        errors.append(f"{where}: aspects must be a non-empty list")
        raw_aspects = []
    for a_index, raw_aspect in enumerate(raw_aspects):
        a_where = f"{where}: aspects[{a_index}]"
        if not isinstance(raw_aspect, dict):
            errors.append(f"{a_where}: must be a mapping")
            continue
        code = str(raw_aspect.get("code") or "")
        if not code:
            errors.append(f"{a_where}: missing code")
        elif code in seen_aspects:
            errors.append(f"{a_where}: duplicate aspect code {code!r}")
        seen_aspects.add(code)
        aspect_name = _texts(raw_aspect.get("name"), f"{a_where} name", errors)
        items: list[Item] = []
        raw_items = raw_aspect.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            errors.append(f"{a_where}: items must be a non-empty list")
            raw_items = []
        for raw_item in raw_items:
            item_id = str((raw_item or {}).get("id") or "") if isinstance(raw_item, dict) else ""
            i_where = f"{where}: item {item_id or '?'}"
            if not item_id:
                errors.append(f"{a_where}: an item has no id")
                continue
            if item_id in seen_items:
                errors.append(f"{i_where}: duplicate item id")
            seen_items.add(item_id)
            severity = raw_item.get("severity")
            if severity not in SEVERITIES:
                errors.append(f"{i_where}: severity must be one of {', '.join(SEVERITIES)}, got {severity!r}")
            question = _texts(raw_item.get("question"), f"{i_where} question", errors)
            for lang, text in question.items():
                if not text.endswith("?"):
                    errors.append(f"{i_where} question ({lang}): a yes/no question ends with '?'")
            items.append(
                Item(
                    id=item_id,
                    aspect=code,
                    severity=severity if severity in SEVERITIES else "minor",
                    question=question,
                    why=_texts(raw_item.get("why"), f"{i_where} why", errors),
                    fix=_texts(raw_item.get("fix"), f"{i_where} fix", errors),
                )
            )
        aspects.append(Aspect(code=code, name=aspect_name, items=tuple(items)))
    checklist = Checklist(
        id=name,
        title=title,
        short=short,
        aspects=tuple(aspects),
        source=str(raw.get("source") or ""),
        last_reviewed=reviewed,
        verify=verify,
        verify_note=verify_note,
        offer=offer,
    )
    return checklist, errors


def parse_levels(raw: Any) -> tuple[LevelRule | None, list[str]]:
    errors: list[str] = []
    where = LEVELS_FILE
    if not isinstance(raw, dict):
        return None, [f"{where}: top level must be a mapping"]
    if not isinstance(raw.get("source"), str) or not raw["source"].strip():
        errors.append(f"{where}: missing source")
    reviewed = _reviewed(raw, where, errors)
    verify = bool(raw.get("verify", False))
    if not verify:
        errors.append(f"{where}: the level rule is marked verify in DOMAIN.md; set verify: true")
    verify_note = _texts(raw.get("verify_note"), f"{where}: verify_note", errors)
    names = raw.get("severity_names") or {}
    severity_names = {}
    for severity in SEVERITIES:
        severity_names[severity] = _texts(names.get(severity), f"{where}: severity_names.{severity}", errors)
    levels: list[Level] = []
    raw_levels = raw.get("levels")
    if not isinstance(raw_levels, list) or not raw_levels:
        errors.append(f"{where}: levels must be a non-empty list")
        raw_levels = []
    for index, raw_level in enumerate(raw_levels):
        l_where = f"{where}: levels[{index}]"
        if not isinstance(raw_level, dict):
            errors.append(f"{l_where}: must be a mapping")
            continue
        limits = raw_level.get("max")
        if not isinstance(limits, dict):
            errors.append(f"{l_where}: max must be a mapping (empty for the last level)")
            limits = {}
        for severity, limit in limits.items():
            if severity not in SEVERITIES:
                errors.append(f"{l_where}: unknown severity {severity!r} in max")
            if not isinstance(limit, int) or limit < 0:
                errors.append(f"{l_where}: max.{severity} must be a whole number >= 0")
        days = {}
        for key in ("audit_every_days", "remind_after_days"):
            value = raw_level.get(key)
            if not isinstance(value, int) or value < 1:
                errors.append(f"{l_where}: {key} must be a whole number of days >= 1")
                value = 1
            days[key] = value
        levels.append(
            Level(
                level=str(raw_level.get("level") or f"?{index}"),
                max={k: v for k, v in limits.items() if k in SEVERITIES and isinstance(v, int)},
                meaning=_texts(raw_level.get("meaning"), f"{l_where} meaning", errors),
                **days,
            )
        )
    if levels and levels[-1].max:
        errors.append(f"{where}: the last level must have no limits (max: {{}}) so every result gets a level")
    level_names = {level.level for level in levels}
    applies_to = str(raw.get("applies_to") or "")
    if not applies_to:
        errors.append(f"{where}: applies_to must name the checklist the level table belongs to (cppb_irt)")
    level_heading = _texts(raw.get("level_heading"), f"{where}: level_heading", errors)
    not_ready = raw.get("pirt_not_ready") or {}
    not_ready_levels = tuple(str(x) for x in not_ready.get("levels") or [])
    for name in not_ready_levels:
        if name not in level_names:
            errors.append(f"{where}: pirt_not_ready names unknown level {name!r}")
    not_ready_text = _texts(not_ready.get("text"), f"{where}: pirt_not_ready.text", errors)
    estimates: dict[str, Estimate] = {}
    for scheme, spec in (raw.get("estimates") or {}).items():
        e_where = f"{where}: estimates.{scheme}"
        spec = spec or {}
        grades = {}
        for name in level_names:
            grades[name] = _texts((spec.get("grades") or {}).get(name), f"{e_where}.grades.{name}", errors)
        estimates[str(scheme)] = Estimate(heading=_texts(spec.get("heading"), f"{e_where}.heading", errors),
                                          grades=grades, note=_texts(spec.get("note"), f"{e_where}.note", errors))
    rule = LevelRule(
        levels=tuple(levels),
        unknown_counts_as_finding=bool(raw.get("unknown_counts_as_finding", True)),
        source=str(raw.get("source") or ""),
        last_reviewed=reviewed,
        verify=verify,
        verify_note=verify_note,
        severity_names=severity_names,
        applies_to=applies_to,
        level_heading=level_heading,
        not_ready_levels=not_ready_levels,
        not_ready_text=not_ready_text,
        estimates=estimates,
    )
    return rule, errors


def checklist_names(content: Content) -> list[str]:
    folder = content.root / CHECKLIST_DIR
    return sorted(p.stem for p in folder.glob("*.yaml") if p.stem not in NON_CHECKLIST_FILES)


# Parsed checklists per Content: parsing validates every text, too slow to repeat per message.
_parsed: "WeakKeyDictionary[Content, dict[str, Any]]" = WeakKeyDictionary()


def _cached(content: Content, key: str, build):
    per_content = _parsed.setdefault(content, {})
    if key not in per_content:
        per_content[key] = build()
    return per_content[key]


def load_checklist(content: Content, name: str) -> Checklist:
    def build() -> Checklist:
        checklist, errors = parse_checklist(content.data(f"{CHECKLIST_DIR}/{name}.yaml"), name)
        if errors or checklist is None:
            raise ContentError("; ".join(errors))
        return checklist

    return _cached(content, f"checklist:{name}", build)


def load_checklists(content: Content) -> dict[str, Checklist]:
    return {name: load_checklist(content, name) for name in checklist_names(content)}


def load_levels(content: Content) -> LevelRule:
    def build() -> LevelRule:
        rule, errors = parse_levels(content.data(LEVELS_FILE))
        if errors or rule is None:
            raise ContentError("; ".join(errors))
        return rule

    return _cached(content, "levels", build)


def choose_checklist(content: Content, sector: str | None, permits: Iterable[str] = ()) -> str | None:
    """The checklist to offer an owner first, from their sector and the permits they hold.

    A checklist's `offer` says which sectors it is for, and optionally which permits the owner
    must hold (`permits`) or must not hold (`unless_permits`). The most specific match wins.
    """
    held = {p.lower() for p in permits or ()}
    best: tuple[int, str] | None = None
    for name, checklist in load_checklists(content).items():
        offer = checklist.offer
        if sector not in (offer.get("sectors") or []):
            continue
        needs = set(offer.get("permits") or [])
        excludes = set(offer.get("unless_permits") or [])
        if needs and not needs & held:
            continue
        if excludes & held:
            continue
        specificity = len(needs)
        if best is None or specificity > best[0]:
            best = (specificity, name)
    return best[1] if best else None


# --- scoring -----------------------------------------------------------------------------------
def score(checklist: Checklist, answers: Mapping[str, str], rule: LevelRule) -> Result:
    """Findings, counts by severity, the level, and whether a mentor must look at it.

    `answers` maps item id to "yes" / "no" / "unknown"; unanswered items are not findings (a
    paused check is scored on what was answered so far).
    """
    findings: list[Finding] = []
    counts = {severity: 0 for severity in SEVERITIES}
    unknown = 0
    answered = 0
    critical_items: list[str] = []
    for item in checklist.items:
        answer = answers.get(item.id)
        if answer not in ANSWERS:
            continue
        answered += 1
        if answer == "yes":
            continue
        if answer == "unknown":
            unknown += 1
        if item.severity == "critical":
            critical_items.append(item.id)
        if answer == "no" or rule.unknown_counts_as_finding:
            findings.append(Finding(item=item, answer=answer))
            counts[item.severity] += 1
    order = {item.id: index for index, item in enumerate(checklist.items)}
    # Most severe first; at the same severity a sure "tidak" before a "tidak tahu", then form order.
    findings.sort(key=lambda f: (SEVERITY_RANK[f.severity], f.unknown, order[f.item.id]))
    return Result(
        checklist=checklist,
        level=rule.level_for(counts),
        findings=findings,
        counts=counts,
        unknown=unknown,
        answered=answered,
        total=len(checklist.items),
        needs_mentor=bool(critical_items),
        critical_items=critical_items,
    )


def trend(previous_findings: int | None, current_findings: int) -> str:
    """How this check compares with the last: "first", "better", "same" or "worse"."""
    if previous_findings is None:
        return "first"
    if current_findings < previous_findings:
        return "better"
    if current_findings > previous_findings:
        return "worse"
    return "same"


# --- content check -----------------------------------------------------------------------------
@content_check
def check_gmp_content(content: Content) -> list[str]:
    errors: list[str] = []
    if not (content.root / CHECKLIST_DIR).exists():
        return [f"{CHECKLIST_DIR}/: missing (GMP checklists)"]
    names = checklist_names(content)
    if "cppb_irt" not in names:
        errors.append(f"{CHECKLIST_DIR}/cppb_irt.yaml: missing")
    for name in names:
        try:
            raw = content.data(f"{CHECKLIST_DIR}/{name}.yaml")
        except ContentError as exc:
            errors.append(str(exc))
            continue
        _checklist, problems = parse_checklist(raw, name)
        errors.extend(problems)
    try:
        rule, problems = parse_levels(content.data(LEVELS_FILE))
        errors.extend(problems)
        if rule is not None:
            # The I-IV table is CPPB-IRT's own: every other checklist shows an estimate in its terms.
            for name in names:
                if name != rule.applies_to and name not in rule.estimates:
                    errors.append(f"{LEVELS_FILE}: estimates.{name} missing (only {rule.applies_to} uses levels I-IV)")
    except ContentError as exc:
        errors.append(str(exc))
    return errors
