"""The programme's indicators, computed from the bot's own data.

Each indicator is a `Table` (what the CSV export writes) plus the chart drawn from it. Every
figure can be narrowed to one city area. Demo owners from the web chat are left out.

- registrations over time (per week or month, by sector), by area and by sector;
- the legality funnel: registered -> NIB -> product permit -> halal (see bot/dashboard/owners.py);
- permits by type: owners holding each (from registration or their pathway), and the permits
  recorded with a number on pathways;
- GMP compliance: the share of checked facilities whose latest completed self-check meets the
  standard (content/web/indicators.yaml), the level distribution, the most common findings;
- mentor performance: cases taken and resolved, median working hours (the handoff area's working
  calendar: office hours, weekends and holidays excluded, as the SLA counts them) from opening to
  taken and to resolved, SLA breaches (a case the SLA clock had to remind or escalate);
- satisfaction: "indeks kepuasan pendampingan", the mean of chat-case ratings x 100 / scale maximum
  (not BBPOM's IKEPU survey; see docs/legality.md).
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from bot.clock import local, utcnow
from bot.content import Content
from bot.dashboard.owners import (DONE, FUNNEL, PATHWAY_KINDS, PERMIT_TYPES, SECTORS, has_permit, reached,
                                  real_owners)
from storage.models import Owner, Ticket

from storage.models.gmp import GmpAnswer, GmpCheck
from bot.handoff.workhours import WorkingCalendar
from storage.models.handoff import CaseRouting, Mentor
from storage.models.legality import PathwayStep

SETTINGS_FILE = "web/indicators.yaml"


@dataclass
class Table:
    slug: str
    columns: list[str]  # web text keys of the column headers
    rows: list[list[Any]] = field(default_factory=list)


@dataclass
class Indicators:
    area: str
    period: str
    tables: dict[str, Table] = field(default_factory=dict)
    figures: dict[str, Any] = field(default_factory=dict)
    series: dict[str, Any] = field(default_factory=dict)

    def add(self, table: Table) -> Table:
        self.tables[table.slug] = table
        return table


def settings(content: Content) -> dict:
    return content.data(SETTINGS_FILE) or {}


def compute(session: Session, content: Content, area: str = "", period: str = "week",
            now: datetime | None = None) -> Indicators:
    now = now or utcnow()
    result = Indicators(area=area, period=period if period in ("week", "month") else "week")
    owner_filter = [real_owners()] + ([Owner.city == area] if area else [])
    _registrations(session, content, result, owner_filter, now)
    _legality(session, result, owner_filter)
    _gmp(session, content, result, owner_filter)
    _mentors(session, content, result, owner_filter)
    _satisfaction(session, content, result, owner_filter)
    return result


# --- registrations -------------------------------------------------------------------------------
def _period_start(day: date, period: str) -> date:
    if period == "month":
        return day.replace(day=1)
    return day - timedelta(days=day.weekday())


def _periods(now: datetime, period: str, count: int) -> list[date]:
    current = _period_start(local(now).date(), period)
    starts = [current]
    for _ in range(count - 1):
        previous = starts[-1] - timedelta(days=1)
        starts.append(_period_start(previous, period))
    return list(reversed(starts))


def period_label(start: date, period: str) -> str:
    return start.strftime("%m/%Y") if period == "month" else start.strftime("%d/%m")


def _registrations(session: Session, content: Content, result: Indicators, owner_filter, now: datetime) -> None:
    conf = settings(content).get("registrations") or {}
    count = int(conf.get("months" if result.period == "month" else "weeks") or 12)
    starts = _periods(now, result.period, count)
    since = datetime.combine(starts[0], datetime.min.time(), tzinfo=local(now).tzinfo)
    rows = session.execute(
        select(Owner.registered_at, Owner.sector).where(*owner_filter, Owner.registered_at >= since)
    ).all()
    buckets: dict[date, Counter] = {start: Counter() for start in starts}
    for registered_at, sector in rows:
        start = _period_start(local(registered_at).date(), result.period)
        if start in buckets:
            buckets[start][sector if sector in SECTORS else "other"] += 1
    table = result.add(Table("registrations_over_time",
                             ["ind.col_period", "ind.col_total", *[f"sector.{s}" for s in SECTORS]]))
    for start in starts:
        counter = buckets[start]
        table.rows.append([period_label(start, result.period), sum(counter.values()),
                           *[counter[s] for s in SECTORS]])

    by_area = dict(session.execute(
        select(Owner.city, func.count(Owner.id)).where(*owner_filter, Owner.registered_at.is_not(None))
        .group_by(Owner.city)
    ).all())
    area_table = result.add(Table("registrations_by_area", ["ind.col_area", "ind.col_owners"]))
    for city, n in sorted(by_area.items(), key=lambda kv: (-kv[1], kv[0] or "")):
        area_table.rows.append([city or "", n])

    by_sector = dict(session.execute(
        select(Owner.sector, func.count(Owner.id)).where(*owner_filter, Owner.registered_at.is_not(None))
        .group_by(Owner.sector)
    ).all())
    sector_table = result.add(Table("registrations_by_sector", ["ind.col_sector", "ind.col_owners"]))
    for sector in SECTORS:
        sector_table.rows.append([sector, by_sector.get(sector, 0) + (sum(
            v for k, v in by_sector.items() if k not in SECTORS) if sector == "other" else 0)])
    result.figures["registered"] = sum(by_area.values())
    result.figures["registered_before"] = session.scalar(
        select(func.count(Owner.id)).where(*owner_filter, Owner.registered_at.is_not(None),
                                           Owner.registered_at < since)) or 0
    result.figures["new_this_period"] = table.rows[-1][1] if table.rows else 0


# --- legality ------------------------------------------------------------------------------------
def _legality(session: Session, result: Indicators, owner_filter) -> None:
    registered = session.scalar(select(func.count(Owner.id)).where(*owner_filter, reached("registered"))) or 0
    funnel = result.add(Table("legality_funnel", ["ind.col_stage", "ind.col_owners", "ind.col_share"]))
    for stage in FUNNEL:
        n = session.scalar(select(func.count(Owner.id)).where(*owner_filter, reached(stage))) or 0
        funnel.rows.append([stage, n, _share(n, registered)])
    # Owners holding each kind, and the permits recorded with their number on owners' pathways
    # (one per product: an owner with two P-IRT products has two).
    recorded = dict(session.execute(
        select(PathwayStep.permit_kind, func.count(PathwayStep.id))
        .join(Owner, Owner.id == PathwayStep.owner_id)
        .where(*owner_filter, PathwayStep.status == DONE, PathwayStep.number.is_not(None))
        .group_by(PathwayStep.permit_kind)).all())
    permits = result.add(Table("permits_by_type", ["ind.col_permit", "ind.col_owners", "ind.col_recorded"]))
    for permit in PERMIT_TYPES:
        n = session.scalar(select(func.count(Owner.id)).where(*owner_filter, reached("registered"),
                                                              has_permit(permit))) or 0
        permits.rows.append([permit, n, sum(recorded.get(kind, 0) for kind in PATHWAY_KINDS[permit])])
    result.figures["with_nib"] = funnel.rows[1][1]
    result.figures["with_product_permit"] = funnel.rows[2][1]


def _share(part: float, whole: float) -> float | None:
    return round(part / whole, 4) if whole else None


# --- GMP -----------------------------------------------------------------------------------------
def _gmp(session: Session, content: Content, result: Indicators, owner_filter) -> None:
    conf = settings(content).get("gmp") or {}
    meets = set(conf.get("meets_standard_levels") or ["I", "II"])
    levels = result.add(Table("gmp_levels", ["ind.col_level", "ind.col_facilities"]))
    findings = result.add(Table("gmp_findings", ["ind.col_item", "ind.col_checklist", "ind.col_severity",
                                                 "ind.col_facilities"]))
    summary = result.add(Table("gmp_compliance", ["ind.col_checked", "ind.col_meeting", "ind.col_share"]))
    latest = (
        select(GmpCheck.owner_id, func.max(GmpCheck.id).label("check_id"))
        .join(Owner, Owner.id == GmpCheck.owner_id)
        .where(*owner_filter, GmpCheck.status == "completed")
        .group_by(GmpCheck.owner_id)
        .subquery()
    )
    checks = session.execute(
        select(GmpCheck.id, GmpCheck.level, GmpCheck.checklist).join(latest, latest.c.check_id == GmpCheck.id)
    ).all()
    level_counts = Counter(level or "?" for _id, level, _c in checks)
    for level in ("I", "II", "III", "IV"):
        levels.rows.append([level, level_counts.pop(level, 0)])
    for level, n in sorted(level_counts.items()):
        levels.rows.append([level, n])
    checked = len(checks)
    meeting = sum(1 for _id, level, _c in checks if level in meets)
    summary.rows.append([checked, meeting, _share(meeting, checked)])
    result.figures["gmp_share"] = _share(meeting, checked)
    result.figures["gmp_checked"] = checked
    if checks:
        checklist_of = {check_id: checklist for check_id, _l, checklist in checks}
        answers = session.execute(
            select(GmpAnswer.check_id, GmpAnswer.item_id, GmpAnswer.severity)
            .where(GmpAnswer.check_id.in_(list(checklist_of)), GmpAnswer.answer.in_(("no", "unknown")))
        ).all()
        counter = Counter((checklist_of[cid], item, severity) for cid, item, severity in answers)
        top = int(conf.get("top_findings") or 10)
        for (checklist, item, severity), n in counter.most_common(top):
            findings.rows.append([item, checklist, severity, n])


# --- mentors -------------------------------------------------------------------------------------
def _median(values: list[float]) -> float | None:
    return round(statistics.median(values), 1) if values else None


def _mentors(session: Session, content: Content, result: Indicators, owner_filter) -> None:
    calendar = WorkingCalendar.from_content(content)
    query = select(Ticket).join(Owner, Owner.id == Ticket.owner_id).where(*owner_filter)
    tickets = session.scalars(query).all()
    breached: set[int] = set()
    if tickets:
        breached = set(session.scalars(
            select(CaseRouting.ticket_id).where(
                CaseRouting.ticket_id.in_([t.id for t in tickets]),
                (CaseRouting.reminded_at.is_not(None)) | (CaseRouting.escalated_at.is_not(None)))
        ).all())
    names: dict[int, str] = {}
    ids = {t.mentor_id for t in tickets if t.mentor_id}
    if ids:
        names = {m.id: m.name for m in session.scalars(select(Mentor).where(Mentor.id.in_(ids)))}
    per: dict[int | None, dict[str, list]] = defaultdict(lambda: {"take": [], "resolve": [], "taken": [],
                                                                    "resolved": [], "breaches": []})
    for ticket in tickets:
        row = per[ticket.mentor_id]
        if ticket.taken_at:
            row["taken"].append(ticket.id)
            row["take"].append(calendar.working_hours_between(ticket.created_at, ticket.taken_at))
        if ticket.resolved_at:
            row["resolved"].append(ticket.id)
            row["resolve"].append(calendar.working_hours_between(ticket.created_at, ticket.resolved_at))
        if ticket.id in breached:
            row["breaches"].append(ticket.id)
    table = result.add(Table("mentor_performance", ["ind.col_mentor", "ind.col_taken", "ind.col_resolved",
                                                    "ind.col_hours_to_take", "ind.col_hours_to_resolve",
                                                    "ind.col_sla_breaches"]))
    everyone = {"take": [], "resolve": [], "taken": [], "resolved": [], "breaches": []}
    for mentor_id, row in sorted(per.items(), key=lambda kv: (kv[0] is None, names.get(kv[0] or 0, ""))):
        for key in everyone:
            everyone[key].extend(row[key])
        # "" = cases nobody has taken yet; the page and the CSV name that row in the viewer's language
        label = names.get(mentor_id, f"#{mentor_id}") if mentor_id else ""
        table.rows.append([label, len(row["taken"]), len(row["resolved"]), _median(row["take"]),
                           _median(row["resolve"]), len(row["breaches"])])
    result.figures["cases_open"] = sum(1 for t in tickets if t.status == "open")
    result.figures["cases_total"] = len(tickets)
    result.figures["median_hours_to_take"] = _median(everyone["take"])
    result.figures["median_hours_to_resolve"] = _median(everyone["resolve"])
    result.figures["sla_breaches"] = len(everyone["breaches"])


# --- satisfaction --------------------------------------------------------------------------------
def _satisfaction(session: Session, content: Content, result: Indicators, owner_filter) -> None:
    scale = int((settings(content).get("satisfaction") or {}).get("scale_max") or 5)
    ratings = session.scalars(
        select(Ticket.rating).join(Owner, Owner.id == Ticket.owner_id)
        .where(*owner_filter, Ticket.rating.is_not(None))
    ).all()
    counts = Counter(ratings)
    table = result.add(Table("satisfaction", ["ind.col_rating", "ind.col_cases"]))
    for score in range(1, scale + 1):
        table.rows.append([score, counts.get(score, 0)])
    mean = statistics.fmean(ratings) if ratings else None
    result.figures["ratings"] = len(ratings)
    result.figures["rating_mean"] = round(mean, 2) if mean is not None else None
    result.figures["satisfaction_index"] = round(mean / scale, 4) if mean is not None else None
