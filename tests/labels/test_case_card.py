"""The mentor's case card shows the owner's label photo, the words read and the checklist; the
photo is served only to people who may see the case."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.app import create_app
from bot.messages import Inbound, Media
from bot.pipeline import handle
from storage.models import Ticket
from tests.dashboard.scripted import load_demo_roster, make_services, make_user, register_owner, say, sign_in
from tests.labels.helpers import label_photo

ADDRESS = "+628140000001"


@pytest.fixture(autouse=True)
def cheap_password_hashing(monkeypatch):
    from argon2 import PasswordHasher

    from bot.dashboard import auth

    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def test_case_card_shows_photo_words_and_checklist(db, content, tmp_path, monkeypatch):
    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EVIDENCE_DIR", raising=False)
    ids = load_demo_roster(db, content)
    register_owner(db, content, ADDRESS, "Siti Aminah", "Keripik Bu Siti")  # Kebon Jeruk, food: JO-0001
    make_user(db, "budi", "mentor", ids["JO-0001"])
    make_user(db, "dewi", "mentor", ids["JO-0004"])  # Jakarta Timur: not this owner's area
    photo = tmp_path / "evidence" / "whatsapp" / "SMlabel-0.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(label_photo(drop=("Komposisi",)))
    say(db, content, ADDRESS, "cek label")
    replies = handle(Inbound(channel="whatsapp", address=ADDRESS, message_id="SMlabel", synchronous=True,
                             media=(Media(kind="image", url="evidence/whatsapp/SMlabel-0.jpg",
                                          content_type="image/jpeg"),)), db=db, content=content)
    assert "❌ Komposisi" in replies[0].text
    say(db, content, ADDRESS, "1")  # a mentor, please
    with db.session() as session:
        case_id = session.scalars(select(Ticket.id).where(Ticket.topic == "label_check")).one()

    with TestClient(create_app(make_services(db, content, tmp_path)), base_url="http://testserver") as client:
        sign_in(client, "budi")
        page = client.get(f"/dash/cases/{case_id}").text
        assert 'id="label-check"' in page
        assert "❌ Komposisi (daftar bahan)" in page and "✅ Nama produk" in page
        assert "KERIPIK PISANG" in page  # the words read
        assert f'src="/dash/cases/{case_id}/label-photo"' in page
        got = client.get(f"/dash/cases/{case_id}/label-photo")
        assert got.status_code == 200 and got.content == photo.read_bytes()
        client.get("/dash/logout")
        client.cookies.clear()
        sign_in(client, "dewi")
        assert client.get(f"/dash/cases/{case_id}/label-photo").status_code == 404
