"""Search in real Chromium: a mentor of West Jakarta finds an owner's message in their area, and the
same words from an owner in East Jakarta stay hidden from them; staff find both."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.dashboard.scripted import load_demo_roster, make_user, register_owner, say
from tests.web.conftest import shot, sign_in

pytestmark = pytest.mark.browser


def test_search_finds_messages_only_within_the_searchers_area(new_page, db, content, artifacts_dir, request):
    ids = load_demo_roster(db, content)
    register_owner(db, content, "+628120000071", "Siti Aminah", "Keripik Bu Siti", area="jakarta-barat",
                   district="kebon jeruk")
    register_owner(db, content, "+628120000072", "Rina Wati", "Bolu Rina", area="jakarta-timur",
                   district="duren sawit")
    say(db, content, "+628120000071", "sertifikat pkp saya hilang gmn")
    say(db, content, "+628120000072", "sertifikat pkp sy kadaluarsa")
    make_user(db, "budi", "mentor", ids["JO-0001"])
    make_user(db, "staf", "staff")

    page = new_page(phone=True)
    sign_in(page, "budi", next_path="/dash/search")
    page.fill("input[name=q]", "sertifikat pkp")
    page.get_by_role("button", name="Cari", exact=True).click()
    results = page.locator("#search-results")
    expect(results).to_contain_text("sertifikat pkp saya hilang gmn")
    expect(results).not_to_contain_text("kadaluarsa")
    expect(results).not_to_contain_text("Rina Wati")
    shot(page, artifacts_dir, "search-mentor-phone", request)

    staff_page = new_page()
    sign_in(staff_page, "staf", next_path="/dash/search?q=sertifikat+pkp")
    expect(staff_page.locator("#search-results")).to_contain_text("kadaluarsa")
    expect(staff_page.locator("#search-results")).to_contain_text("hilang gmn")
    staff_page.locator("#search-results a", has_text="kadaluarsa").click()
    expect(staff_page.locator("h2").first).to_contain_text("Rina Wati")
