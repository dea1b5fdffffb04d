"""The read API over HTTP: per-client tokens scoped to an area, 404 outside it, rate limits with
Retry-After, every request audited, no phone numbers, and an OpenAPI document that validates and
matches what the endpoints answer."""
from __future__ import annotations

import json

import pytest
from openapi_schema_validator import OAS31Validator
from openapi_spec_validator import validate as validate_spec
from sqlalchemy import select
from starlette.testclient import TestClient

from bot.api.clients import create_client, revoke_client
from bot.api.openapi import document
from bot.app import create_app
from storage.models import Owner
from storage.models.staff import AuditLog
from tests.dashboard.scripted import ask_for_mentor, make_services, register_owner

WEST, EAST = "+628120000041", "+628120000042"


@pytest.fixture
def api(db, content, tmp_path):
    services = make_services(db, content, tmp_path)
    with TestClient(create_app(services), base_url="http://testserver") as client:
        yield client


def _token(db, content, name: str, area: str = "", per_minute: int = 60) -> str:
    with db.session() as session:
        return create_client(session, content, name, area, per_minute)[1]


def _get(api, path: str, token: str | None):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return api.get(path, headers=headers)


def _world(db, content) -> dict[str, int]:
    register_owner(db, content, WEST, "Siti Aminah", "Keripik Bu Siti", area="jakarta-barat", district="kebon jeruk",
                   permits=("nib",))
    register_owner(db, content, EAST, "Rina Wati", "Bolu Rina", area="jakarta-timur", district="duren sawit")
    ask_for_mentor(db, content, EAST)
    with db.session() as session:
        return {o.address: o.id for o in session.scalars(select(Owner))}


def test_a_token_sees_only_its_area(api, db, content, clock):
    ids = _world(db, content)
    west = _token(db, content, "dinas-jakbar", "jakarta-barat")
    everyone = _token(db, content, "dinas-dki")

    owners = _get(api, "/api/v1/owners", west).json()["data"]
    assert [o["id"] for o in owners] == [ids[WEST]]
    assert owners[0]["district_name"] == "Kebon Jeruk" and owners[0]["permits"] == ["nib"]
    assert owners[0]["legality_stage"] == "nib" and owners[0]["programme"]["p1"] == "2026-11-23"
    assert _get(api, f"/api/v1/owners/{ids[EAST]}", west).status_code == 404
    assert _get(api, f"/api/v1/owners/{ids[EAST]}/pathway", west).status_code == 404
    assert _get(api, "/api/v1/cases", west).json()["data"] == []
    assert _get(api, "/api/v1/indicators", west).json()["programme"]["p1"] == 1

    assert {o["id"] for o in _get(api, "/api/v1/owners", everyone).json()["data"]} == set(ids.values())
    cases = _get(api, "/api/v1/cases?status=open", everyone).json()["data"]
    assert [c["owner_id"] for c in cases] == [ids[EAST]]
    assert _get(api, "/api/v1/indicators", everyone).json()["programme"]["p1"] == 2


def test_no_phone_numbers_or_message_text_leave_through_the_api(api, db, content, clock):
    ids = _world(db, content)
    token = _token(db, content, "bbpom")
    bodies = [_get(api, path, token).text for path in (
        "/api/v1/owners", f"/api/v1/owners/{ids[EAST]}", f"/api/v1/owners/{ids[EAST]}/pathway", "/api/v1/cases",
        "/api/v1/events", "/api/v1/indicators")]
    for body in bodies:
        assert "8120000041" not in body and "8120000042" not in body
        assert "pendamping" not in body  # the owner's own words in the case


def test_missing_wrong_and_revoked_tokens_are_refused(api, db, content):
    token = _token(db, content, "dinas-dki")
    assert _get(api, "/api/v1/owners", None).status_code == 401
    assert _get(api, "/api/v1/owners", "umkm_not-a-real-token").status_code == 401
    response = _get(api, "/api/v1/owners", token)
    assert response.status_code == 200
    with db.session() as session:
        assert revoke_client(session, "dinas-dki")
    refused = _get(api, "/api/v1/owners", token)
    assert refused.status_code == 401 and refused.headers["www-authenticate"].startswith("Bearer")
    assert refused.json()["error"] == "unauthorized"


def test_each_client_has_its_own_rate_limit_and_is_audited(api, db, content):
    slow = _token(db, content, "slow-client", per_minute=3)
    other = _token(db, content, "other-client", per_minute=3)
    answers = [_get(api, "/api/v1/events", slow) for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert int(answers[-1].headers["retry-after"]) >= 1 and answers[-1].json()["error"] == "rate_limited"
    assert _get(api, "/api/v1/events", other).status_code == 200  # another client is not slowed
    with db.session() as session:
        audited = session.scalars(select(AuditLog.who).where(AuditLog.action == "api_read")).all()
    assert audited.count("api:slow-client") == 3 and audited.count("api:other-client") == 1


def test_bad_paging_is_a_clean_400(api, db, content):
    token = _token(db, content, "dinas-dki")
    for query in ("limit=0", "limit=abc", "after_id=-1", "limit=100000000000000000000"):
        response = _get(api, f"/api/v1/owners?{query}", token)
        assert response.status_code == 400, query
    assert _get(api, "/api/v1/cases?status=lost", token).status_code == 400


def test_openapi_document_validates_and_describes_the_answers(api, db, content, clock):
    spec = api.get("/api/openapi.json").json()
    assert spec == json.loads(json.dumps(document()))
    validate_spec(spec)
    ids = _world(db, content)
    token = _token(db, content, "dinas-dki")
    schemas = spec["components"]["schemas"]
    for path, schema in (("/api/v1/owners", "Owner"), ("/api/v1/cases", "Case"), ("/api/v1/events", "Event")):
        for item in _get(api, path, token).json()["data"]:
            OAS31Validator(schemas[schema]).validate(item)
    OAS31Validator(schemas["Pathway"]).validate(_get(api, f"/api/v1/owners/{ids[WEST]}/pathway", token).json())
    OAS31Validator(schemas["Indicators"]).validate(_get(api, "/api/v1/indicators", token).json())
    assert set(spec["paths"]) == {"/api/v1/owners", "/api/v1/owners/{owner_id}", "/api/v1/owners/{owner_id}/pathway",
                                  "/api/v1/cases", "/api/v1/events", "/api/v1/indicators"}


def test_cli_creates_lists_and_revokes_clients(api, db, content, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main
    from storage.db import forget_database

    monkeypatch.setenv("DATABASE_URL", db.url)
    try:
        runner = CliRunner()
        created = runner.invoke(main, ["api", "clients", "create", "dinas-jaktim", "--area", "jakarta-timur"],
                                catch_exceptions=False)
        token = created.output.strip().splitlines()[-1]
        assert created.exit_code == 0 and token.startswith("umkm_")
        assert _get(api, "/api/v1/owners", token).status_code == 200
        listed = runner.invoke(main, ["api", "clients", "list"], catch_exceptions=False).output
        assert "dinas-jaktim" in listed and "jakarta-timur" in listed and token not in listed
        bad = runner.invoke(main, ["api", "clients", "create", "x", "--area", "gotham"])
        assert bad.exit_code == 1
        assert runner.invoke(main, ["api", "clients", "revoke", "dinas-jaktim"]).exit_code == 0
        assert _get(api, "/api/v1/owners", token).status_code == 401
    finally:
        forget_database(db.url)
