"""The dashboard's WhatsApp templates page in a real browser (headless Debian Chromium): an admin
sees every kind without an approved template, syncs from Twilio (the fake Content API) and sees
approved, pending and rejected templates; staff see it too, mentors do not."""
from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import expect

from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER
from tests.channels.conftest import fake  # noqa: F401  (fixture: the fake Twilio, here its Content API)
from tests.dashboard.scripted import load_demo_roster, make_services, make_user
from tests.ops.test_templates import stock_account
from tests.web.conftest import LiveServer, shot, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def twilio_server(db, content, tmp_path, fake):
    services = make_services(db, content, tmp_path)
    services.settings = dataclasses.replace(services.settings, twilio_account_sid=ACCOUNT_SID,
                                            twilio_auth_token=AUTH_TOKEN, twilio_whatsapp_from=OUR_NUMBER,
                                            twilio_api_base=fake.url)
    with LiveServer(services) as server:
        yield server


def test_admin_syncs_templates_and_sees_the_kinds_without_one(browser, twilio_server, fake, db, content,  # noqa: F811
                                                              artifacts_dir, request):
    stock_account(fake)
    make_user(db, "admin1", "admin")
    context = browser.new_context(base_url=twilio_server.url, locale="id-ID", viewport={"width": 1280, "height": 900})
    context.set_default_timeout(15_000)
    page = context.new_page()
    try:
        sign_in(page, "admin1", next_path="/dash/templates")
        page.get_by_role("link", name="Template WhatsApp").click()
        expect(page.locator("h1")).to_have_text("Template WhatsApp")
        expect(page.locator("#missing-templates")).to_contain_text("5 jenis pesan")
        expect(page.get_by_text("Belum pernah disinkronkan")).to_be_visible()

        page.get_by_role("button", name="Sinkronkan dari Twilio").click()
        expect(page.get_by_role("status")).to_contain_text("sudah disinkronkan")
        reminder = page.locator("tr[data-kind=reminder]")
        expect(reminder).to_contain_text("umkm_reminder")
        expect(reminder).to_contain_text("Disetujui")
        expect(reminder).to_contain_text("{{2}} = {{ text }}")
        expect(page.locator("tr[data-kind=broadcast]")).to_contain_text("Menunggu persetujuan")
        expect(page.locator("tr[data-kind=relay]")).to_contain_text("INVALID_FORMAT")
        expect(page.locator("tr[data-kind=reply]")).to_contain_text("Tidak ada")
        missing = page.locator("#missing-templates")
        expect(missing).to_contain_text("4 jenis pesan")
        expect(missing).to_contain_text("REPLY, RELAY, ALERT, BROADCAST")
        expect(missing).not_to_contain_text("REMINDER")
        shot(page, artifacts_dir, "templates", request)
    finally:
        context.close()
    # a mentor has no business here
    ids = load_demo_roster(db, content)
    make_user(db, "mentor1", "mentor", ids["JO-0001"])
    context = browser.new_context(base_url=twilio_server.url, locale="id-ID")
    page = context.new_page()
    try:
        sign_in(page, "mentor1")
        assert page.request.get("/dash/templates").status == 403
        expect(page.get_by_role("link", name=re.compile("Template"))).to_have_count(0)
    finally:
        context.close()
