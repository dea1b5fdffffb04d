"""The owner's pathway in the database: which steps, in what order, how far along.

A product's pathway is its route's steps (content/legality/products.yaml `routes`), NIB first.
A step may start when every step it `requires` (content/legality/steps.yaml) that is on the same
pathway is done, so halal runs alongside the product permit once the NIB exists, and P-IRT waits
for PKP and the label. "Langkah berikutnya" is the first step that may start (a rejected step
first of all, since it needs fixing), in product order then pathway order.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.clock import local, utcnow
from bot.content import Content
from bot.legality import classify, numbers
from bot.legality import rules as legality_rules
from storage.models import Owner
from storage.models.legality import OWNER_SLOT, LegalityProduct, PathwayStep, TermSeen

# What registration's "izin yang sudah punya" answers mean for the steps (owner.has_permits).
REGISTRATION_PERMITS = {
    "nib": ("nib",),
    "pkp": ("pkp",),
    "pirt": ("pirt",),
    "halal": ("halal_sd", "halal_reg"),
    "bpom": ("md", "notif", "tr"),
}


@dataclass
class NextStep:
    """What "langkah berikutnya" shows. state: "todo" (do `step`), "waiting" (only steps in
    progress remain: `waiting`), "done" (every step is done), "empty" (no pathway yet)."""

    state: str
    step: PathwayStep | None = None
    product: LegalityProduct | None = None
    waiting: list[PathwayStep] = field(default_factory=list)


def today(now: datetime | None = None) -> date:
    return local(now or utcnow()).date()


# --- reading -------------------------------------------------------------------------------------
def products_of(session: Session, owner: Owner) -> list[LegalityProduct]:
    return list(session.scalars(
        select(LegalityProduct).where(LegalityProduct.owner_id == owner.id).order_by(LegalityProduct.id)))


def steps_of(session: Session, owner: Owner) -> list[PathwayStep]:
    return list(session.scalars(
        select(PathwayStep).where(PathwayStep.owner_id == owner.id).order_by(PathwayStep.position, PathwayStep.id)))


def owner_step(session: Session, owner: Owner, step_key: str) -> PathwayStep | None:
    return session.scalars(select(PathwayStep).where(
        PathwayStep.owner_id == owner.id, PathwayStep.slot == OWNER_SLOT, PathwayStep.step == step_key)).first()


def product_pathway(session: Session, product: LegalityProduct, content: Content,
                    rows: list[PathwayStep] | None = None) -> list[PathwayStep]:
    """The product's steps in pathway order: its own rows and the owner-level ones its route uses."""
    rows = rows if rows is not None else list(session.scalars(
        select(PathwayStep).where(PathwayStep.owner_id == product.owner_id)))
    by_key = {row.step: row for row in rows if row.slot == OWNER_SLOT}
    by_key.update({row.step: row for row in rows if row.product_id == product.id})
    wanted = classify.route_steps(content, product.route, product.halal_route)
    return [by_key[key] for key in wanted if key in by_key]


def _requirements_met(row: PathwayStep, pathway: list[PathwayStep], content: Content) -> bool:
    on_path = {r.step: r for r in pathway}
    required = legality_rules.step(content, row.step).get("requires") or []
    return all(on_path[k].status == "selesai" for k in required if k in on_path)


def next_step(session: Session, owner: Owner, content: Content) -> NextStep:
    products = products_of(session, owner)
    rows = steps_of(session, owner)
    if not rows:
        return NextStep("empty")
    pathways: list[tuple[LegalityProduct | None, list[PathwayStep]]] = [
        (p, product_pathway(session, p, content, rows)) for p in products]
    # Owner-level steps reported before any product was classified (e.g. an NIB) form a pathway too.
    loose = [r for r in rows if r.slot == OWNER_SLOT and not any(r in path for _, path in pathways)]
    if loose:
        pathways.insert(0, (None, loose))
    for wanted_status in ("ditolak", "belum"):
        for product, path in pathways:
            for row in path:
                if row.status == wanted_status and _requirements_met(row, path, content):
                    return NextStep("todo", row, product)
    waiting = [r for _, path in pathways for r in path if r.status == "sedang"]
    unique_waiting = list(dict.fromkeys(waiting))
    if unique_waiting:
        return NextStep("waiting", waiting=unique_waiting)
    return NextStep("done")


