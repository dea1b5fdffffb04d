"""A label photo through the signed Twilio webhook, its media served by the local fake with the
account's credentials, read by Tesseract, answered with the checklist the owner reads on WhatsApp."""
from __future__ import annotations

from sqlalchemy import func, select

from bot.clock import utcnow
from bot.labels import synth
from bot.labels.texts import label_text
from storage.models import Owner, Ticket
from storage.models.labels import LabelCheck
from tests.channels.conftest import ACCOUNT_SID
from tests.labels.helpers import label_photo

SENDER = "whatsapp:+6281234567001"


def _owner(db):
    with db.session() as s:
        s.add(Owner(channel="whatsapp", address="+6281234567001", lang="id", consent_at=utcnow(),
                    registered_at=utcnow(), name="Sari", business_name="Keripik Sari", sector="food",
                    products=["keripik pisang"], city="jakarta_timur", in_jakarta=True, has_permits=["nib"]))


def _photo_form(harness, data: bytes, caption: str = "") -> dict:
    url = harness.fake.serve_twilio_media(ACCOUNT_SID, data)
    return harness.twilio_form(caption, NumMedia=1, MediaUrl0=url, MediaContentType0="image/jpeg",
                               MessageType="image")


def _bodies(harness) -> list[str]:
    harness.send()
    return [m["Body"] for m in harness.fake.twilio_messages(to=SENDER)]


def test_label_photo_gets_the_checklist_and_a_mentor_on_request(harness, content, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EVIDENCE_DIR", raising=False)
    _owner(harness.db)
    harness.twilio_post(harness.twilio_form("cek label"))
    assert _bodies(harness)[-1] == label_text(content, "ask_photo")

    form = _photo_form(harness, label_photo(drop=("Berat bersih",)))
    assert harness.twilio_post(form).status_code == 200
    # fetched from Twilio's media URL with the account's credentials
    assert harness.fake.calls("twilio", "media")[-1].auth.startswith("Basic ")
    checklist, closing = _bodies(harness)[-2:]
    assert checklist.startswith("Hasil cek label")
    assert "✅ Nama produk" in checklist and "✅ Komposisi" in checklist
    assert "❌ Berat/isi bersih" in checklist
    assert "✅ Nomor P-IRT 206317501012329" in checklist
    assert "Berat bersih" in closing and closing.endswith("1. Minta pendamping cek\n2. Kirim foto lain\n3. Menu")
    assert len(checklist) <= 400 and len(closing) <= 400
    assert "lulus" not in (checklist + closing).lower()

    harness.twilio_post(harness.twilio_form("1"))
    assert _bodies(harness)[-1] == label_text(content, "mentor_asked")
    with harness.db.session() as s:
        check = s.scalars(select(LabelCheck)).one()
        assert check.verdict == "needs_fixes" and check.result["missing"] == ["net_content"]
        assert check.photo_url == f"evidence/whatsapp/{form['MessageSid']}-0.jpg"
        assert (tmp_path / check.photo_url).is_file()
        assert "KERIPIK PISANG" in check.text
        ticket = s.scalars(select(Ticket)).one()
        assert ticket.topic == "label_check" and "net_content" in ticket.reason


def test_complete_label_is_never_called_a_pass(harness, content, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    _owner(harness.db)
    # A photo whose caption says it is a label is checked wherever the owner is.
    harness.twilio_post(_photo_form(harness, label_photo(), caption="ini label kemasan saya"))
    checklist, closing = _bodies(harness)[-2:]
    assert "❌" not in checklist
    assert closing.startswith(label_text(content, "looks_complete"))  # "sepertinya lengkap, pendamping bisa memastikan"
    assert "1. Minta pendamping cek" in closing


def test_blurry_photo_asks_for_a_closer_straight_one(harness, content, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    _owner(harness.db)
    harness.twilio_post(harness.twilio_form("cek label"))
    harness.twilio_post(_photo_form(harness, synth.unreadable_photo()))
    assert _bodies(harness)[-1] == label_text(content, "unreadable")
    with harness.db.session() as s:
        owner = s.scalars(select(Owner)).one()
        assert (owner.conversation.flow, owner.conversation.step) == ("labels", "photo")  # waits for the next photo
    harness.twilio_post(_photo_form(harness, label_photo(drop=("Kode produksi",))))
    assert "❌ Kode produksi" in _bodies(harness)[-2]


def test_hapus_data_erases_label_photos_and_checks(harness, content, clock, tmp_path, monkeypatch):
    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EVIDENCE_DIR", raising=False)
    _owner(harness.db)
    harness.twilio_post(_photo_form(harness, label_photo(), caption="cek label ini"))
    kept = list((tmp_path / "evidence" / "whatsapp").glob("*.jpg"))
    assert len(kept) == 1
    harness.twilio_post(harness.twilio_form("hapus data"))
    harness.twilio_post(harness.twilio_form("ya"))
    assert not kept[0].exists()
    with harness.db.session() as s:
        assert s.scalar(select(func.count()).select_from(LabelCheck)) == 0


def test_telegram_photo_with_a_label_caption_is_checked(harness, content, clock, tmp_path, monkeypatch):
    """Telegram: the largest photo size is fetched with getFile, kept as evidence, then read."""
    from tests.channels.conftest import BOT_TOKEN

    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    with harness.db.session() as s:
        s.add(Owner(channel="telegram", address="70001", lang="id", consent_at=utcnow(), registered_at=utcnow(),
                    name="Sari", sector="food"))
    harness.fake.files[f"/file/bot{BOT_TOKEN}/photos/LABEL-BIG.jpg"] = ("image/jpeg", label_photo(drop=("P-IRT",)))
    photo = [{"file_id": "LABEL-SMALL", "file_unique_id": "s", "width": 90, "height": 60},
             {"file_id": "LABEL-BIG", "file_unique_id": "b", "width": 900, "height": 600}]
    harness.telegram_post(harness.telegram_message("", photo=photo, caption="tolong cek label kemasan saya"))
    harness.send()
    texts = [m["text"] for m in harness.fake.telegram_messages("70001")]
    assert "❌ Nomor izin edar (P-IRT/MD)" in texts[-2]
    assert "P-IRT" in texts[-1]  # the next step: print the permit number once issued
