"""The mentor chat through the real pipeline entry: commands, relay both ways, transfer, closing."""
from __future__ import annotations

from sqlalchemy import func, select

from bot.messages import Media
from storage.models import ConversationState, Owner, OutboxMessage, Ticket, TicketEvent
from tests.handoff.conftest import make_owner, mentor_says, only_case, outbox_to, say

BUDI, SRI, AGUS, SPV = "900000001", "900000002", "900000003", "900000101"


def _taken_case(db, content, owner: str | None = None) -> tuple[str, int]:
    owner = owner or make_owner(db)
    say(db, content, owner, "mau bicara dengan pendamping")
    ticket_id = only_case(db).id
    mentor_says(db, content, BUDI, f"/ambil {ticket_id}")
    return owner, ticket_id


def test_mentor_messages_never_create_an_owner_and_unknown_chats_stay_owners(roster, content):
    replies = mentor_says(roster, content, BUDI, "/bantuan")
    assert "/ambil 12" in replies[0].text
    assert "Perintah /foo tidak dikenal" in mentor_says(roster, content, BUDI, "/foo")[0].text
    with roster.session() as session:
        assert session.scalar(select(func.count()).select_from(Owner)) == 0
    # A Telegram chat that is not in the roster is an owner like any other.
    say(roster, content, "123456", "halo", channel="telegram")
    with roster.session() as session:
        assert session.scalar(select(func.count()).select_from(Owner)) == 1


def test_plain_text_without_a_current_case_is_not_sent_anywhere(roster, content):
    replies = mentor_says(roster, content, BUDI, "halo semua")
    assert replies[0].text == content.t("handoff.mentor_no_current")
    with roster.session() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage).where(OutboxMessage.owner_id.is_not(None))) == 0


def test_reply_needs_the_case_to_be_taken_first(roster, content):
    owner = make_owner(roster)
    say(roster, content, owner, "tolong")
    ticket_id = only_case(roster).id
    replies = mentor_says(roster, content, BUDI, f"/balas #{ticket_id} halo bu")
    assert replies[0].text == content.t("handoff.take_first", case_id=ticket_id)
    assert not any("halo bu" in m.text for m in outbox_to(roster, owner))


def test_a_bare_number_that_is_not_my_case_stays_part_of_the_message(roster, content):
    owner, ticket_id = _taken_case(roster, content)
    mentor_says(roster, content, BUDI, "2 kg gula cukup untuk satu adonan")
    assert outbox_to(roster, owner)[-1].text == "Budi (pendamping): 2 kg gula cukup untuk satu adonan"
    mentor_says(roster, content, BUDI, f"/balas {ticket_id} baik bu")
    assert outbox_to(roster, owner)[-1].text == "Budi (pendamping): baik bu"


def test_owner_photo_while_a_mentor_holds_the_case_goes_to_the_mentor(roster, content):
    owner, ticket_id = _taken_case(roster, content)
    replies = say(roster, content, owner, "", media=[Media(kind="image", url="https://media.example.test/label.jpg")])
    assert replies == []
    relayed = outbox_to(roster, BUDI)[-1].text
    assert relayed.startswith(f"💬 #{ticket_id} Sari:") and "[foto] https://media.example.test/label.jpg" in relayed
    with roster.session() as session:
        assert session.scalar(select(func.count()).select_from(Ticket)) == 1  # no extra "media" case


def test_transfer_hands_the_case_over_and_tells_everyone(roster, content):
    owner, ticket_id = _taken_case(roster, content)
    replies = mentor_says(roster, content, BUDI, f"/pindah {ticket_id} JO-CKR tolong kunjungi dapurnya")
    assert replies[0].text == content.t("handoff.mentor_transferred", case_id=ticket_id, name="Agus Pratama",
                                        code="JO-CKR")
    to_agus = outbox_to(roster, AGUS)[-1]
    assert "Budi memindahkan kasus" in to_agus.text and "tolong kunjungi dapurnya" in to_agus.text
    assert outbox_to(roster, owner)[-1].text == content.t("handoff.owner_transferred", mentor="Agus")
    # Budi no longer holds it; Agus does, and his plain messages reach the owner after /lihat.
    assert "dipegang pendamping lain" in mentor_says(roster, content, BUDI, f"/balas {ticket_id} halo")[0].text
    mentor_says(roster, content, AGUS, f"/lihat {ticket_id}")
    mentor_says(roster, content, AGUS, "Besok saya datang jam 10 ya Bu")
    assert outbox_to(roster, owner)[-1].text == "Agus (pendamping): Besok saya datang jam 10 ya Bu"
    # The owner's answer now goes to Agus.
    say(roster, content, owner, "baik pak")
    assert outbox_to(roster, AGUS)[-1].text == f"💬 #{ticket_id} Sari: baik pak"
    with roster.session() as session:
        event = session.scalars(select(TicketEvent).where(TicketEvent.action == "transferred")).one()
        assert event.note == "JO-CKR: tolong kunjungi dapurnya" and event.actor.startswith("mentor:")


