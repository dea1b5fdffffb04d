"""Routing: the owner's kecamatan and sector first, then the city area, then supervisors."""
from __future__ import annotations

from sqlalchemy import select

from bot.handoff.routing import find_route
from storage.models import Owner, TicketEvent
from storage.models.handoff import CaseOffer, CaseRouting, Mentor
from tests.handoff.conftest import make_owner, only_case, outbox_to, say


def _route(db, address):
    with db.session() as session:
        owner = session.scalars(select(Owner).where(Owner.address == address)).one()
        route = find_route(session, owner)
        return route.level, sorted(m.code for m in route.mentors)


def test_kecamatan_and_sector_win(roster):
    assert _route(roster, make_owner(roster, sector="food")) == ("kecamatan", ["JO-KJ-FOOD"])
    assert _route(roster, make_owner(roster, sector="cosmetics")) == ("kecamatan", ["JO-KJ-COS"])


def test_no_mentor_for_the_sector_in_the_kecamatan_goes_to_the_city_area(roster):
    # Nobody in Kebon Jeruk covers herbal; Agus (Cengkareng, all sectors) is in the same city area.
    assert _route(roster, make_owner(roster, sector="herbal")) == ("city", ["JO-CKR"])


def test_inactive_mentors_are_skipped(roster):
    # Tebet's only mentor is inactive and nobody else covers Jakarta Selatan: the supervisors.
    assert _route(roster, make_owner(roster, city="jakarta-selatan", district="tebet")) == ("supervisor", ["SPV-DKI"])


def test_no_mentor_in_the_city_area_goes_to_the_supervisors_covering_it(roster, content):
    with roster.session() as session:
        session.scalars(select(Mentor).where(Mentor.code == "JO-CKR")).one().active = False
    # SPV-BAR covers Jakarta Barat, SPV-DKI all of Jakarta.
    assert _route(roster, make_owner(roster, sector="herbal")) == ("supervisor", ["SPV-BAR", "SPV-DKI"])


def test_owner_outside_jakarta_goes_to_every_supervisor(roster):
    address = make_owner(roster, city="Kota Bogor", district="Bogor Tengah")
    assert _route(roster, address) == ("supervisor", ["SPV-BAR", "SPV-DKI"])


def test_no_mentor_in_the_area_means_a_supervisor_gets_the_case(roster, content):
    """Acceptance: an owner in Tebet (no active mentor there or in Jakarta Selatan) asks for a
    mentor through the pipeline; the case is offered to the supervisor, who is notified on Telegram."""
    address = make_owner(roster, city="jakarta-selatan", district="tebet")
    replies = say(roster, content, address, "mau bicara dengan pendamping")
    assert replies[0].text == content.t("mentor.opened")
    ticket = only_case(roster)
    with roster.session() as session:
        offered = session.scalars(select(Mentor.code).join(CaseOffer, CaseOffer.mentor_id == Mentor.id)).all()
        assert offered == ["SPV-DKI"]
        assert session.get(CaseRouting, ticket.id).level == "supervisor"
        routed = session.scalars(select(TicketEvent.note).where(TicketEvent.action == "routed")).one()
        assert routed == "supervisor: SPV-DKI"
    to_supervisor = outbox_to(roster, "900000100")
    assert len(to_supervisor) == 1 and to_supervisor[0].channel == "telegram"
    assert f"Kasus #{ticket.id}" in to_supervisor[0].text and "Tebet" in to_supervisor[0].text
    assert to_supervisor[0].options == [f"/ambil {ticket.id}"]
    # The supervisor can take it from the mentor chat.
    taken = say(roster, content, "900000100", f"/ambil {ticket.id}", channel="telegram")
    assert f"Kasus #{ticket.id} sekarang Anda pegang" in taken[0].text


def test_nobody_at_all_leaves_the_case_open_and_logged(db, content):
    address = make_owner(db)
    say(db, content, address, "mau bicara dengan pendamping")
    ticket = only_case(db)
    assert ticket.status == "open"
    with db.session() as session:
        assert session.get(CaseRouting, ticket.id).level == "none"
        note = session.scalars(select(TicketEvent.note).where(TicketEvent.action == "routed")).one()
        assert "no active mentor or supervisor" in note


def test_new_case_at_night_reaches_mentors_when_their_day_starts(roster, content, clock):
    from datetime import datetime, timedelta, timezone

    clock.move_to(datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc))  # 21:30 WIB Monday
    address = make_owner(roster)
    say(roster, content, address, "tolong")
    [message] = outbox_to(roster, "900000001")
    assert message.not_before == datetime(2026, 11, 24, 1, 0, tzinfo=timezone.utc)  # Tuesday 08:00 WIB
    assert message.not_before - datetime(2026, 11, 23, 14, 30, tzinfo=timezone.utc) == timedelta(hours=10, minutes=30)
