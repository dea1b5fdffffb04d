"""The owner's pathway in the database: which steps, in what order, how far along.

A product's pathway is its route's steps (content/legality/products.yaml `routes`), NIB first.
A step may start when every step it `requires` (content/legality/steps.yaml) that is on the same
pathway is done, so halal runs alongside the product permit once the NIB exists, and P-IRT waits
for PKP and the label. "Langkah berikutnya" is the first step that may start (a rejected step
first of all, since it needs fixing), in product order then pathway order.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import reminders, turn_batch
from bot.clock import local, utcnow
from bot.content import Content, content_check
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
# The name of the legality pathway for the stalled-step reminder (one per owner, all products).
REMINDER_PATHWAY = "legality"


@dataclass
class NextStep:
    """What "langkah berikutnya" shows. state: "todo" (do `step`), "expired" (renew `step`:
    its permit has ended), "waiting" (only steps in
    progress remain: `waiting`), "undecided" (some product's route is not known yet, so nothing can
    be called finished), "no_products" (the owner-level steps are done but no product is on the
    pathway yet), "done" (every product has its route and every step, halal included, is
    done), "empty" (no pathway yet)."""

    state: str
    step: PathwayStep | None = None
    product: LegalityProduct | None = None
    waiting: list[PathwayStep] = field(default_factory=list)
    # Products whose route is not decided yet ("undecided" state): registered but never classified
    # (`unclassified`, the bot can ask), or classified outside what the bot decides (a mentor decides).
    unclassified: list[str] = field(default_factory=list)
    outside: list[str] = field(default_factory=list)


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


def _same_name(name: str) -> str:
    return " ".join((name or "").split()).lower()


def unclassified_products(session: Session, owner: Owner, products: list[LegalityProduct] | None = None) -> list[str]:
    """Products the owner registered that have no route yet (never classified)."""
    products = products if products is not None else products_of(session, owner)
    known = {_same_name(p.name) for p in products}
    names = [" ".join(n.split())[:120] for n in (owner.products or []) if n and n.strip()]
    return list(dict.fromkeys(n for n in names if _same_name(n) not in known))


def next_step(session: Session, owner: Owner, content: Content) -> NextStep:
    products = products_of(session, owner)
    rows = steps_of(session, owner)
    if not rows:
        return NextStep("empty")
    unclassified = unclassified_products(session, owner, products)
    outside = [p.name for p in products if not p.route or p.route == "outside" or _halal_open(p, content)]
    pathways: list[tuple[LegalityProduct | None, list[PathwayStep]]] = [
        (p, product_pathway(session, p, content, rows)) for p in products]
    # Owner-level steps reported before any product was classified (e.g. an NIB) form a pathway too.
    loose = [r for r in rows if r.slot == OWNER_SLOT and not any(r in path for _, path in pathways)]
    if loose:
        pathways.insert(0, (None, loose))
    on = today()
    for wanted_status in ("ditolak", "expired", "belum"):
        for product, path in pathways:
            for row in path:
                if wanted_status == "expired":
                    if is_expired(row, on):
                        return NextStep("expired", row, product)
                elif row.status == wanted_status and _requirements_met(row, path, content):
                    return NextStep("todo", row, product)
    waiting = [r for _, path in pathways for r in path if r.status == "sedang"]
    unique_waiting = list(dict.fromkeys(waiting))
    if unclassified or outside:
        # An NIB alone is not "every permit": a product without a route still has its steps ahead.
        return NextStep("undecided", waiting=unique_waiting, unclassified=unclassified, outside=outside)
    if unique_waiting:
        return NextStep("waiting", waiting=unique_waiting)
    if not products:
        # Only owner-level steps (an NIB reported before any product): the product's permit is
        # still ahead, never "every permit is done".
        return NextStep("no_products")
    return NextStep("done")


def is_expired(row: PathwayStep, on: date | None = None) -> bool:
    """A permit on record whose validity has ended (e.g. a P-IRT number whose expiry year has passed)."""
    return row.status == "selesai" and row.expires_on is not None and row.expires_on < (on or today())


def _halal_open(product: LegalityProduct, content: Content) -> bool:
    """The route has a halal step but the product's halal route was never decided."""
    routes = legality_rules.products(content).get("routes") or {}
    steps = (routes.get(product.route) or {}).get("steps") or []
    return classify.HALAL in steps and not product.halal_route


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
    _seed(session, owner, now)
    # A new (or re-classified) pathway starts the stalled-step clock; one already done ends it.
    sync_reminders(session, content, owner.id, now, moved=True)
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
    changed = _seed(session, owner, now)
    if changed:
        sync_reminders(session, content, owner.id, now, moved=True)
    return len(changed)


