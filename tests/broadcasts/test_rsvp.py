"""Answering an invitation through the real pipeline: DAFTAR / 1 / the button, the quota, the
waiting list and its promotion, BATAL. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from bot import broadcasts, events
from bot.clock import utcnow
from bot.content import get_content
from bot.messages import Inbound
from bot.pipeline import handle
from storage.models import OutboxMessage
from storage.models.events import EventRegistration
from tests.broadcasts.factories import make_owner, write_queued
from tests.gmp.helpers import sweep_due  # the sweep, then the sender writing its messages


class Chat:
    """One owner talking to the bot, as a WhatsApp webhook would deliver it."""

    def __init__(self, db, content, address):
        self.db, self.content, self.address, self.n = db, content, address, 0

    def say(self, text: str = "", payload: str = "") -> list[str]:
        self.n += 1
        inbound = Inbound(channel="whatsapp", address=self.address, text=text, payload=payload,
                          message_id=f"{self.address}-{self.n}", received_at=utcnow())
        return [r.text for r in handle(inbound, db=self.db, content=self.content)]


@pytest.fixture
def setting(db, content, clock):
    """An event with 2 seats, three owners invited to it (the invitations already sent)."""
    with db.session() as session:
        event = events.create_event(session, content, title="Pelatihan GMP Jakarta Timur", kind="gmp_training",
                                    starts_at=utcnow() + timedelta(days=2), place="Gedung PPKUKM", quota=2)
        owners = [make_owner(session, name=name, lang="id", business_name=f"Dapur {name}", products=["keripik"],
                             in_jakarta=True, has_permits=["nib"]) for name in ("Siti", "Budi", "Ani")]
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template=None, event_id=event.id)
    mark_sent(db)
    clock.shift(timedelta(minutes=5))
    chats = {o.name: Chat(db, content, o.address) for o in owners}
    return event.id, {o.name: o.id for o in owners}, chats, broadcast.id


def mark_sent(db):
    """What the senders do: write each queued recipient's message, and send it."""
    write_queued(db, get_content())
    with db.session() as session:
        session.execute(update(OutboxMessage).where(OutboxMessage.status == "pending")
                        .values(status="sent", sent_at=utcnow()))


def status_of(db, event_id, owner_id):
    with db.session() as session:
        return session.scalar(select(EventRegistration.status).where(
            EventRegistration.event_id == event_id, EventRegistration.owner_id == owner_id))


def test_daftar_1_and_the_button_register_and_confirm(db, content, setting):
    event_id, ids, chats, broadcast_id = setting
    assert "Anda sudah terdaftar ✅" in chats["Siti"].say("DAFTAR")[0]
    assert "Anda sudah terdaftar ✅" in chats["Budi"].say("1")[0]
    assert status_of(db, event_id, ids["Siti"]) == status_of(db, event_id, ids["Budi"]) == "registered"
    with db.session() as session:
        registration = session.execute(select(EventRegistration).where(
            EventRegistration.owner_id == ids["Siti"])).scalar_one()
        assert registration.broadcast_id == broadcast_id
    assert "sudah terdaftar di" in chats["Siti"].say("daftar")[0]  # asking twice changes nothing


def test_tapping_the_register_button_registers(db, content, setting):
    event_id, ids, chats, _ = setting
    assert "terdaftar ✅" in chats["Ani"].say(text="Daftar", payload="Daftar")[0]
    assert status_of(db, event_id, ids["Ani"]) == "registered"


def test_quota_full_puts_the_next_owner_on_the_waiting_list(db, content, setting):
    event_id, ids, chats, _ = setting
    chats["Siti"].say("daftar")
    chats["Budi"].say("daftar")
    reply = chats["Ani"].say("daftar")[0]
    assert "daftar tunggu nomor 1" in reply
    assert status_of(db, event_id, ids["Ani"]) == "waitlisted"


def test_batal_frees_the_seat_for_the_first_on_the_waiting_list_who_is_told(db, content, setting, clock):
    event_id, ids, chats, _ = setting
    for name in ("Siti", "Budi", "Ani"):
        chats[name].say("daftar")
    clock.shift(timedelta(minutes=1))
    assert "sudah dibatalkan" in chats["Budi"].say("BATAL")[0]
    assert status_of(db, event_id, ids["Budi"]) == "cancelled"
    assert status_of(db, event_id, ids["Ani"]) == "registered"
    with db.session() as session:
        notice = session.execute(select(OutboxMessage).where(
            OutboxMessage.owner_id == ids["Ani"], OutboxMessage.kind == "reminder")).scalar_one()
    assert notice.text.startswith("Kabar baik!") and notice.priority == 10
    assert "sudah terdaftar di" in chats["Ani"].say("daftar")[0]


def test_batal_from_the_waiting_list_promotes_nobody(db, content, setting):
    event_id, ids, chats, _ = setting
    for name in ("Siti", "Budi", "Ani"):
        chats[name].say("daftar")
    assert "keluar dari daftar tunggu" in chats["Ani"].say("batal")[0]
    assert [status_of(db, event_id, ids[n]) for n in ("Siti", "Budi", "Ani")] == ["registered", "registered", "cancelled"]


def test_batal_without_any_registration_keeps_the_foundation_answer(db, content, setting):
    _, _, chats, _ = setting
    assert chats["Siti"].say("batal")[0] == content.t("common.nothing_to_cancel")


