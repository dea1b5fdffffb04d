"""The pathway in the database, on SQLite and PostgreSQL: order, dependencies, reports, expiry."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from bot.clock import utcnow
from bot.legality import classify, numbers, pathway
from storage.models import Owner
from storage.models.legality import LegalityProduct, PathwayStep, TermSeen


def make_owner(session, **fields) -> Owner:
    owner = Owner(channel="whatsapp", address=fields.pop("address", "+628111"), lang="id", products=[],
                  consent_at=utcnow(), registered_at=utcnow(), **fields)
    session.add(owner)
    session.flush()
    return owner


def add(session, owner, content, text, answers):
    decision, _ = classify.classify_text(text, content)
    while decision.status == "ask":
        decision = classify.answer(content, decision, answers[decision.question])
    return pathway.add_product(session, owner, text, decision, content)


def statuses(session, owner):
    return {(r.slot if r.slot == "owner" else "p", r.step): r.status for r in pathway.steps_of(session, owner)}


def test_steps_are_ordered_with_nib_first_and_shared_by_products(db, content, clock):
    with db.session() as session:
        owner = make_owner(session)
        keripik = add(session, owner, content, "keripik", {"home_tools": True})
        add(session, owner, content, "abon", {"home_tools": True, "halal_ingredients": True})
        rows = pathway.product_pathway(session, keripik, content)
        assert [r.step for r in rows] == ["nib", "pkp", "label", "pirt", "halal_sd", "merek"]
        steps = pathway.steps_of(session, owner)
        assert sum(1 for r in steps if r.step == "nib") == 1  # one NIB for the whole business
        assert sum(1 for r in steps if r.step == "pirt") == 2  # one P-IRT per food type


def test_registration_permits_seed_the_step_statuses(db, content, clock):
    with db.session() as session:
        owner = make_owner(session, has_permits=["nib", "pkp"])
        add(session, owner, content, "keripik", {"home_tools": True})
        seeded = statuses(session, owner)
        assert seeded[("owner", "nib")] == "selesai" and seeded[("owner", "pkp")] == "selesai"
        assert seeded[("p", "pirt")] == "belum"


def test_next_step_waits_for_requirements_and_halal_runs_alongside(db, content, clock):
    with db.session() as session:
        owner = make_owner(session)
        add(session, owner, content, "keripik", {"home_tools": True})
        assert pathway.next_step(session, owner, content).step.step == "nib"
        rows = {r.step: r for r in pathway.steps_of(session, owner)}
        pathway.set_status(rows["nib"], "selesai")
        assert pathway.next_step(session, owner, content).step.step == "pkp"
        pathway.set_status(rows["pkp"], "sedang")
        pathway.set_status(rows["label"], "sedang")
        # P-IRT still waits for PKP and the label; halal only needs the NIB.
        assert pathway.next_step(session, owner, content).step.step == "halal_sd"
        pathway.set_status(rows["halal_sd"], "sedang")
        # The trademark (JakPreneur P4) only needs the NIB too, and comes after halal.
        assert pathway.next_step(session, owner, content).step.step == "merek"
        pathway.set_status(rows["merek"], "sedang")
        waiting = pathway.next_step(session, owner, content)
        assert waiting.state == "waiting" and {r.step for r in waiting.waiting} == {"pkp", "label", "halal_sd", "merek"}


def test_a_rejected_step_comes_first(db, content, clock):
    with db.session() as session:
        owner = make_owner(session, has_permits=["nib"])
        add(session, owner, content, "keripik", {"home_tools": True})
        pirt = next(r for r in pathway.steps_of(session, owner) if r.step == "pirt")
        pathway.reject(pirt, "label kurang tanggal kedaluwarsa", session=session, content=content)
        nxt = pathway.next_step(session, owner, content)
        assert (nxt.step.step, nxt.step.rejection_reason) == ("pirt", "label kurang tanggal kedaluwarsa")
        # It was applied for, so PKP and the label were done.
        assert statuses(session, owner)[("owner", "pkp")] == "selesai"


def test_recording_a_pirt_sets_number_dates_and_implied_steps(db, content, clock):
    with db.session() as session:
        owner = make_owner(session, has_permits=["nib"])
        add(session, owner, content, "keripik", {"home_tools": True})
        pirt = pathway.steps_for_kind(session, owner, "pirt")[0]
        check = numbers.check_number("pirt", "206327101012331", content, today=date(2026, 11, 23))
        pathway.record_permit(pirt, check, content, session=session)
    with db.session() as session:
        row = session.scalars(select(PathwayStep).where(PathwayStep.step == "pirt")).one()
        assert (row.status, row.permit_kind, row.number) == ("selesai", "pirt", "206327101012331")
        assert (row.issued_on, row.expires_on) == (date(2026, 11, 23), date(2031, 11, 23))
        owner = session.get(Owner, row.owner_id)
        assert statuses(session, owner)[("owner", "pkp")] == "selesai"
        assert pathway.next_step(session, owner, content).step.step == "halal_sd"


def test_expiring_permits_are_found_by_date_for_reminders(db, content, clock):
    with db.session() as session:
        owner = make_owner(session)
        add(session, owner, content, "lulur", {"maklon": False})
        notif = pathway.steps_for_kind(session, owner, "notif")[0]
        check = numbers.check_number("notif", "NA18230100123", content)
        pathway.record_permit(notif, check, content, issued_on=date(2024, 1, 10), session=session)
    with db.session() as session:
        assert [r.expires_on for r in pathway.expiring_steps(session, until=date(2027, 6, 30))] == [date(2027, 1, 10)]
        assert pathway.expiring_steps(session, until=date(2026, 12, 31)) == []


def test_all_done_means_marketing_may_start(db, content, clock):
    with db.session() as session:
        owner = make_owner(session)
        add(session, owner, content, "lulur", {"maklon": False})
        assert not pathway.legality_done(session, owner, content)
        for row in pathway.steps_of(session, owner):
            pathway.set_status(row, "selesai")
        assert pathway.legality_done(session, owner, content)


def test_deleting_an_owner_deletes_their_pathway(db, content, clock):
    with db.session() as session:
        owner = make_owner(session)
        add(session, owner, content, "keripik", {"home_tools": True})
        pathway.mark_terms_seen(session, owner, ["pkp"])
        owner_id = owner.id
    with db.session() as session:
        session.delete(session.get(Owner, owner_id))
    with db.session() as session:
        for model in (LegalityProduct, PathwayStep, TermSeen):
            assert session.scalars(select(model)).all() == []


def test_classifying_a_product_again_drops_untouched_steps_of_its_old_route(db, content, clock):
    with db.session() as session:
        owner = make_owner(session)
        add(session, owner, content, "keripik", {"home_tools": True})
        add(session, owner, content, "keripik", {"home_tools": False})  # made with machines after all
        product_steps = {r.step for r in pathway.steps_of(session, owner) if r.slot != "owner"}
        assert product_steps == {"label", "uji_lab", "md", "halal_reg", "merek"}
