"""JakPreneur's seven steps ("7 PAS") for each owner, and as a funnel per area and cohort.

    P1 Pendaftaran   registered with the bot (registration finished)
    P2 Pelatihan     attended a training event (attendance recorded by staff)
    P3 Pendampingan  a mentor took up one of the owner's cases
    P4 Perizinan     at least one legality step done: a permit held at registration (NIB, P-IRT, ...)
                     or a step recorded done on the pathway
    P5 Pemasaran, P6 Pelaporan keuangan, P7 Permodalan
                     the bot does not run these yet: staff or mentors record them (dashboard or CSV)

Every step is a SQL condition on the owner, so the funnel is a handful of set-based counts, never a
loop over owners. The funnel counts owners who reached each step (the steps are a programme, not
a strict sequence: an owner may get a permit before any training), among the registered owners of
the area and cohort (the month they registered). Demo owners from the web chat are left out.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, exists, func, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import local, utcnow
from bot.csvtable import lookup, parse_date, read_table
from bot.dashboard.owners import DONE, has_permit, real_owners
from bot.owners_import import normalise_phone
from storage.models import Owner, Ticket
from storage.models.events import EventRegistration
from storage.models.legality import PathwayStep
from storage.models.programme import ProgrammeMilestone

STEPS = ("p1", "p2", "p3", "p4", "p5", "p6", "p7")
RECORDED = ("p5", "p6", "p7")  # recorded by people; P1-P4 come from the bot's own data
_PERMITS = ("nib", "pkp", "pirt", "bpom", "halal")


def condition(step: str) -> ColumnElement[bool]:
    """Owners who reached `step`."""
    if step == "p1":
        return Owner.registered_at.is_not(None)
    if step == "p2":
        return exists().where(EventRegistration.owner_id == Owner.id,
                              or_(EventRegistration.attended_at.is_not(None), EventRegistration.status == "attended"))
    if step == "p3":
        return exists().where(Ticket.owner_id == Owner.id, Ticket.taken_at.is_not(None))
    if step == "p4":
        return or_(exists().where(PathwayStep.owner_id == Owner.id, PathwayStep.status == DONE),
                   *(has_permit(p) for p in _PERMITS))
    if step in RECORDED:
        return exists().where(ProgrammeMilestone.owner_id == Owner.id, ProgrammeMilestone.step == step)
    raise KeyError(step)


def cohort_of(registered_at: datetime | None) -> str:
    return local(registered_at).strftime("%Y-%m") if registered_at else ""


def _cohort_bounds(cohort: str) -> tuple[datetime, datetime] | None:
    match = re.fullmatch(r"(\d{4})-(\d{2})", cohort or "")
    if not match:
        return None
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12:
        return None
    start = local(utcnow()).replace(year=year, month=month, day=1, hour=0, minute=0, second=0, microsecond=0)
    end = start.replace(year=year + (month == 12), month=1 if month == 12 else month + 1)
    return start, end


@dataclass
class Funnel:
    area: str
    cohort: str
    counts: dict[str, int] = field(default_factory=dict)  # step -> owners who reached it

    @property
    def base(self) -> int:
        return self.counts.get("p1", 0)

    def share(self, step: str) -> float | None:
        return self.counts.get(step, 0) / self.base if self.base else None


def scope(area: str = "", cohort: str = "", visible: ColumnElement[bool] | None = None) -> list[ColumnElement[bool]]:
    conditions = [real_owners()]
    if area:
        conditions.append(Owner.city == area)
    bounds = _cohort_bounds(cohort)
    if bounds:
        conditions.append(and_(Owner.registered_at >= bounds[0], Owner.registered_at < bounds[1]))
    if visible is not None:
        conditions.append(visible)
    return conditions


def funnel(session: Session, area: str = "", cohort: str = "",
           visible: ColumnElement[bool] | None = None) -> Funnel:
    """How many registered owners (in the area and cohort) reached each step, in one query."""
    where = scope(area, cohort, visible) + [condition("p1")]
    columns = [func.count(Owner.id)] + [func.count(Owner.id).filter(condition(s)) for s in STEPS[1:]]
    row = session.execute(select(*columns).where(*where)).one()
    return Funnel(area, cohort, dict(zip(STEPS, row)))


def funnel_by(session: Session, group: str, area: str = "", cohort: str = "",
              visible: ColumnElement[bool] | None = None) -> list[tuple[str, dict[str, int]]]:
    """The funnel split by area (`group="area"`) or by cohort month (`group="cohort"`)."""
    where = scope(area, cohort, visible) + [condition("p1")]
    owners = select(Owner.id, Owner.city, Owner.registered_at, *(condition(s).label(s) for s in STEPS[1:])) \
        .where(*where).subquery()
    rows: dict[str, dict[str, int]] = {}
    for record in session.execute(select(owners)):
        key = (record.city or "") if group == "area" else cohort_of(record.registered_at)
        counts = rows.setdefault(key, {s: 0 for s in STEPS})
        counts["p1"] += 1
        for step in STEPS[1:]:
            counts[step] += bool(getattr(record, step))
    return sorted(rows.items())


@dataclass
class OwnerSteps:
    owner_id: int
    steps: dict[str, date | None]  # step -> the day it was reached (None: not yet)
    notes: dict[str, str] = field(default_factory=dict)


def steps_of(session: Session, owner_ids: list[int]) -> dict[int, OwnerSteps]:
    """Each owner's seven steps with the day each was first reached."""
    out = {i: OwnerSteps(i, {s: None for s in STEPS}) for i in owner_ids}
    if not owner_ids:
        return out

    def first(rows):
        for owner_id, at in rows:
            yield owner_id, (local(at).date() if isinstance(at, datetime) else at)

    def put(step, rows):
        for owner_id, day in first(rows):
            if day is not None:
                current = out[owner_id].steps[step]
                out[owner_id].steps[step] = day if current is None else min(current, day)

    ids = Owner.id.in_(owner_ids)
    put("p1", session.execute(select(Owner.id, Owner.registered_at).where(ids)))
    put("p2", session.execute(select(EventRegistration.owner_id, func.min(EventRegistration.attended_at))
                              .where(EventRegistration.owner_id.in_(owner_ids), EventRegistration.attended_at.is_not(None))
                              .group_by(EventRegistration.owner_id)))
    put("p3", session.execute(select(Ticket.owner_id, func.min(Ticket.taken_at))
                              .where(Ticket.owner_id.in_(owner_ids), Ticket.taken_at.is_not(None))
                              .group_by(Ticket.owner_id)))
    put("p4", session.execute(select(PathwayStep.owner_id,
                                     func.min(func.coalesce(PathwayStep.completed_at, PathwayStep.updated_at)))
                              .where(PathwayStep.owner_id.in_(owner_ids), PathwayStep.status == DONE)
                              .group_by(PathwayStep.owner_id)))
    # A permit the owner already held when registering counts from their registration day.
    held = session.execute(select(Owner.id, Owner.registered_at)
                           .where(ids, or_(*(has_permit(p) for p in _PERMITS)))).all()
    put("p4", held)
    for m in session.scalars(select(ProgrammeMilestone).where(ProgrammeMilestone.owner_id.in_(owner_ids))):
        out[m.owner_id].steps[m.step] = m.achieved_on
        if m.note:
            out[m.owner_id].notes[m.step] = m.note
    return out