def test_one_at_the_menu_picks_the_menu_item_when_the_owner_spoke_after_the_invitation(db, content, setting, clock):
    event_id, ids, chats, _ = setting
    chats["Siti"].say("menu")  # after the invitation: "1" now answers the menu
    clock.shift(timedelta(minutes=1))
    replies = chats["Siti"].say("1")
    assert status_of(db, event_id, ids["Siti"]) is None
    assert not any("terdaftar ✅" in r for r in replies)
    # Back at the menu, DAFTAR is unambiguous for an owner who already completed registration.
    chats["Siti"].say("menu")
    assert "terdaftar ✅" in chats["Siti"].say("daftar")[0]


def test_one_answers_the_invitation_even_when_the_menu_was_open_before_it(db, content, clock):
    with db.session() as session:
        siti = make_owner(session, name="Siti")
        event = events.create_event(session, content, title="Kelas jualan online", kind="ecommerce_class",
                                    starts_at=utcnow() + timedelta(days=5), link="https://meet.example/abc")
    chat = Chat(db, content, siti.address)
    chat.say("menu")  # the owner left the bot at the menu yesterday
    clock.shift(timedelta(days=1))
    broadcasts.send_now(db, content, segment="all", template=None, event_id=event.id)
    mark_sent(db)
    clock.shift(timedelta(hours=1))
    assert "terdaftar ✅" in chat.say("1")[0]
    assert status_of(db, event.id, siti.id) == "registered"


def test_daftar_mid_flow_registers_and_returns_to_the_question(db, content, setting, clock):
    event_id, ids, chats, _ = setting
    chats["Siti"].say("ubah data")  # the data summary and "is this right?", after the invitation
    replies = chats["Siti"].say("daftar")
    assert status_of(db, event_id, ids["Siti"]) == "registered"
    assert "terdaftar ✅" in replies[0]
    assert any(content.t("common.back_to_question") in reply for reply in replies)


def test_batal_mid_flow_cancels_the_flow_not_the_registration(db, content, setting):
    event_id, ids, chats, _ = setting
    chats["Siti"].say("daftar")
    chats["Siti"].say("ubah data")
    chats["Siti"].say("batal")
    assert status_of(db, event_id, ids["Siti"]) == "registered"


def test_batal_after_a_reminder_cancels_the_registration_even_mid_flow(db, content, setting, clock):
    event_id, ids, chats, _ = setting
    chats["Siti"].say("daftar")
    chats["Siti"].say("ubah data")
    clock.shift(timedelta(days=1))  # the day-before reminder goes out after the owner's last turn
    assert sweep_due(db, content).queued == 1
    mark_sent(db)
    clock.shift(timedelta(minutes=10))
    assert "sudah dibatalkan" in chats["Siti"].say("batal")[0]
    assert status_of(db, event_id, ids["Siti"]) == "cancelled"


def test_registration_closes_when_the_event_starts(db, content, setting, clock):
    event_id, ids, chats, _ = setting
    clock.shift(timedelta(days=2, hours=1))
    assert "sudah ditutup" in chats["Siti"].say("daftar")[0]
    assert status_of(db, event_id, ids["Siti"]) is None


def test_daftar_without_an_invitation_still_starts_the_program_registration(db, content, clock):
    with db.session() as session:
        owner = make_owner(session, registered_at=None)
    replies = Chat(db, content, owner.address).say("daftar")
    assert replies[0] == content.t("registration.ask_name") or "nama" in replies[0].lower()


def test_batal_with_two_registrations_asks_which(db, content, setting):
    event_id, ids, chats, _ = setting
    with db.session() as session:
        other = events.create_event(session, content, title="Klinik BPOM", kind="coaching_clinic",
                                    starts_at=utcnow() + timedelta(days=4), place="BBPOM Jakarta")
        events.register(session, other.id, ids["Siti"])
    chats["Siti"].say("daftar")
    replies = chats["Siti"].say("batal")
    assert replies[0] == content.t("events.choose_cancel")
    chats["Siti"].say("2")  # events are listed by start time: the GMP training first
    assert status_of(db, event_id, ids["Siti"]) == "registered"
    assert status_of(db, other.id, ids["Siti"]) == "cancelled"


def test_menu_item_lists_events_and_registers(db, content, clock):
    with db.session() as session:
        siti = make_owner(session, name="Siti", sector="food")
        events.create_event(session, content, title="Kelas sabun", kind="other", segment="sector=cosmetics",
                            starts_at=utcnow() + timedelta(days=3), place="Balai")
        gmp = events.create_event(session, content, title="Pelatihan GMP", kind="gmp_training", quota=1,
                                  segment="sector=food", starts_at=utcnow() + timedelta(days=3), place="Balai")
    chat = Chat(db, content, siti.address)
    replies = chat.say("pelatihan")
    assert replies == [content.t("events.list_title")]
    detail = chat.say("1")
    assert "*Pelatihan GMP*" in detail[0] and detail[1] == content.t("events.status_open", seats=1)
    assert "terdaftar ✅" in chat.say("daftar")[0]
    assert status_of(db, gmp.id, siti.id) == "registered"


def test_two_owners_answering_at_once_never_both_get_the_last_seat(pg_db, content):
    with pg_db.session() as session:
        event = events.create_event(session, content, title="Klinik", kind="coaching_clinic", quota=3,
                                    starts_at=utcnow() + timedelta(days=3), place="Balai")
        owner_ids = [make_owner(session).id for _ in range(12)]
    barrier = threading.Barrier(len(owner_ids))

    def answer(owner_id):
        barrier.wait()
        with pg_db.session() as session:
            events.register(session, event.id, owner_id)

    threads = [threading.Thread(target=answer, args=(i,)) for i in owner_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    statuses = [status_of(pg_db, event.id, i) for i in owner_ids]
    assert statuses.count("registered") == 3 and statuses.count("waitlisted") == 9
