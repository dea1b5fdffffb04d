"""Owners as staff and mentors look them up: search, filters, the legality stage, the profile.

The stage is where the owner stands on the programme's legality funnel:
unregistered -> registered -> nib -> product_permit -> halal. An owner counts at a stage only
with every earlier one done (halal without a product permit still reads "nib"), so the funnel
never widens.

An owner holds a permit when they said so at registration (`owners.has_permits`) or when a step
of their legality pathway that ends in that kind of permit is done (`legality_steps`, status
"selesai": the owner reported the number, or a mentor marked it). The product permit is P-IRT or
a BPOM distribution permit (MD for food, notification NA for cosmetics, TR for herbal medicine).

Owners who only exist because staff tried the web chat (channel "web") are demo owners: listed,
marked, and left out of the indicators.
"""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Text, and_, cast, func, not_, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Owner
from storage.models.legality import PathwayStep

STAGES = ("unregistered", "registered", "nib", "product_permit", "halal")
FUNNEL = ("registered", "nib", "product_permit", "halal")
PERMIT_TYPES = ("nib", "pkp", "pirt", "bpom", "halal")
PRODUCT_PERMITS = ("pirt", "bpom")
# A permit as the registration question names it -> the pathway's permit kinds that count as it.
PATHWAY_KINDS = {"nib": ("nib",), "pkp": ("pkp",), "pirt": ("pirt",), "bpom": ("md", "notif", "tr"),
                 "halal": ("halal",)}
DONE = "selesai"
SECTORS = ("food", "cosmetics", "herbal", "other")
DEMO_CHANNEL = "web"
PAGE_SIZE = 50


def said_at_registration(permit: str) -> ColumnElement[bool]:
    """Owners whose registration answer holds `permit` (a JSON text search: the same on SQLite and
    PostgreSQL)."""
    return cast(Owner.has_permits, Text).like(f'%"{permit}"%')


def has_pathway_permit(kinds: tuple[str, ...]) -> ColumnElement[bool]:
    done = select(PathwayStep.owner_id).where(PathwayStep.permit_kind.in_(kinds), PathwayStep.status == DONE)
    return Owner.id.in_(done)


def has_permit(permit: str) -> ColumnElement[bool]:
    """Owners holding `permit` (nib, pkp, pirt, bpom, halal), by their own answer or their pathway."""
    return or_(said_at_registration(permit), has_pathway_permit(PATHWAY_KINDS[permit]))


def reached(stage: str) -> ColumnElement[bool]:
    """Owners at `stage` or further along the funnel."""
    registered = Owner.registered_at.is_not(None)
    nib = and_(registered, has_permit("nib"))
    product = and_(nib, or_(*(has_permit(p) for p in PRODUCT_PERMITS)))
    return {
        "unregistered": Owner.id.is_not(None),
        "registered": registered,
        "nib": nib,
        "product_permit": product,
        "halal": and_(product, has_permit("halal")),
    }[stage]


def at_stage(stage: str) -> ColumnElement[bool]:
    index = STAGES.index(stage)
    if index + 1 == len(STAGES):
        return reached(stage)
    return and_(reached(stage), not_(reached(STAGES[index + 1])))


def permits_held(owner: Owner, done_kinds: set[str]) -> set[str]:
    """The permits (PERMIT_TYPES) an owner holds, from registration and the done pathway kinds."""
    held = set(owner.has_permits or []) & set(PERMIT_TYPES)
    held |= {permit for permit, kinds in PATHWAY_KINDS.items() if done_kinds & set(kinds)}
    return held


def done_kinds_of(session, owner_ids: list[int]) -> dict[int, set[str]]:
    out: dict[int, set[str]] = {owner_id: set() for owner_id in owner_ids}
    if owner_ids:
        for owner_id, kind in session.execute(
                select(PathwayStep.owner_id, PathwayStep.permit_kind)
                .where(PathwayStep.owner_id.in_(owner_ids), PathwayStep.status == DONE,
                       PathwayStep.permit_kind.is_not(None))):
            out[owner_id].add(kind)
    return out


def stage_of(owner: Owner, permits: set[str] | None = None) -> str:
    permits = set(owner.has_permits or []) if permits is None else permits
    if owner.registered_at is None:
        return "unregistered"
    if "nib" not in permits:
        return "registered"
    if not permits & set(PRODUCT_PERMITS):
        return "nib"
    return "halal" if "halal" in permits else "product_permit"


def real_owners() -> ColumnElement[bool]:
    """Everyone but the web chat's demo owners."""
    return Owner.channel != DEMO_CHANNEL


@dataclass
class OwnerFilter:
    q: str = ""
    area: str = ""
    district: str = ""
    sector: str = ""
    stage: str = ""
    page: int = 1

    @classmethod
    def from_params(cls, params) -> "OwnerFilter":
        try:
            page = max(1, int(params.get("page") or 1))
        except ValueError:
            page = 1
        stage = params.get("stage") or ""
        sector = params.get("sector") or ""
        return cls(q=(params.get("q") or "").strip()[:80], area=(params.get("area") or "").strip()[:64],
                   district=(params.get("district") or "").strip()[:64],
                   sector=sector if sector in SECTORS else "", stage=stage if stage in STAGES else "", page=page)

    def conditions(self) -> list[ColumnElement[bool]]:
        out: list[ColumnElement[bool]] = []
        if self.q:
            like = f"%{self.q.lower()}%"
            out.append(or_(func.lower(Owner.name).like(like), func.lower(Owner.business_name).like(like),
                           func.lower(cast(Owner.products, Text)).like(like), Owner.address.like(f"%{self.q}%")))
        if self.area:
            out.append(Owner.city == self.area)
        if self.district:
            out.append(Owner.district == self.district)
        if self.sector:
            out.append(Owner.sector == self.sector)
        if self.stage:
            out.append(at_stage(self.stage))
        return out


def search(session: Session, flt: OwnerFilter, visible: ColumnElement[bool] | None) -> tuple[list[Owner], int]:
    """One page of owners matching the filter and visible to the viewer, newest first; and the total."""
    where = flt.conditions() + ([visible] if visible is not None else [])
    total = session.scalar(select(func.count(Owner.id)).where(*where)) or 0
    rows = session.scalars(
        select(Owner).where(*where).order_by(Owner.registered_at.desc().nulls_last(), Owner.id.desc())
        .offset((flt.page - 1) * PAGE_SIZE).limit(PAGE_SIZE)
    ).all()
    return list(rows), total
