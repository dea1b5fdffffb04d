"""WhatsApp through Twilio: signed webhooks in, the real twilio Client out (to a local fake)."""
from __future__ import annotations

import logging

from sqlalchemy import func, select

from storage.models import InboundMessage, MessageLog, OutboxMessage, Owner
from storage.models.channels import ChannelInbox
from tests.channels.conftest import ACCOUNT_SID, OUR_NUMBER, PUBLIC


def _outbox(db):
    with db.session() as s:
        return s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()


def test_signed_message_is_answered_through_the_twilio_client(harness, clock):
    response = harness.twilio_post(harness.twilio_form("halo"))
    assert response.status_code == 200
    assert "<Response>" in response.text and response.headers["content-type"].startswith("text/xml")
    rows = _outbox(harness.db)
    assert len(rows) == 2 and {r.status for r in rows} == {"pending"}
    assert rows[0].address == "+6281234567001"

    stats = harness.send()
    assert stats.sent == 2
    sent = harness.fake.twilio_messages()
    assert [m["To"] for m in sent] == ["whatsapp:+6281234567001"] * 2
    assert all(m["From"] == OUR_NUMBER for m in sent)
    assert sent[0]["Body"] == rows[0].text
    # the consent question's options go out as numbered text
    assert sent[1]["Body"].endswith("1. Setuju\n2. Tidak setuju")
    assert sent[1]["StatusCallback"] == f"{PUBLIC}/webhooks/twilio/status?outbox={rows[1].id}"
    # the real client authenticated with the account's credentials
    assert harness.fake.calls("twilio", "Messages")[0].auth.startswith("Basic ")
    rows = _outbox(harness.db)
    assert {r.status for r in rows} == {"sent"}
    assert [r.provider_id for r in rows] == [m["_sid"] for m in sent]


def test_option_number_answer_goes_through_the_flow(harness, clock):
    harness.twilio_post(harness.twilio_form("halo"))
    harness.twilio_post(harness.twilio_form("1"))
    with harness.db.session() as s:
        owner = s.scalars(select(Owner)).one()
        assert owner.consent_at is not None
        assert owner.conversation.step == "name"


def test_forged_or_unsigned_requests_are_rejected_with_403(harness, clock, caplog):
    form = harness.twilio_form("halo", sender="whatsapp:+6281299990001")
    caplog.set_level(logging.WARNING)
    assert harness.twilio_post(form, signature="").status_code == 403  # unsigned
    assert harness.twilio_post(form, signature="bm90IGEgc2lnbmF0dXJl").status_code == 403  # forged
    # signed for another URL (a replay against another endpoint)
    assert harness.twilio_post(form, signed_url=f"{PUBLIC}/other").status_code == 403
    # a signature over different fields (the body was changed on the way)
    tampered = dict(form, Body="transfer semua uang")
    from twilio.request_validator import RequestValidator
    good_for_original = RequestValidator("twilio-test-auth-token").compute_signature(f"{PUBLIC}/webhooks/twilio", form)
    assert harness.twilio_post(tampered, signature=good_for_original).status_code == 403
    # status callbacks are checked the same way
    assert harness.client.post("/webhooks/twilio/status?outbox=1", data={"MessageSid": "SMx",
                                                                        "MessageStatus": "delivered"}).status_code == 403
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChannelInbox)) == 0
        assert s.scalar(select(func.count()).select_from(Owner)) == 0
    rejections = [r.getMessage() for r in caplog.records if "rejected" in r.getMessage()]
    assert len(rejections) == 5
    assert not any("6281299990001" in message for message in rejections)


def test_duplicate_message_sid_is_processed_once(harness, clock):
    form = harness.twilio_form("halo")
    assert harness.twilio_post(form).status_code == 200
    assert harness.twilio_post(form).status_code == 200  # Twilio redelivers after a timeout
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(ChannelInbox)) == 1
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert s.scalar(select(func.count()).select_from(MessageLog).where(MessageLog.direction == "in")) == 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage)) == 2


def test_business_scoped_whatsapp_id_is_kept_and_answered(harness, clock):
    """Owners with a WhatsApp username arrive without a phone number: From is whatsapp:<BSUID>."""
    bsuid = "ID.1182736450918273645" + "A" * 60  # longer than the old 64-character address column
    harness.twilio_post(harness.twilio_form("halo", sender=f"whatsapp:{bsuid}"))
    with harness.db.session() as s:
        assert s.scalars(select(Owner)).one().address == bsuid
    harness.send()
    assert {m["To"] for m in harness.fake.twilio_messages()} == {f"whatsapp:{bsuid}"}


def test_image_is_kept_as_evidence(harness, clock, tmp_path):
    media_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"
    harness.fake.files[media_path] = ("image/jpeg", b"\xff\xd8\xff kitchen photo")
    form = harness.twilio_form("", NumMedia=1, MediaUrl0=f"{harness.fake.url}{media_path}",
                               MediaContentType0="image/jpeg", MessageType="image")
    assert harness.twilio_post(form).status_code == 200
    stored = tmp_path / "evidence" / "whatsapp" / f"{form['MessageSid']}-0.jpg"
    assert stored.read_bytes() == b"\xff\xd8\xff kitchen photo"
    # fetched with the account's credentials, as Twilio requires for media
    assert harness.fake.calls("twilio", "media")[0].auth.startswith("Basic ")
    with harness.db.session() as s:
        logged = s.scalars(select(MessageLog).where(MessageLog.direction == "in")).one()
        assert logged.media == [{"kind": "image", "url": f"evidence/whatsapp/{form['MessageSid']}-0.jpg",
                                 "content_type": "image/jpeg"}]


def test_voice_note_is_answered_kindly_with_a_mentor_offer(harness, content, clock):
    harness.twilio_post(harness.twilio_form("halo"))
    form = harness.twilio_form("", NumMedia=1, MediaUrl0="https://api.twilio.com/x/Media/ME9",
                               MediaContentType0="audio/ogg", MessageType="audio")
    harness.twilio_post(form)
    texts = [r.text for r in _outbox(harness.db)]
    assert content.t("common.voice_note") in texts


def test_button_payload_is_read_as_the_answer(harness, clock):
    harness.twilio_post(harness.twilio_form("halo"))
    harness.twilio_post(harness.twilio_form("", ButtonPayload="Setuju", ButtonText="Setuju", MessageType="button"))
    with harness.db.session() as s:
        assert s.scalars(select(Owner)).one().consent_at is not None


def test_channel_without_credentials_is_off(make_harness, clock):
    h = make_harness(twilio_account_sid="", twilio_auth_token="", telegram_bot_token="")
    assert h.twilio_post(h.twilio_form("halo")).status_code == 404
    assert h.telegram_post(h.telegram_message("halo")).status_code == 404
    health = h.client.get("/health").json()
    assert health["channels"] == {"whatsapp": False, "telegram": False}
