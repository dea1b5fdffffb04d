"""The understanding step where real traffic enters: Telegram Update JSON (secret header) and a
signed Twilio webhook, through the pipeline to the fake providers, read as the owner reads it."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Owner


def _texts(harness, chat_id: str) -> list[str]:
    return [m["text"] for m in harness.fake.telegram_messages(chat_id)]


def test_telegram_first_contact_question_is_answered_before_consent(harness, content, clock):
    assert harness.telegram_post(harness.telegram_message("pirtnya berlaku brp lama", chat_id=70101)).status_code == 200
    harness.send()
    texts = _texts(harness, "70101")
    assert "5 tahun" in texts[0]
    assert texts[1] == content.t("nlu.first_contact.invite")
    assert not any("setuju" in t.lower() for t in texts)  # no consent text before the answer


def test_telegram_consent_gated_request_resumes_after_consent(harness, content, clock):
    harness.telegram_post(harness.telegram_message("tolong cek kebersihan dapur saya dong", chat_id=70102))
    harness.send()
    texts = _texts(harness, "70102")
    assert texts[0] == content.t("nlu.first_contact.ack.gmp_check")
    assert "setuju" in texts[1].lower()
    harness.telegram_post(harness.telegram_callback("Setuju", chat_id=70102))
    harness.send()
    assert "cek mandiri" in _texts(harness, "70102")[-1].lower()


def test_twilio_opt_out_in_other_words_is_honoured(harness, content, clock):
    form = harness.twilio_form("sy gak mau dapet chat dr sini lg", sender="whatsapp:+6281234567101")
    assert harness.twilio_post(form).status_code == 200
    harness.send()
    sent = [m["Body"] for m in harness.fake.twilio_messages("whatsapp:+6281234567101")]
    assert sent == [content.t("global.stopped")]
    with harness.db.session() as session:
        owner = session.scalars(select(Owner).where(Owner.address == "+6281234567101")).one()
        assert owner.opted_out_at is not None and owner.consent_at is None


def test_twilio_out_of_scope_is_kind_and_no_registration_greeting(harness, content, clock):
    harness.twilio_post(harness.twilio_form("mau pinjam uang buat modal usaha", sender="whatsapp:+6281234567102"))
    harness.send()
    sent = [m["Body"] for m in harness.fake.twilio_messages("whatsapp:+6281234567102")]
    assert sent[0] == content.t("nlu.out_of_scope.money")
    assert content.t("registration.welcome") not in sent


def test_twilio_a_new_owner_in_own_words_from_question_to_registration(harness, content, clock):
    """A first conversation as an older owner types it, through signed Twilio webhooks: announcing a
    question opens the question prompt (never a mentor), "no permits at all" gets the NIB first
    without declining the data question, agreeing in words is the consent, a city around Jakarta
    answers the region question, and a vague reply never leaves a waiting question."""
    sender = "whatsapp:+6281234567103"
    seen = 0

    def say(text: str) -> list[str]:
        nonlocal seen
        assert harness.twilio_post(harness.twilio_form(text, sender=sender)).status_code == 200
        harness.send()
        sent = [m["Body"] for m in harness.fake.twilio_messages(sender)]
        new, seen = sent[seen:], len(sent)
        assert new, f"no answer to {text!r}"
        return new

    assert "setuju" in " ".join(say("assalamualaikum bu")).lower()
    assert say("sy mau nanya2 dulu ya") == [content.t("legality.ask_question")]
    nothing = say("sy blm punya surat2 apa2")
    assert nothing[0].startswith(content.t("legality.nothing_yet")[:40]) and "oss.go.id" in nothing[0]
    assert "pendamping" not in nothing[0].lower()
    say("udh dulu ya, makasih bnyk")  # a goodbye: never the consent, though it starts with "udah"
    with harness.db.session() as session:
        assert session.scalars(select(Owner).where(Owner.address == "+6281234567103")).one().consent_at is None
    assert say("ya udh setuju deh") == [content.t("registration.ask_name")]
    for answer in ("Bu Sumi", "Dapur Sumi", "makanan", "rempeyek kacang"):
        say(answer)
    vague = say("blm tau")
    assert content.t("registration.ask_city").split(":")[0] in vague[-1]  # asked again, no self-check
    assert not any("cek mandiri" in text.lower() for text in vague)
    outside = say("di tambun bekasi")
    assert outside[0] == content.t("registration.outside_jakarta_note")
    with harness.db.session() as session:
        owner = session.scalars(select(Owner).where(Owner.address == "+6281234567103")).one()
        assert owner.consent_at is not None and owner.city == "Bekasi" and owner.in_jakarta is False