def legality_done(session: Session, owner: Owner, content: Content) -> bool:
    """True when the owner has a pathway and every step on it is done (marketing may start)."""
    products = products_of(session, owner)
    return bool(products) and next_step(session, owner, content).state == "done"


# --- writing -------------------------------------------------------------------------------------
def add_product(session: Session, owner: Owner, name: str, decision: classify.Decision, content: Content,
                now: datetime | None = None) -> LegalityProduct:
    """Create (or re-classify) an owner's product and the steps its route needs."""
    now = now or utcnow()
    name = " ".join(name.split())[:120] or "-"
    product = session.scalars(select(LegalityProduct).where(
        LegalityProduct.owner_id == owner.id, LegalityProduct.name == name)).first()
    if product is None:
        product = LegalityProduct(owner_id=owner.id, name=name, created_at=now)
        session.add(product)
    product.product_key = decision.product_key
    product.sector = decision.sector
    product.route = decision.route or "outside"
    product.reason = decision.reason
    product.halal_route = decision.halal_route
    product.answers = {k: v for k, v in decision.facts.items()}
    product.updated_at = now
    session.flush()
    ensure_steps(session, owner, product, content, now)
    seed_from_registration(session, owner, content, now)
    return product


def ensure_steps(session: Session, owner: Owner, product: LegalityProduct, content: Content,
                 now: datetime | None = None) -> None:
    now = now or utcnow()
    wanted = classify.route_steps(content, product.route, product.halal_route)
    existing = {(r.slot, r.step): r for r in session.scalars(
        select(PathwayStep).where(PathwayStep.owner_id == owner.id))}
    # A product classified again may take another route: its untouched steps of the old route go.
    for (slot, key), row in list(existing.items()):
        if slot == str(product.id) and key not in wanted and row.status == "belum":
            session.delete(row)
            del existing[(slot, key)]
    for position, key in enumerate(wanted, start=1):
        data = legality_rules.step(content, key)
        owner_level = data.get("scope") == "owner"
        slot = OWNER_SLOT if owner_level else str(product.id)
        if (slot, key) in existing:
            continue
        row = PathwayStep(owner_id=owner.id, product_id=None if owner_level else product.id, slot=slot,
                          step=key, permit_kind=data.get("permit_kind"), position=position * 10,
                          status="belum", source="pathway", created_at=now, updated_at=now)
        session.add(row)
        existing[(slot, key)] = row
    session.flush()


def ensure_owner_step(session: Session, owner: Owner, step_key: str, content: Content,
                      now: datetime | None = None) -> PathwayStep:
    row = owner_step(session, owner, step_key)
    if row is None:
        now = now or utcnow()
        data = legality_rules.step(content, step_key)
        row = PathwayStep(owner_id=owner.id, product_id=None, slot=OWNER_SLOT, step=step_key,
                          permit_kind=data.get("permit_kind"), position=10 if step_key == "nib" else 20,
                          status="belum", source="pathway", created_at=now, updated_at=now)
        session.add(row)
        session.flush()
    return row


def seed_from_registration(session: Session, owner: Owner, content: Content, now: datetime | None = None) -> int:
    """Mark steps done that the owner said at registration they already have. Returns how many."""
    now = now or utcnow()
    wanted_steps = {step for permit in (owner.has_permits or []) for step in REGISTRATION_PERMITS.get(permit, ())}
    changed = 0
    for row in steps_of(session, owner):
        if row.step in wanted_steps and row.status == "belum":
            row.status = "selesai"
            row.source = "registration"
            row.completed_at = now
            row.updated_at = now
            changed += 1
    return changed


