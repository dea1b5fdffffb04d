"""Regressions for what the pilot found, each through the real path: a signed Twilio webhook or a
Telegram Update JSON -> parse -> pipeline -> outbox -> sender -> the real client -> the fake provider,
asserting on what a person would read there."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.clock import utcnow
from storage.models import Owner
from storage.models.legality import LegalityProduct, PathwayStep
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401  (fixtures)
from tests.handoff.conftest import make_owner, roster  # noqa: F401

OWNER = "+6281399990002"


def owner_says(harness, text: str, address: str = OWNER) -> list[str]:
    """The owner writes on WhatsApp; returns the texts Twilio was asked to deliver for this message."""
    before = len(harness.fake.twilio_messages(f"whatsapp:{address}"))
    assert harness.twilio_post(harness.twilio_form(text, sender=f"whatsapp:{address}")).status_code == 200
    harness.send()
    return [m.get("Body", "") for m in harness.fake.twilio_messages(f"whatsapp:{address}")[before:]]


def unclassified_owner(harness) -> None:
    make_owner(harness.db, name="Sumarni", address=OWNER)
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == OWNER)).one()
        owner.has_permits = []
        owner.products = ["keripik singkong"]


def test_nib_reported_first_is_never_all_done_and_the_product_gets_its_route(harness, clock):
    unclassified_owner(harness)
    said = "\n".join(owner_says(harness, "sudah punya NIB 1234567890123"))
    assert "NIB" in said and "1234567890123" in said
    assert "Semua izin" not in said and "sudah selesai ✅ Sekarang" not in said
    assert "keripik singkong: Apakah" in said  # the next question for the unclassified product
    said = "\n".join(owner_says(harness, "ya"))
    assert "P-IRT" in said and "Semua izin" not in said
    assert said.rstrip().endswith("Ketik LANJUT untuk bagian berikutnya.")  # the message budget
    said = "\n".join(owner_says(harness, "LANJUT"))
    assert "Langkah berikutnya" in said and "P-IRT" in said and "Semua izin" not in said
    with harness.db.session() as s:
        product = s.scalars(select(LegalityProduct)).one()
        assert (product.name, product.route) == ("keripik singkong", "pirt")


def test_unknown_product_after_nib_is_reported_as_not_decided(harness, clock):
    make_owner(harness.db, name="Sumarni", address=OWNER)
    with harness.db.session() as s:
        owner = s.scalars(select(Owner).where(Owner.address == OWNER)).one()
        owner.has_permits, owner.products = [], ["barang antik"]
    said = "\n".join(owner_says(harness, "sudah punya NIB 1234567890123"))
    assert "Semua izin" not in said
    said = "\n".join(owner_says(harness, "langkah berikutnya"))
    assert "belum ditentukan" in said and "barang antik" in said and "Semua izin" not in said


def test_rejection_before_classification_records_the_reason(harness, clock):
    unclassified_owner(harness)
    owner_says(harness, "pirt saya ditolak karena label belum lengkap")
    said = "\n".join(owner_says(harness, "ya"))
    assert 'ditolak, dengan alasan: "label belum lengkap"' in said
    with harness.db.session() as s:
        row = s.scalars(select(PathwayStep).where(PathwayStep.step == "pirt")).one()
        assert (row.status, row.rejection_reason) == ("ditolak", "label belum lengkap")
    overview = "\n".join(owner_says(harness, "izin saya"))
    assert "P-IRT (ditolak: label belum lengkap)" in overview


def test_permit_number_with_a_past_expiry_year_is_flagged_expired(harness, clock):
    unclassified_owner(harness)
    owner_says(harness, "sudah punya NIB 1234567890123")
    owner_says(harness, "ya")
    said = "\n".join(owner_says(harness, "sudah dapat pirt 212317501234521"))  # ends in 21: 2021
    assert "habis berlaku" in said and "perpanjangan" in said and "Berlaku sampai" not in said
    overview = "\n".join(owner_says(harness, "izin saya"))
    assert "⚠️ P-IRT (habis berlaku" in overview
    assert "Semua izin" not in "\n".join(owner_says(harness, "langkah berikutnya"))


# --- 3. honest "sent" ---------------------------------------------------------------------------
MENTOR_CHAT = 900000001  # Budi Santoso (JO-KJ-FOOD) in the handoff ROSTER


def mentor_types(harness, text: str) -> list[str]:
    before = len(harness.fake.telegram_messages(str(MENTOR_CHAT)))
    word = text.split(" ", 1)[0]
    update = harness.telegram_message(text, chat_id=MENTOR_CHAT,
                                      entities=[{"type": "bot_command", "offset": 0, "length": len(word)}]
                                      if text.startswith("/") else [])
    assert harness.telegram_post(update).status_code == 200
    harness.send()
    return [m["text"] for m in harness.fake.telegram_messages(str(MENTOR_CHAT))[before:]]


def test_reply_outside_the_window_is_reported_plainly_and_goes_out_when_the_owner_writes(roster, harness, clock):
    make_owner(harness.db, name="Bu Sumarni", address=OWNER)
    owner_says(harness, "saya mau bicara dengan pendamping")
    mentor_types(harness, "/ambil 1")
    clock.shift(timedelta(hours=30))  # the owner's 24-hour WhatsApp window has closed
    before = len(harness.fake.twilio_messages(f"whatsapp:{OWNER}"))
    told = "\n".join(mentor_types(harness, "/balas 1 Bu, sertifikat PKP sudah bisa diambil"))
    assert "terkirim ke" not in told.replace("BELUM terkirim ke", "")
    assert "BELUM terkirim ke Bu Sumarni (#1)" in told and "24 jam" in told and "menulis lagi" in told
    assert len(harness.fake.twilio_messages(f"whatsapp:{OWNER}")) == before  # nothing went to Twilio
    said = owner_says(harness, "halo pak")  # the owner writes: the window opens, the reply goes out
    assert any("Budi (pendamping): Bu, sertifikat PKP sudah bisa diambil" in t for t in said)


def test_reply_within_the_window_is_sent_and_says_so(roster, harness, clock):
    make_owner(harness.db, name="Bu Sumarni", address=OWNER)
    owner_says(harness, "saya mau bicara dengan pendamping")
    mentor_types(harness, "/ambil 1")
    assert mentor_types(harness, "/balas 1 Halo Bu") == ["✓ terkirim ke Bu Sumarni (#1)"]


# --- 4. Twilio's Retry-After ---------------------------------------------------------------------
def test_twilio_429_retry_after_is_honoured(harness, clock):
    from storage.models import OutboxMessage
    from storage.models.channels import OutboxEvent

    make_owner(harness.db, name="Sumarni", address=OWNER)
    harness.fake.twilio_errors[f"whatsapp:{OWNER}"].append((429, 20429, "Too Many Requests", {"Retry-After": "2"}))
    harness.twilio_post(harness.twilio_form("menu", sender=f"whatsapp:{OWNER}"))
    harness.send()
    with harness.db.session() as s:
        row = s.scalars(select(OutboxMessage).where(OutboxMessage.address == OWNER)).first()
        assert row.status == "pending"
        assert (row.not_before - utcnow()).total_seconds() >= 1.99  # Twilio asked for 2 s, not the 0.4 s default
        events = s.scalars(select(OutboxEvent.detail).where(OutboxEvent.event == "retry")).all()
        assert any(note.startswith("in 2.0s") for note in events)
    clock.shift(timedelta(seconds=2))
    harness.send()
    assert len(harness.fake.twilio_messages(f"whatsapp:{OWNER}")) == 2  # the 429, then the message


# --- 6. honorifics -------------------------------------------------------------------------------
def test_honorific_is_never_the_first_name(roster, harness, clock):
    make_owner(harness.db, name="Bu Sumarni", address=OWNER)
    owner_says(harness, "saya mau bicara dengan pendamping")
    alert = mentor_types(harness, "/kasus")[0]
    assert "Bu Sumarni" in alert
    mentor_types(harness, "/ambil 1")
    owner_says(harness, "terima kasih pak")
    relayed = [m["text"] for m in harness.fake.telegram_messages(str(MENTOR_CHAT))][-1]
    assert relayed == "💬 #1 Bu Sumarni: terima kasih pak"


def test_registration_greets_with_the_honorific(harness, clock):
    address = "+6281399990077"
    for text in ("halo", "1", "bu sumarni", "Keripik Sumarni", "1", "keripik singkong", "duren sawit", "6"):
        owner_says(harness, text, address)
    said = "\n".join(owner_says(harness, "1", address))
    assert "Terima kasih, Bu Sumarni!" in said


# --- 5. display names in broadcast variables; 3. broadcast status says why ------------------------
def test_broadcast_shows_names_not_keys_and_status_lists_why_rows_did_not_go(harness, clock, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main

    make_owner(harness.db, name="Bu Sumarni", address=OWNER, city="jakarta-timur", district="duren-sawit")
    make_owner(harness.db, name="Pak Darto", address="+6281399990003", city="jakarta-timur",
               district="duren-sawit")  # never wrote: outside the 24-hour window, no template
    owner_says(harness, "halo")
    monkeypatch.setenv("DATABASE_URL", harness.db.url)
    sent = CliRunner().invoke(main, [
        "broadcast", "send", "--segment", "kecamatan=duren-sawit", "--yes", "--message",
        "Halo {{ greeting_name }} ({{ first_name }}): pelatihan usaha {{ sector }} di {{ district }}, {{ city }}."],
        catch_exceptions=False)
    assert sent.exit_code == 0, sent.output
    harness.send()
    body = harness.fake.twilio_messages(f"whatsapp:{OWNER}")[-1]["Body"]
    assert body.startswith("Halo Bu Sumarni (Sumarni): pelatihan usaha makanan di Duren Sawit, Jakarta Timur.")
    status = CliRunner().invoke(main, ["broadcast", "status", "1"], catch_exceptions=False).output
    assert "unsendable 1 (whatsapp): outside the WhatsApp 24-hour window" in status
    assert "no approved template" in status


# --- dashboard: a mentor with nothing of their own lands on the area queue ------------------------
def test_mentor_with_an_empty_queue_lands_on_the_area_queue(db, content, tmp_path):
    from starlette.testclient import TestClient

    from bot.app import create_app
    from tests.dashboard.scripted import (ask_for_mentor, load_demo_roster, make_services, make_user,
                                          register_owner, sign_in)

    ids = load_demo_roster(db, content)
    register_owner(db, content, "+628140000002", "Bu Wati", "Kue Wati", area="jakarta-timur", district="duren sawit")
    case_id = ask_for_mentor(db, content, "+628140000002")
    make_user(db, "dewi", "mentor", ids["JO-0004"])
    with TestClient(create_app(make_services(db, content, tmp_path)), base_url="http://testserver") as client:
        sign_in(client, "dewi")
        page = client.get("/dash/cases").text
    assert f"#{case_id}" in page and "Bu Wati" in page
    assert "Pemilik minta bicara dengan pendamping" in page  # the reason in plain words


def test_events_page_picks_the_segment_with_the_broadcast_dropdowns(db, content, tmp_path, clock):
    from starlette.testclient import TestClient

    from bot.app import create_app
    from storage.models.events import TrainingEvent
    from tests.dashboard.scripted import csrf_of, make_services, make_user, sign_in

    make_user(db, "staf", "staff")
    with TestClient(create_app(make_services(db, content, tmp_path)), base_url="http://testserver") as client:
        sign_in(client, "staf")
        page = client.get("/dash/events").text
        assert '<select name="district">' in page and "Duren Sawit" in page and 'name="segment"' not in page
        response = client.post("/dash/events", data={
            "csrf_token": csrf_of(page), "title": "Pelatihan Label", "kind": "gmp_training",
            "starts_at": "2026-12-01T09:00", "place": "Kantor Kecamatan", "district": "duren-sawit",
            "sector": "food"}, follow_redirects=False)
        assert response.status_code == 303, response.text
    with db.session() as session:
        assert session.scalars(select(TrainingEvent.segment)).one() == "kecamatan=duren-sawit sektor=food"
