"""The web chat is a channel on the real pipeline, including messages that arrive later."""
from __future__ import annotations

from sqlalchemy import select
from starlette.testclient import TestClient

from bot.app import create_app
from storage.models import OutboxMessage, Owner, Ticket
from tests.dashboard.scripted import csrf_of, load_demo_roster, make_user, sign_in


def _send(client, token, text):
    response = client.post("/chat/send", json={"text": text}, headers={"X-CSRF-Token": token})
    assert response.status_code == 200
    return [r["text"] for r in response.json()["replies"]]


def test_a_mentor_reply_reaches_the_web_chat_owner(client, services, db, content):
    ids = load_demo_roster(db, content)
    make_user(db, "staf", "staff")
    make_user(db, "budi", "mentor", ids["JO-0001"])
    sign_in(client, "staf")
    token = csrf_of(client.get("/chat/").text)
    assert "setuju?" in _send(client, token, "halo")[-1]
    assert _send(client, token, "1") == ["Siapa nama Anda?"]
    for answer in ("Ani Demo", "Kue Ani", "1", "kue kering", "3", "kebon jeruk", "6", "1"):
        replies = _send(client, token, answer)
    assert "✅" in replies[-1]
    assert _send(client, token, "mau bicara dengan pendamping")
    with db.session() as session:
        owner = session.scalars(select(Owner).where(Owner.channel == "web")).one()
        case_id = session.scalar(select(Ticket.id).where(Ticket.owner_id == owner.id))
        assert owner.address.startswith("web-")
    with TestClient(create_app(services)) as mentor:
        sign_in(mentor, "budi")
        mentor_token = csrf_of(mentor.get(f"/dash/cases/{case_id}").text)
        mentor.post(f"/dash/cases/{case_id}/take", data={"csrf_token": mentor_token})
        mentor.post(f"/dash/cases/{case_id}/reply", data={"csrf_token": mentor_token, "text": "Halo Bu Ani, saya Budi."})
    polled = client.get("/chat/poll?after=0").json()
    texts = [m["text"] for m in polled["messages"]]
    assert any("Halo Bu Ani, saya Budi." in t for t in texts)
    assert client.get(f"/chat/poll?after={polled['last']}").json()["messages"] == []  # delivered once
    # A forged poll beyond any 64-bit id (it overflowed SQLite's integer): nothing new, no error.
    forged = client.get("/chat/poll", params={"after": "+" + "9" * 30})
    assert forged.status_code == 200, (forged.status_code, forged.text[:300])
    assert forged.json()["messages"] == []
    with db.session() as session:
        statuses = set(session.scalars(select(OutboxMessage.status).where(OutboxMessage.channel == "web")))
    assert statuses <= {"sent", "delivered"}
    page = client.get("/chat/").text
    assert page.count("Halo Bu Ani, saya Budi.") == 1  # shown once after a reload