def set_status(row: PathwayStep, status: str, now: datetime | None = None, source: str = "owner",
               session: Session | None = None, content: Content | None = None) -> None:
    """Change a step's status. With `session` and `content`, steps it requires are marked done as
    well: a step being applied for, issued or rejected had its prerequisites met."""
    assert status in legality_rules.STATUSES, status
    if session is not None and content is not None and status != "belum":
        complete_requirements(session, row, content, now)
    now = now or utcnow()
    row.status = status
    row.source = source
    row.updated_at = now
    if status == "sedang" and row.started_at is None:
        row.started_at = now
    if status == "selesai":
        row.completed_at = now


def steps_for_kind(session: Session, owner: Owner, kind: str) -> list[PathwayStep]:
    """The owner's steps that end in this kind of permit; unfinished ones first."""
    rows = [r for r in steps_of(session, owner) if r.permit_kind == kind]
    return sorted(rows, key=lambda r: (r.status == "selesai" and bool(r.number), r.position, r.id))


def record_permit(row: PathwayStep, check: numbers.NumberCheck, content: Content, issued_on: date | None = None,
                  now: datetime | None = None, source: str = "owner", session: Session | None = None) -> PathwayStep:
    """The owner has the permit: the step is done, with its number, issue date and computed expiry.
    Steps it required are done too: a P-IRT is never issued without PKP and a label."""
    now = now or utcnow()
    issued = issued_on or today(now)
    set_status(row, "selesai", now, source, session, content)
    row.number = check.canonical or row.number
    row.issued_on = issued
    row.expires_on = numbers.expiry_date(row.permit_kind or "", issued, content, check.expiry_year)
    row.rejection_reason = None
    return row


def complete_requirements(session: Session, row: PathwayStep, content: Content, now: datetime | None = None) -> list[PathwayStep]:
    """Mark as done (source "implied") every unfinished step that `row` needs, on any of its pathways."""
    owner_rows = list(session.scalars(select(PathwayStep).where(PathwayStep.owner_id == row.owner_id)))
    products = [p for p in session.scalars(select(LegalityProduct).where(LegalityProduct.owner_id == row.owner_id))
                if row.product_id in (None, p.id)]
    changed: list[PathwayStep] = []
    for product in products:
        path = product_pathway(session, product, content, owner_rows)
        if row not in path:
            continue
        on_path = {r.step: r for r in path}
        todo = list(legality_rules.step(content, row.step).get("requires") or [])
        while todo:
            key = todo.pop()
            required = on_path.get(key)
            if required is None or required.status == "selesai":
                continue
            set_status(required, "selesai", now, source="implied")
            changed.append(required)
            todo.extend(legality_rules.step(content, key).get("requires") or [])
    return changed


def reject(row: PathwayStep, reason: str, now: datetime | None = None, session: Session | None = None,
           content: Content | None = None) -> PathwayStep:
    now = now or utcnow()
    set_status(row, "ditolak", now, "owner", session, content)
    row.rejection_reason = reason.strip()[:2000]
    return row


def expiring_steps(session: Session, until: date, since: date | None = None) -> list[PathwayStep]:
    """Done steps whose permit expires on or before `until` (for renewal reminders)."""
    query = select(PathwayStep).where(PathwayStep.status == "selesai", PathwayStep.expires_on.is_not(None),
                                      PathwayStep.expires_on <= until)
    if since is not None:
        query = query.where(PathwayStep.expires_on >= since)
    return list(session.scalars(query.order_by(PathwayStep.expires_on, PathwayStep.id)))


# --- technical words already explained -----------------------------------------------------------
def terms_seen(session: Session, owner: Owner) -> set[str]:
    return set(session.scalars(select(TermSeen.term).where(TermSeen.owner_id == owner.id)))


def mark_terms_seen(session: Session, owner: Owner, terms: list[str], now: datetime | None = None) -> None:
    already = terms_seen(session, owner)
    for term in terms:
        if term not in already:
            session.add(TermSeen(owner_id=owner.id, term=term[:32], seen_at=now or utcnow()))
            already.add(term)
    session.flush()