def _seed(session: Session, owner: Owner, now: datetime) -> list[PathwayStep]:
    wanted_steps = {step for permit in (owner.has_permits or []) for step in REGISTRATION_PERMITS.get(permit, ())}
    changed = []
    for row in steps_of(session, owner):
        if row.step in wanted_steps and row.status == "belum":
            row.status = "selesai"
            row.source = "registration"
            row.completed_at = now
            row.updated_at = now
            changed.append(row)
    return changed


def set_status(row: PathwayStep, status: str, now: datetime | None = None, source: str = "owner",
               session: Session | None = None, content: Content | None = None) -> None:
    """Change a step's status: the one place an owner's report changes the pathway.

    With `session` and `content` (as the flow always calls it), steps it requires are marked done
    as well (a step being applied for, issued or rejected had its prerequisites met), and the
    reminders follow (`sync_reminders`). Without them only the row changes."""
    assert status in legality_rules.STATUSES, status
    implied: list[PathwayStep] = []
    if session is not None and content is not None and status != "belum":
        implied = complete_requirements(session, row, content, now)
    now = now or utcnow()
    moved = row.status != status or bool(implied)
    row.status = status
    row.source = source
    row.updated_at = now
    if status == "sedang" and row.started_at is None:
        row.started_at = now
    if status == "selesai":
        row.completed_at = now
    if session is not None and content is not None:
        sync_reminders(session, content, row.owner_id, now, changed=[row], moved=moved)


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
    if issued_on is None and row.issued_on and check.canonical and check.canonical == row.number:
        issued = row.issued_on  # the same permit reported again: it was not issued again today
    row.number = check.canonical or row.number
    row.issued_on = issued
    row.expires_on = numbers.expiry_date(row.permit_kind or "", issued, content, check.expiry_year)
    row.rejection_reason = None
    # Last, so the renewal reminder set by set_status sees the new expiry.
    set_status(row, "selesai", now, source, session, content)
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


# --- reminders (bot/reminders.py) ---------------------------------------------------------------
def sync_reminders(session: Session, content: Content, owner_id: int, now: datetime | None = None,
                   changed: Sequence[PathwayStep] = (), moved: bool = False) -> None:
    """Bring the owner's reminders in line with the pathway after a change. Idempotent.

    - A changed step that is done with an expiry gets its renewal reminder (P-IRT 6 months,
      cosmetics notification 3 months before: content/gmp/reminders.yaml), named by the step
      (`ref="step:<id>"`), so recording the same permit again changes nothing and a new expiry
      replaces the old reminder. Permits without a renewal rule, and ones already expired when
      recorded (the owner has just been told), get none.
    - While a step remains to be done or waited for, a status that `moved` restarts the
      stalled-step clock (14 days, then at most monthly) for the step the owner is now on.
    - When no step remains, the stalled-step reminder is cancelled.
    """
    now = now or utcnow()
    for row in changed:
        if renewal_reminded(row, content, today(now)):
            if row.id is None:
                session.flush()
            reminders.schedule_permit_renewal(session, content, owner_id, row.permit_kind, row.expires_on,
                                              ref=f"step:{row.id}", now=now)
    owner = session.get(Owner, owner_id)
    current = _stalled_candidate(session, owner, content, changed) if owner is not None else None
    if current is None:
        reminders.pathway_finished(session, owner_id, REMINDER_PATHWAY, now)
    elif moved:
        name = legality_rules.step(content, current.step).get("name") or current.step
        label = {lang: str(legality_rules.lang_text(name, lang)).split(" (")[0] for lang in ("id", "en")}
        reminders.note_pathway_progress(session, content, owner_id, REMINDER_PATHWAY, current.step,
                                        step_label=label, at=now)


