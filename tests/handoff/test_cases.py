"""Opening cases: one per owner and topic, routed at once, carrying what a mentor needs."""
from __future__ import annotations

from sqlalchemy import func, select

from bot import cases
from bot.cases import case_context, open_case, request_mentor
from bot.messages import Inbound
from bot.turn import Turn
from storage.models import ConversationState, Owner, Ticket, TicketEvent
from storage.models.handoff import CaseOffer
from tests.handoff.conftest import make_owner, mentor_says, only_case, outbox_to, say


def _owner(session, address) -> Owner:
    return session.scalars(select(Owner).where(Owner.address == address)).one()


def test_one_owner_one_case_a_repeat_and_another_topic_join_the_open_case(roster, content):
    address = make_owner(roster)
    with roster.session() as session:
        owner = _owner(session, address)
        first, created = open_case(session, owner, "permit_rejected:pirt", "P-IRT ditolak: label", priority=2,
                                   content=content)
        again, created_again = open_case(session, owner, "permit_rejected:pirt", "P-IRT ditolak lagi", priority=1,
                                         content=content)
        other, created_other = open_case(session, owner, "gmp_critical", "Tidak ada tempat cuci tangan",
                                         priority=1, content=content)
        assert created and not created_again and not created_other
        assert again.id == first.id == other.id and first.priority == 1  # the repeat raised the urgency
    with roster.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1
        ticket = session.get(Ticket, first.id)
        actions = session.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == first.id)
                                  .order_by(TicketEvent.id)).all()
        assert actions == ["opened", "routed", "repeated", "topic_added"]
        assert [a["topic"] for a in ticket.context["also"]] == ["gmp_critical"]
        # Routed once: neither the repeat nor the new topic notifies the mentors again.
        assert session.scalar(select(func.count()).select_from(CaseOffer).where(CaseOffer.ticket_id == first.id)) == 1
    new_case_messages = [m for m in outbox_to(roster, "900000001") if "🆕" in m.text]
    assert len(new_case_messages) == 1 and "Izin ditolak" in new_case_messages[0].text


def test_a_case_carries_reason_priority_profile_last_messages_and_pathway(roster, content, monkeypatch):
    monkeypatch.setattr(cases, "CONTEXT_PROVIDERS", [])
    case_context(lambda session, owner: {"pathway": {"NIB": "selesai", "P-IRT": "ditolak"}})
    address = make_owner(roster)
    say(roster, content, address, "halo")
    say(roster, content, address, "mau bicara dengan pendamping")
    ticket = only_case(roster)
    assert ticket.reason == "mau bicara dengan pendamping" and ticket.priority == 2
    assert ticket.context["owner"]["district"] == "kebon-jeruk" and ticket.context["owner"]["has_permits"] == ["nib"]
    assert [m["text"] for m in ticket.context["last_messages"]][:1] == ["halo"]
    assert ticket.context["pathway"] == {"NIB": "selesai", "P-IRT": "ditolak"}
    card = mentor_says(roster, content, "900000001", f"/lihat {ticket.id}")[0].text
    assert "P-IRT: ditolak" in card and "Pemilik: halo" in card


def test_a_failing_context_provider_does_not_stop_the_case(roster, content, monkeypatch):
    monkeypatch.setattr(cases, "CONTEXT_PROVIDERS", [])

    @case_context
    def broken(session, owner):
        raise RuntimeError("pathway service down")

    address = make_owner(roster)
    say(roster, content, address, "tolong")
    assert only_case(roster).status == "open"


def test_request_mentor_tells_the_owner_once_per_case(roster, content):
    address = make_owner(roster)
    with roster.session() as session:
        owner = _owner(session, address)
        state = ConversationState(owner=owner, data={}, history=[], misses=0)
        session.add(state)
        turn = Turn(session, owner, state, Inbound(channel="whatsapp", address=address, text="x"), content)
        request_mentor(turn, "gmp_critical", "Hewan peliharaan di ruang produksi", priority=1)
        request_mentor(turn, "gmp_critical", "Hewan peliharaan di ruang produksi", priority=1)
        assert [r.text for r in turn.replies] == [content.t("handoff.opened_by_bot"),
                                                  content.t("handoff.added_to_case")]
    assert only_case(roster).topic == "gmp_critical"


def test_owner_deleting_their_data_removes_the_case_from_the_mentor_too(roster, content):
    address = make_owner(roster)
    say(roster, content, address, "tolong")
    ticket_id = only_case(roster).id
    mentor_says(roster, content, "900000001", f"/ambil {ticket_id}")
    say(roster, content, address, "hapus data")
    say(roster, content, address, "1")
    with roster.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 0
    assert mentor_says(roster, content, "900000001", "halo bu")[0].text == content.t("handoff.mentor_no_current")
