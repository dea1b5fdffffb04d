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
    assert "P-IRT" in said and "Langkah berikutnya" in said and "Semua izin" not in said
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