@content_check
def renewal_rules_agree(content: Content) -> list[str]:
    """The renewal lead time lives in two files (legality steps.yaml `renew_before_months`, shown to
    owners; gmp/reminders.yaml `permit_renewal`, used for the reminder): they must agree, and every
    reminder rule must match a permit with an expiry, or it would never be scheduled."""
    errors: list[str] = []
    matched: set[str] = set()
    for kind, info in legality_rules.permit_kinds(content).items():
        found = reminders.permit_rule(content, kind)
        if found is None:
            continue
        name, rule = found
        matched.add(name)
        if not info.get("validity_years"):
            errors.append(f"gmp/reminders.yaml permit_renewal.{name}: permit kind {kind!r} has no validity_years "
                          "in legality/steps.yaml, so no expiry is known and the reminder is never scheduled")
        elif info.get("renew_before_months") != rule.get("months_before"):
            errors.append(f"renewal lead time for {kind!r}: legality/steps.yaml renew_before_months="
                          f"{info.get('renew_before_months')} but gmp/reminders.yaml permit_renewal.{name}."
                          f"months_before={rule.get('months_before')}")
    for name in (reminders.rules(content).get("permit_renewal") or {}):
        if name not in matched:
            errors.append(f"gmp/reminders.yaml permit_renewal.{name}: no permit_kind in legality/steps.yaml has "
                          "this name or alias, so the reminder is never scheduled")
    return errors


def renewal_reminded(row: PathwayStep, content: Content, on: date) -> bool:
    """Whether a done step gets a renewal reminder: its permit has a renewal rule (P-IRT,
    cosmetics notification) and had not expired on `on`. The flow promises a reminder only then."""
    return bool(row.status == "selesai" and row.expires_on and row.permit_kind and row.expires_on >= on
                and reminders.permit_rule(content, row.permit_kind) is not None)


def _stalled_candidate(session: Session, owner: Owner, content: Content,
                       changed: Sequence[PathwayStep]) -> PathwayStep | None:
    """The step a stalled-step reminder names: one just marked in progress or rejected, else the
    next step to do, else the first one being waited for. None when every step is done."""
    for row in changed:
        if row.status in ("sedang", "ditolak"):
            return row
    nxt = next_step(session, owner, content)
    if nxt.state == "todo":
        return nxt.step
    if nxt.state == "waiting":
        return nxt.waiting[0]
    return None


def expiring_steps(session: Session, until: date, since: date | None = None) -> list[PathwayStep]:
    """Done steps whose permit expires on or before `until` (for renewal reminders)."""
    query = select(PathwayStep).where(PathwayStep.status == "selesai", PathwayStep.expires_on.is_not(None),
                                      PathwayStep.expires_on <= until)
    if since is not None:
        query = query.where(PathwayStep.expires_on >= since)
    return list(session.scalars(query.order_by(PathwayStep.expires_on, PathwayStep.id)))


# --- technical words already explained -----------------------------------------------------------
def terms_seen(session: Session, owner: Owner) -> set[str]:
    batch = turn_batch.facts(session)  # an inbox batch reads them for all its owners at once
    known = batch.terms_seen(session, owner.id) if batch is not None else None
    if known is not None:
        return known
    return set(session.scalars(select(TermSeen.term).where(TermSeen.owner_id == owner.id)))


def mark_terms_seen(session: Session, owner: Owner, terms: list[str], now: datetime | None = None) -> None:
    already = terms_seen(session, owner)
    added = []
    for term in terms:
        if term not in already:
            session.add(TermSeen(owner_id=owner.id, term=term[:32], seen_at=now or utcnow()))
            already.add(term)
            added.append(term)
    batch = turn_batch.facts(session)
    if batch is not None:
        batch.saw_terms(owner.id, added)  # written with the batch's next flush
    else:
        session.flush()