def test_transfer_to_an_unknown_or_inactive_mentor_is_refused(roster, content):
    _owner, ticket_id = _taken_case(roster, content)
    assert mentor_says(roster, content, BUDI, f"/pindah {ticket_id} JO-OFF")[0].text == content.t("handoff.transfer_unknown")
    assert mentor_says(roster, content, BUDI, f"/pindah {ticket_id} NOPE")[0].text == content.t("handoff.transfer_unknown")
    assert only_case(roster).status == "taken"


def test_resolve_needs_a_note_and_only_the_holder_or_a_supervisor_may_resolve(roster, content):
    owner, ticket_id = _taken_case(roster, content)
    assert mentor_says(roster, content, BUDI, "/selesai")[0].text == content.t("handoff.resolve_needs_note",
                                                                               case_id=ticket_id)
    assert "tidak ditujukan" in mentor_says(roster, content, SRI, f"/selesai #{ticket_id} beres")[0].text
    replies = mentor_says(roster, content, SPV, f"/selesai {ticket_id} Sudah ditangani koordinator")
    assert replies[0].text == content.t("handoff.mentor_resolved", case_id=ticket_id)
    ticket = only_case(roster)
    assert ticket.status == "resolved" and ticket.resolution_note == "Sudah ditangani koordinator"
    with roster.session() as session:
        state = session.get(ConversationState, session.scalars(select(Owner.id).where(Owner.address == owner)).one())
        assert (state.flow, state.step) == ("mentor", "rate")
    assert mentor_says(roster, content, BUDI, f"/ambil {ticket_id}")[0].text == content.t("handoff.case_closed",
                                                                                          case_id=ticket_id)


def test_owner_may_skip_the_comment_and_a_non_answer_keeps_the_question(roster, content):
    owner, ticket_id = _taken_case(roster, content)
    mentor_says(roster, content, BUDI, f"/selesai {ticket_id} beres")
    replies = say(roster, content, owner, "apa itu PKP?")
    assert replies[-1].text.endswith(content.t("handoff.rate_ask"))  # re-asked after the side question
    assert say(roster, content, owner, "4")[0].text == content.t("handoff.rate_thanks_ask_comment")
    assert say(roster, content, owner, "tidak ada")[0].text == content.t("handoff.rate_done")
    ticket = only_case(roster)
    assert ticket.rating == 4 and ticket.rating_comment is None


def test_redelivered_mentor_message_is_relayed_once(roster, content):
    owner, _ticket_id = _taken_case(roster, content)
    before = len(outbox_to(roster, owner))
    mentor_says(roster, content, BUDI, "Halo Bu", message_id="tg-77")
    assert mentor_says(roster, content, BUDI, "Halo Bu", message_id="tg-77") == []
    assert len(outbox_to(roster, owner)) == before + 1


def test_complaint_opens_an_urgent_complaint_case(roster, content):
    owner = make_owner(roster)
    replies = say(roster, content, owner, "saya mau komplain, pesanan label tidak jadi jadi")
    assert replies[0].text == content.t("handoff.complaint_opened")
    ticket = only_case(roster)
    assert (ticket.topic, ticket.priority) == ("complaint", 1)
    assert "Keluhan" in outbox_to(roster, BUDI)[-1].text


def test_case_list_shows_waiting_and_held_cases(roster, content):
    first_owner, first = _taken_case(roster, content)
    second_owner = make_owner(roster, name="Rina Wati")
    say(roster, content, second_owner, "tolong")
    replies = mentor_says(roster, content, BUDI, "/kasus")
    text = replies[0].text
    assert "Menunggu diambil" in text and "Rina Wati" in text
    assert "Kasus yang Anda pegang" in text and f"#{first}" in text
    assert replies[0].options == [f"/ambil {first + 1}"]
    # Sri (cosmetics) was offered neither case.
    assert mentor_says(roster, content, SRI, "/kasus")[0].text == content.t("handoff.mentor_list_empty")
