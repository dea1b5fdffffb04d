"""Malformed input is answered 4xx (never 5xx), and a NUL byte never fails a turn."""
from __future__ import annotations

import json

from sqlalchemy import select

from storage.models import MessageLog, OutboxMessage
from tests.channels.conftest import ACCOUNT_SID, TG_SECRET
from tests.dashboard.scripted import csrf_of, make_user, sign_in


def _signed_multipart(harness, path: str, form: dict):
    """A multipart body with a file part, signed over its text fields as Twilio would sign a form."""
    from twilio.request_validator import RequestValidator

    from tests.channels.conftest import AUTH_TOKEN, PUBLIC
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}{path}", form)
    return harness.client.post(path, data=form, files={"upload": ("x.txt", b"hello", "text/plain")},
                               headers={"X-Twilio-Signature": signature})


def test_multipart_with_a_file_part_is_400_on_both_twilio_webhooks(harness, clock):
    assert _signed_multipart(harness, "/webhooks/twilio", harness.twilio_form("halo")).status_code == 400
    status = {"MessageSid": "SM" + "1" * 32, "MessageStatus": "delivered", "AccountSid": ACCOUNT_SID}
    assert _signed_multipart(harness, "/webhooks/twilio/status?outbox=1", status).status_code == 400


def test_overlong_from_and_message_sid_are_400(harness, clock):
    too_long_from = harness.twilio_form("halo", sender="whatsapp:+62" + "8" * 200)
    assert harness.twilio_post(too_long_from).status_code == 400
    too_long_sid = harness.twilio_form("halo", MessageSid="SM" + "9" * 200)
    assert harness.twilio_post(too_long_sid).status_code == 400


def test_unsigned_twilio_request_is_refused_before_its_body_is_read(harness):
    response = harness.client.post("/webhooks/twilio", content=b"Body=" + b"x" * 50_000,
                                   headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert response.status_code == 403


def test_oversized_bodies_are_413_before_the_signature_is_checked(harness):
    big = harness.twilio_form("x" * 200_000)
    assert harness.twilio_post(big).status_code == 413
    update = harness.telegram_message("y" * 200_000)
    assert harness.telegram_post(update).status_code == 413


def test_telegram_malformed_updates_are_4xx_or_ignored(harness, clock):
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET, "Content-Type": "application/json"}
    post = lambda body: harness.client.post("/webhooks/telegram", content=body, headers=headers)  # noqa: E731
    assert post(b"[]").status_code == 400
    assert post(b"{}").status_code == 400
    assert post(b"not json").status_code == 400
    assert post(b"[" * 50_000 + b"]" * 50_000).status_code == 400
    deep: dict = {"update_id": 1}
    for _ in range(100):
        deep = {"update_id": 1, "message": deep}
    assert post(json.dumps(deep).encode()).status_code == 400
    chatless = harness.telegram_message("halo")
    del chatless["message"]["chat"]
    assert harness.telegram_post(chatless).status_code in (200, 400)
    reaction = {"update_id": 777, "message_reaction": {
        "chat": {"id": 70001, "type": "private"}, "message_id": 5, "date": 1795400000,
        "old_reaction": [], "new_reaction": [{"type": "emoji", "emoji": "👍"}]}}
    assert harness.telegram_post(reaction).status_code == 200
    assert harness.telegram_post({"update_id": 778, "message": "just a string"}).status_code in (200, 400)


def test_nul_in_a_message_is_stripped_and_the_owner_is_answered(harness, clock):
    response = harness.twilio_post(harness.twilio_form("ha\x00lo", sender="whatsapp:+6281234500077"))
    assert response.status_code == 200
    with harness.db.session() as session:
        texts = session.scalars(select(MessageLog.text).where(MessageLog.direction == "in")).all()
        replies = session.scalars(select(OutboxMessage)).all()
    assert texts == ["halo"] and replies
    update = harness.telegram_message("ha\x00lo", chat_id=70077)
    assert harness.telegram_post(update).status_code == 200
    with harness.db.session() as session:
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.address == "70077")).all()


def test_dashboard_nul_and_huge_numbers_in_query_and_invalid_json_are_400(client, db, clock):
    make_user(db, "staf", "staff")
    assert sign_in(client, "staf").status_code == 303
    assert client.get("/dash/owners?q=ab%00cd").status_code == 400
    assert client.get("/dash/owners?page=99999999999999999999").status_code == 400
    assert client.get("/dash/owners?q=6281234567890").status_code == 200  # a phone search is fine
    headers = {"X-CSRF-Token": csrf_of(client.get("/chat/").text), "Content-Type": "application/json"}
    assert client.post("/chat/send", content=b"{not json", headers=headers).status_code == 400
    assert client.post("/chat/send", content=b"[1, 2]", headers=headers).status_code == 400
    assert client.post("/dash/broadcasts/preview", content=b"{oops", headers=headers).status_code == 400
    sent = client.post("/chat/send", content=json.dumps({"text": "ha\u0000lo"}).encode(), headers=headers)
    assert sent.status_code == 200 and sent.json()["replies"]
