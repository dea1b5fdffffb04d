"""Telegram: real Update JSON in (secret-token header), the real telegram.Bot out (to a local fake)."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import utcnow
from storage.models import MessageLog, OutboxMessage, Owner
from storage.models.channels import ChannelInbox, OutboxEvent
from tests.channels.conftest import BOT_TOKEN


def _outbox(db):
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_message_is_answered_with_an_inline_keyboard(harness, clock):
    response = harness.telegram_post(harness.telegram_message("halo"))
    assert response.status_code == 200
    assert harness.send().sent == 2
    sent = harness.fake.telegram_messages("70001")
    assert len(sent) == 2
    assert "reply_markup" not in sent[0]
    keyboard = json.loads(sent[1]["reply_markup"])["inline_keyboard"]
    assert keyboard == [[{"text": "Setuju", "callback_data": "Setuju"}],
                        [{"text": "Tidak setuju", "callback_data": "Tidak setuju"}]]
    assert not sent[1]["text"].endswith("Tidak setuju")  # buttons, not a numbered list
    # the real Bot called the Bot API under our token
    assert all(f"/bot{BOT_TOKEN}/" not in c.data for c in harness.fake.calls("telegram"))
    rows = _outbox(harness.db)
    assert {r.status for r in rows} == {"sent"} and all(r.provider_id for r in rows)


def test_button_tap_is_answered_and_read_as_the_answer(harness, clock):
    harness.telegram_post(harness.telegram_message("halo"))
    tap = harness.telegram_callback("Setuju")
    assert harness.telegram_post(tap).status_code == 200
    answered = harness.fake.calls("telegram", "answerCallbackQuery")
    assert [c.data["callback_query_id"] for c in answered] == [tap["callback_query"]["id"]]
    with harness.db.session() as s:
        owner = s.scalars(select(Owner)).one()
        assert owner.consent_at is not None and owner.conversation.step == "name"


def test_wrong_or_missing_secret_token_is_rejected_with_403(harness, clock):
    update = harness.telegram_message("halo")
    assert harness.telegram_post(update, secret=None).status_code == 403
    assert harness.telegram_post(update, secret="guess").status_code == 403
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChannelInbox)) == 0


def test_duplicate_update_is_processed_once(harness, clock):
    update = harness.telegram_message("halo")
    harness.telegram_post(update)
    harness.telegram_post(update)  # Telegram retries an update it thinks we missed
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(MessageLog).where(MessageLog.direction == "in")) == 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_photo_is_kept_as_evidence(harness, clock, tmp_path):
    harness.fake.files[f"/file/bot{BOT_TOKEN}/photos/PHOTO-BIG.jpg"] = ("image/jpeg", b"jpeg bytes")
    photo = [{"file_id": "PHOTO-SMALL", "file_unique_id": "s", "width": 90, "height": 90},
             {"file_id": "PHOTO-BIG", "file_unique_id": "b", "width": 1280, "height": 960}]
    update = harness.telegram_message("", photo=photo, caption="dapur saya")
    harness.telegram_post(update)
    stored = tmp_path / "evidence" / "telegram" / f"{update['update_id']}-0.jpg"
    assert stored.read_bytes() == b"jpeg bytes"
    with harness.db.session() as s:
        logged = s.scalars(select(MessageLog).where(MessageLog.direction == "in")).one()
        assert logged.text == "dapur saya"
        assert logged.media[0]["url"] == f"evidence/telegram/{update['update_id']}-0.jpg"


def test_blocked_bot_403_marks_owner_unreachable(harness, clock):
    harness.fake.telegram_errors["70001"].append((403, "Forbidden: bot was blocked by the user", None))
    harness.telegram_post(harness.telegram_message("halo"))
    harness.send()
    rows = _outbox(harness.db)
    assert rows[0].status == "unsendable" and "403" in rows[0].error
    # the second message is not even tried: the owner is unreachable now
    assert rows[1].status == "unsendable" and "unreachable" in rows[1].error
    assert len(harness.fake.telegram_messages()) == 1
    with harness.db.session() as s:
        assert s.scalars(select(Owner)).one().unreachable_at is not None
        assert s.scalar(select(func.count()).select_from(OutboxEvent).where(OutboxEvent.event == "unreachable")) == 1
    # writing again makes the owner reachable (the pipeline clears the mark)
    harness.fake.telegram_errors.clear()
    harness.telegram_post(harness.telegram_message("menu"))
    harness.send()
    assert len(harness.fake.telegram_messages()) >= 2


def test_my_chat_member_kicked_marks_owner_unreachable(harness, clock):
    harness.telegram_post(harness.telegram_message("halo"))
    blocked = {"update_id": 990001, "my_chat_member": {
        "chat": {"id": 70001, "type": "private"}, "from": {"id": 70001, "is_bot": False, "first_name": "Sari"},
        "date": 1795400000,
        "old_chat_member": {"status": "member", "user": {"id": 123456, "is_bot": True, "first_name": "Asisten"}},
        "new_chat_member": {"status": "kicked", "until_date": 0,
                            "user": {"id": 123456, "is_bot": True, "first_name": "Asisten"}},
    }}
    assert harness.telegram_post(blocked).status_code == 200
    with harness.db.session() as s:
        assert s.scalars(select(Owner)).one().unreachable_at is not None


def test_retry_after_is_respected(harness, clock):
    harness.fake.telegram_errors["70001"].append(
        (429, "Too Many Requests: retry after 2", {"retry_after": 2}))
    harness.telegram_post(harness.telegram_message("halo"))
    harness.send()
    first, second = _outbox(harness.db)
    assert first.status == "pending" and first.attempts == 1
    assert first.not_before >= utcnow() + timedelta(seconds=2)
    assert second.status == "pending" and second.attempts == 0  # waits behind the first: order kept
    harness.fake.telegram_errors.clear()
    harness.send()
    assert len(harness.fake.telegram_messages()) == 1  # nothing sent before the wait is over
    clock.shift(timedelta(seconds=3))
    harness.send()
    assert [r.status for r in _outbox(harness.db)] == ["sent", "sent"]
    texts = [m["text"] for m in harness.fake.telegram_messages()]
    assert texts[1:] == [first.text, second.text]


def test_group_messages_are_ignored(harness, clock):
    update = harness.telegram_message("halo")
    update["message"]["chat"] = {"id": -100123, "type": "supergroup", "title": "Pendamping"}
    assert harness.telegram_post(update).status_code == 200
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(Owner)) == 0