class MilestoneError(ValueError):
    pass


def record(session: Session, owner_id: int, step: str, achieved_on: date, note: str, by: str) -> ProgrammeMilestone:
    """Record (or correct) that an owner reached P5, P6 or P7."""
    if step not in RECORDED:
        raise MilestoneError(f"step {step!r}: only p5, p6 and p7 are recorded by hand")
    if achieved_on > local(utcnow()).date():
        raise MilestoneError(f"date {achieved_on.isoformat()} is in the future")
    note = " ".join((note or "").split())[:500]
    milestone = session.scalars(select(ProgrammeMilestone).where(ProgrammeMilestone.owner_id == owner_id,
                                                                 ProgrammeMilestone.step == step)).first()
    if milestone is None:
        milestone = ProgrammeMilestone(owner_id=owner_id, step=step)
        session.add(milestone)
    milestone.achieved_on, milestone.note = achieved_on, note
    milestone.recorded_by, milestone.recorded_at = by[:64], utcnow()
    return milestone


def unrecord(session: Session, owner_id: int, step: str) -> bool:
    milestone = session.scalars(select(ProgrammeMilestone).where(ProgrammeMilestone.owner_id == owner_id,
                                                                 ProgrammeMilestone.step == step)).first()
    if milestone is None:
        return False
    session.delete(milestone)
    return True


