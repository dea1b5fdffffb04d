"""WhatsApp templates from Twilio: `umkm-bot templates sync` against the fake Content API (served
locally, paged like Twilio), an approved, a pending, a rejected and a misfitting template, and a
kind with none; then the sender uses the approved one outside the 24-hour window and records the
others unsendable."""
from __future__ import annotations

import json
import subprocess
from datetime import timedelta

from sqlalchemy import select

from bot.channels.templates import sync_templates
from bot.clock import utcnow
from bot.content import load_yaml
from storage.models import OutboxMessage, Owner
from storage.models.ops import WhatsAppTemplateSync
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, REPO
from tests.ops.conftest import BIN, clean_env


def stock_account(fake) -> dict[str, str]:
    """The templates of a programme's Twilio account, as the Content API lists them."""
    for number in range(205):  # other teams' templates: more than one page of the API
        fake.add_content_template(f"other_team_{number}", "Promo {{1}}")
    return {
        "reminder": fake.add_content_template(
            "umkm_reminder", "Halo {{1}}, ada pengingat dari Asisten UMKM: {{2}} Balas pesan ini untuk melanjutkan."),
        "broadcast": fake.add_content_template(
            "umkm_broadcast", "Info program UMKM: {{1}} Balas BERHENTI jika tidak ingin menerima info lagi.",
            status="pending"),
        "relay": fake.add_content_template(
            "umkm_relay", "Pendamping Anda membalas: {{1}}", status="rejected",
            rejection_reason="INVALID_FORMAT"),
        "alert": fake.add_content_template("umkm_alert", "Asisten UMKM: {{1}} untuk {{2}}"),
        "reminder_en": fake.add_content_template(
            "umkm_reminder", "Hello {{1}}, a reminder: {{2}}", language="en"),
    }


def test_templates_sync_command_reads_approval_and_maps_kinds(fake, tmp_path):
    sids = stock_account(fake)
    env = clean_env(UMKM_DATA_DIR=str(tmp_path), TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN,
                    TWILIO_WHATSAPP_FROM=OUR_NUMBER, TWILIO_API_BASE=fake.url)
    result = subprocess.run([str(BIN), "templates", "sync", "--json"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 1, result.stderr  # some kinds have no approved template
    rows = {row["kind"]: row for row in json.loads(result.stdout)}
    assert rows["reminder"]["content_sid"] == sids["reminder"]  # the Indonesian one, by the naming convention
    assert rows["reminder"]["status"] == "approved" and rows["reminder"]["sendable"]
    assert rows["reminder"]["matched_by"] == "convention" and rows["reminder"]["language"] == "id"
    assert rows["broadcast"]["status"] == "pending" and not rows["broadcast"]["sendable"]
    assert rows["broadcast"]["problem"] == "WhatsApp approval: pending"
    assert rows["relay"]["status"] == "rejected" and "INVALID_FORMAT" in rows["relay"]["problem"]
    assert rows["alert"]["status"] == "approved" and not rows["alert"]["sendable"]
    assert "placeholders ['1', '2'] differ" in rows["alert"]["problem"]
    assert rows["reply"]["status"] == "missing" and "umkm_reply" in rows["reply"]["problem"]
    # every page was read, with the account's credentials
    pages = fake.calls("twilio", "ContentAndApprovals")
    assert len(pages) == 2 and pages[0].auth.startswith("Basic ")
    from click.testing import CliRunner

    from bot.cli import main

    listed = CliRunner().invoke(main, ["templates", "list"], env=env)
    assert listed.exit_code == 0, listed.output
    assert "reminder   ok" in listed.output and "broadcast  NO TEMPLATE OUTSIDE 24 H" in listed.output


def test_an_explicit_name_in_content_wins_over_the_convention(fake):
    stock_account(fake)
    chosen = fake.add_content_template("info_program_umkm", "Info: {{1}}")
    raw = load_yaml(REPO / "content" / "channels" / "whatsapp_templates.yaml")
    raw["templates"]["broadcast"]["twilio_name"] = "info_program_umkm"
    from bot.channels.templates import fetch_remote_templates, match_templates
    from bot.channels.whatsapp import RebasedHttpClient
    from twilio.rest import Client

    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RebasedHttpClient(fake.url))
    results = {r.kind: r for r in match_templates(raw, fetch_remote_templates(client))}
    assert results["broadcast"].remote.sid == chosen and results["broadcast"].matched_by == "table"
    assert results["broadcast"].usable
    # a ContentSid given in the environment wins over both, and must exist in the account
    results = {r.kind: r for r in match_templates(raw, fetch_remote_templates(client), {"broadcast": "HX" + "f" * 32})}
    assert results["broadcast"].matched_by == "" and "not in this Twilio account" in results["broadcast"].problem


def _owner_who_wrote_days_ago(db, address: str) -> int:
    with db.session() as s:
        owner = Owner(channel="whatsapp", address=address, lang="id", products=[], name="Sari Dewi",
                      last_inbound_at=utcnow() - timedelta(days=3))
        s.add(owner)
        s.flush()
        return owner.id


def _enqueue(db, owner_id: int, address: str, kind: str, text: str) -> int:
    with db.session() as s:
        row = OutboxMessage(owner_id=owner_id, channel="whatsapp", address=address, kind=kind, priority=10,
                            text=text, options=[], template_vars={}, status="pending", created_at=utcnow())
        s.add(row)
        s.flush()
        return row.id


def test_the_sender_uses_approved_synced_templates_only(harness, clock):
    sids = stock_account(harness.fake)
    results = {r.kind: r for r in sync_templates(harness.db, harness.rt.whatsapp.client, REPO / "content")}
    assert results["reminder"].usable and not results["broadcast"].usable
    with harness.db.session() as s:
        assert {row.kind: row.status for row in s.scalars(select(WhatsAppTemplateSync))} == {
            "reminder": "approved", "broadcast": "pending", "relay": "rejected", "alert": "approved",
            "reply": "missing"}
    owner = _owner_who_wrote_days_ago(harness.db, "+6281234567501")
    reminder = _enqueue(harness.db, owner, "+6281234567501", "reminder", "Izin P-IRT Anda habis dalam 30 hari.")
    broadcast = _enqueue(harness.db, owner, "+6281234567501", "broadcast", "Pelatihan GMP minggu depan")
    harness.send()
    [sent] = harness.fake.twilio_messages()
    assert sent["ContentSid"] == sids["reminder"] and "Body" not in sent
    assert json.loads(sent["ContentVariables"]) == {"1": "Sari", "2": "Izin P-IRT Anda habis dalam 30 hari."}
    with harness.db.session() as s:
        assert s.get(OutboxMessage, reminder).status == "sent"
        stored = s.get(OutboxMessage, broadcast)
        assert stored.status == "unsendable" and "24-hour window" in stored.error
