"""A mentor in real Chromium on a phone: labels a case and sends a canned reply, which reaches the
owner rendered with their name; staff then find the case by its label in search and see the label
counted on the indicators page."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from storage.models import OutboxMessage, Owner
from tests.dashboard.scripted import ask_for_mentor, load_demo_roster, make_user, register_owner
from tests.web.conftest import shot, sign_in

pytestmark = pytest.mark.browser
SITI = "+628120000081"


def test_mentor_uses_a_canned_reply_and_a_label(new_page, db, content, artifacts_dir, request):
    ids = load_demo_roster(db, content)
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    case_id = ask_for_mentor(db, content, SITI)
    make_user(db, "budi", "mentor", ids["JO-0001"])
    make_user(db, "staf", "staff")

    page = new_page(phone=True)
    sign_in(page, "budi", next_path=f"/dash/cases/{case_id}")
    page.click("#take")
    page.locator("#canned-key").select_option("foto_label")
    expect(page.locator("#canned-preview")).to_contain_text("foto label kemasan keripik singkong")
    page.click("#send-canned")
    expect(page.locator(".ok")).to_contain_text("Balasan terkirim")
    page.locator("#labels-form input[value=label_kemasan]").check()
    page.locator("#labels-form input[value=pkp]").check()
    page.click("#save-labels")
    expect(page.locator("#case-labels")).to_contain_text("Label kemasan")
    expect(page.locator("#case-labels")).to_contain_text("PKP")
    shot(page, artifacts_dir, "case-tools-phone", request)

    with db.session() as session:
        owner_id = session.scalar(select(Owner.id).where(Owner.address == SITI))
        last = session.scalars(select(OutboxMessage).where(OutboxMessage.owner_id == owner_id)
                               .order_by(OutboxMessage.id.desc())).first()
    assert "Boleh kirim foto label kemasan keripik singkong?" in last.text

    staff = new_page()
    sign_in(staff, "staf")
    staff.goto("/dash/search?what=cases&label=label_kemasan")
    expect(staff.locator("#search-results")).to_contain_text("Siti Aminah")
    staff.goto("/dash/search?what=cases&label=halal")
    expect(staff.locator("#search-results")).to_contain_text("Tidak ada yang cocok")
    staff.goto("/dash/indicators")
    expect(staff.locator("#card-labels")).to_contain_text("Label kemasan")
