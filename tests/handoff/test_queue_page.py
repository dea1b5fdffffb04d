"""The minimal web queue of cases (server-rendered, read-only)."""
from __future__ import annotations

import base64
from dataclasses import replace

from starlette.testclient import TestClient

from bot.app import create_app
from bot.config import load_settings
from bot.services import Services
from tests.handoff.conftest import make_owner, mentor_says, only_case, say


def _client(db, content, **settings) -> TestClient:
    base = replace(load_settings(), **{"host": "127.0.0.1", "public_base_url": "", **settings})
    return TestClient(create_app(Services(settings=base, db=db, content=content)))


def test_queue_lists_cases_and_the_case_page_shows_who_did_what(roster, content, monkeypatch):
    monkeypatch.delenv("HANDOFF_QUEUE_PASSWORD", raising=False)
    owner = make_owner(roster, name="Sari <b>Dewi</b>")
    say(roster, content, owner, "mau bicara dengan pendamping")
    ticket_id = only_case(roster).id
    client = _client(roster, content)
    page = client.get("/handoff/cases")
    assert page.status_code == 200
    assert f"#{ticket_id}" in page.text and "Kebon Jeruk, Jakarta Barat" in page.text
    assert "Sari &lt;b&gt;Dewi&lt;/b&gt;" in page.text  # owner text is escaped
    mentor_says(roster, content, "900000001", f"/ambil {ticket_id}")
    assert f"#{ticket_id}" in client.get("/handoff/cases").text  # taken cases are active too
    assert f"#{ticket_id}" not in client.get("/handoff/cases?status=open").text
    mentor_says(roster, content, "900000001", f"/selesai {ticket_id} Sudah dijelaskan")
    say(roster, content, owner, "5")
    assert f"#{ticket_id}" not in client.get("/handoff/cases").text  # no longer active
    resolved = client.get("/handoff/cases?status=resolved").text
    assert f"#{ticket_id}" in resolved and "indeks <strong>100.0</strong>/100" in resolved
    detail = client.get(f"/handoff/cases/{ticket_id}").text
    for expected in ("Budi Santoso (JO-KJ-FOOD)", "taken", "resolved", "Sudah dijelaskan", "rated", "kecamatan"):
        assert expected in detail
    assert client.get("/handoff/cases/999").status_code == 404


def test_queue_needs_the_password_when_one_is_set_or_the_service_is_public(roster, content, monkeypatch):
    monkeypatch.setenv("HANDOFF_QUEUE_PASSWORD", "rahasia")
    client = _client(roster, content)
    assert client.get("/handoff/cases").status_code == 401
    good = base64.b64encode(b"staff:rahasia").decode()
    assert client.get("/handoff/cases", headers={"Authorization": f"Basic {good}"}).status_code == 200
    bad = base64.b64encode(b"staff:salah").decode()
    assert client.get("/handoff/cases", headers={"Authorization": f"Basic {bad}"}).status_code == 401
    monkeypatch.delenv("HANDOFF_QUEUE_PASSWORD")
    public = _client(roster, content, public_base_url="https://umkm.example.id")
    assert public.get("/handoff/cases").status_code == 401
