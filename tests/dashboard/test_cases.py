"""Mentor pages: area limits, and the mentor-chat actions (take, reply, note, transfer, resolve)
done from the web."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import OutboxMessage, Owner, Ticket, TicketEvent
from tests.dashboard.scripted import ask_for_mentor, csrf_of, load_demo_roster, make_user, register_owner, say, sign_in


def _setup(db, content):
    ids = load_demo_roster(db, content)
    # Kebon Jeruk, food: JO-0001's area. Duren Sawit, food: JO-0004's.
    register_owner(db, content, "+628140000001", "Siti Aminah", "Keripik Bu Siti")
    register_owner(db, content, "+628140000002", "Wati", "Kue Wati", area="jakarta-timur", district="duren sawit")
    west = ask_for_mentor(db, content, "+628140000001")
    east = ask_for_mentor(db, content, "+628140000002")
    make_user(db, "budi", "mentor", ids["JO-0001"])
    make_user(db, "dewi", "mentor", ids["JO-0004"])
    with db.session() as session:
        owners = {o.name: o.id for o in session.scalars(select(Owner))}
    return ids, west, east, owners


def test_a_mentor_cannot_see_cases_or_owners_outside_their_area(client, db, content):
    _ids, west, east, owners = _setup(db, content)
    sign_in(client, "dewi")  # Duren Sawit, Cakung, Pulo Gadung
    queue = client.get("/dash/cases?tab=area").text
    assert f"#{east}" in queue and f"#{west}" not in queue
    assert client.get(f"/dash/cases/{west}").status_code == 404
    assert client.get(f"/dash/owners/{owners['Siti Aminah']}").status_code == 404
    listing = client.get("/dash/owners").text
    assert "Wati" in listing and "Siti Aminah" not in listing
    assert "Siti Aminah" not in client.get("/dash/owners.csv").text
    token = csrf_of(queue)
    assert client.post(f"/dash/cases/{west}/take", data={"csrf_token": token}).status_code == 404
    assert client.get("/dash/indicators").status_code == 403  # programme figures are for staff
    assert client.get("/dash/mentors").status_code == 403
    with db.session() as session:
        assert session.get(Ticket, west).status == "open"


def test_take_reply_note_resolve_from_the_web_use_the_mentor_chat_actions(client, db, content):
    _ids, west, _east, _owners = _setup(db, content)
    sign_in(client, "budi")
    page = client.get(f"/dash/cases/{west}")
    assert page.status_code == 200 and "Keripik Bu Siti" in page.text and "mau bicara dengan pendamping" in page.text
    token = csrf_of(page.text)
    for action, text in (("take", ""), ("reply", "Halo Bu Siti, saya bantu urus P-IRT ya."),
                         ("note", "Dapur sudah dicek lewat foto."), ("resolve", "Sudah dijelaskan syarat P-IRT.")):
        response = client.post(f"/dash/cases/{west}/{action}", data={"csrf_token": token, "text": text})
        assert response.status_code == 200, action
    with db.session() as session:
        ticket = session.get(Ticket, west)
        assert ticket.status == "resolved" and ticket.resolution_note == "Sudah dijelaskan syarat P-IRT."
        actions = [e.action for e in session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == west))]
        to_owner = [m.text for m in session.scalars(select(OutboxMessage).where(OutboxMessage.address == "+628140000001",
                                                                               OutboxMessage.status == "pending"))]
    assert ["taken", "replied", "note", "resolved"] == [a for a in actions if a in ("taken", "replied", "note", "resolved")]
    assert any("Budi" in t and "saya bantu urus P-IRT" in t for t in to_owner)
    assert not any("Dapur sudah dicek" in t for t in to_owner)  # a note stays private
    # the owner answers the satisfaction question in the bot; the rating is the case's
    say(db, content, "+628140000001", "5")
    with db.session() as session:
        assert session.get(Ticket, west).rating == 5


def test_a_refused_action_shows_the_mentor_chat_words(client, db, content):
    ids, west, _east, _owners = _setup(db, content)
    make_user(db, "sri", "mentor", ids["JO-0002"])  # Kebon Jeruk too, but cosmetics and jamu only
    sign_in(client, "budi")
    token = csrf_of(client.get(f"/dash/cases/{west}").text)
    client.post(f"/dash/cases/{west}/take", data={"csrf_token": token})
    client.post("/dash/logout", data={"csrf_token": csrf_of(client.get("/dash/cases").text)})
    sign_in(client, "sri")
    page = client.get(f"/dash/cases/{west}")
    assert page.status_code == 200 and 'id="reply"' not in page.text and 'id="take"' not in page.text
    answer = client.post(f"/dash/cases/{west}/resolve", data={"csrf_token": csrf_of(page.text), "text": "selesai"})
    assert 'class="alert"' in answer.text
    with db.session() as session:
        assert session.get(Ticket, west).status == "taken"


def test_staff_see_every_case_read_only_and_cannot_act(client, db, content):
    _ids, west, east, _owners = _setup(db, content)
    make_user(db, "staf", "staff")
    sign_in(client, "staf")
    queue = client.get("/dash/cases").text
    assert f"#{west}" in queue and f"#{east}" in queue
    page = client.get(f"/dash/cases/{west}")
    assert 'id="take"' not in page.text
    assert client.post(f"/dash/cases/{west}/take", data={"csrf_token": csrf_of(page.text)}).status_code == 403