# --- CSV of P5-P7 records ------------------------------------------------------------------------
COLUMNS = {
    "owner_id": ("owner id", "owner_id", "id"),
    "phone": ("phone", "hp", "wa", "whatsapp", "no hp", "telepon"),
    "step": ("step", "tahap", "langkah"),
    "date": ("date", "tanggal"),
    "note": ("note", "catatan", "keterangan"),
}
_STEP_WORDS = {
    "p5": ("p5", "5", "pemasaran", "marketing"),
    "p6": ("p6", "6", "pelaporan keuangan", "laporan keuangan", "pembukuan", "bookkeeping", "financial reporting"),
    "p7": ("p7", "7", "permodalan", "modal", "capital", "capital access"),
}


def _check_header(header: dict[str, int], line: int) -> list[str]:
    if "owner_id" not in header and "phone" not in header:
        return [f"line {line}: the header needs an 'owner_id' or a 'phone' column"]
    return []


def import_records(session: Session, data: bytes | str, by: str, dry_run: bool = False) -> tuple[int, list[str]]:
    """Record P5-P7 from CSV (owner_id or phone, step, date, note): all rows or none."""
    table = read_table(data, COLUMNS, ("step", "date"), _check_header)
    errors = list(table.errors)
    good: list[tuple[int, str, date, str]] = []
    for line, cell in table.rows:
        problems = []
        owner_id = None
        if cell.get("owner_id"):
            if cell["owner_id"].isdecimal() and session.get(Owner, int(cell["owner_id"])) is not None:
                owner_id = int(cell["owner_id"])
            else:
                problems.append(f"owner_id {cell['owner_id']!r} is not a known owner")
        elif cell.get("phone"):
            address = normalise_phone(cell["phone"])
            owner_id = address and session.scalar(select(Owner.id).where(Owner.address == address))
            if not owner_id:
                problems.append(f"phone {cell['phone']!r} is not a known owner")
        else:
            problems.append("give owner_id or phone")
        step = lookup(_STEP_WORDS, cell.get("step", ""))
        if step is None:
            problems.append(f"step {cell.get('step', '')!r}: use p5 (pemasaran), p6 (pelaporan keuangan) or p7 (permodalan)")
        day = parse_date(cell.get("date", ""))
        if day is None:
            problems.append(f"date {cell.get('date', '')!r}: write 2026-10-01 or 01/10/2026")
        elif day > local(utcnow()).date():
            problems.append(f"date {cell['date']!r} is in the future")
        errors.extend(f"line {line}: {p}" for p in problems)
        if not problems:
            good.append((owner_id, step, day, cell.get("note", "")))
    if not good and not errors:
        errors.append(f"line {table.header_line}: the header has no rows below it")
    if errors or dry_run:
        return (0 if errors else len(good)), errors
    for owner_id, step, day, note in good:
        record(session, owner_id, step, day, note, by)
    session.flush()
    return len(good), []
