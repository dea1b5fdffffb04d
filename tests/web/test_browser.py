"""The dashboard in a real browser (headless Debian Chromium through Playwright)."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.dashboard.scripted import ask_for_mentor, gmp_self_check, load_demo_roster, make_user, register_owner
from tests.web.conftest import shot, sign_in

pytestmark = pytest.mark.browser


def test_sign_in_with_a_wrong_password_then_the_right_one(new_page, db, artifacts_dir, request):
    make_user(db, "staf", "staff")
    page = new_page()
    sign_in(page, "staf", "not my password")
    expect(page.locator(".alert")).to_contain_text("salah")
    shot(page, artifacts_dir, "sign-in-wrong", request)
    sign_in(page, "staf")
    expect(page).to_have_url(re.compile(r"/dash/indicators$"))
    expect(page.locator("h1")).to_have_text("Indikator program")
    expect(page.locator("footer")).to_contain_text("staf")


def test_chat_through_the_web_chat_page(new_page, db, artifacts_dir, request):
    make_user(db, "staf", "staff")
    page = new_page(phone=True)
    sign_in(page, "staf", next_path="/chat/")
    page.fill("#chat-text", "halo")
    page.press("#chat-text", "Enter")
    expect(page.locator(".bubble.bot").first).to_contain_text("Asisten UMKM")
    page.get_by_role("button", name="Setuju", exact=True).click()
    expect(page.locator(".bubble.bot").last).to_contain_text("Siapa nama Anda?")
    page.fill("#chat-text", "Rahmat Hidayat")
    page.press("#chat-text", "Enter")
    expect(page.locator(".bubble.bot").last).to_contain_text("nama usaha")
    shot(page, artifacts_dir, "chat-phone", request)
    page.reload()  # the conversation is kept: it is the bot's own message log
    expect(page.locator(".bubble.me")).to_have_count(3)


def test_indicators_change_after_a_scripted_set_of_owners(new_page, db, content, artifacts_dir, request):
    make_user(db, "staf", "staff")
    page = new_page()
    sign_in(page, "staf")
    expect(page.locator("#fig-registered .value")).to_have_text("0")
    shot(page, artifacts_dir, "indicators-before", request)
    register_owner(db, content, "+628120000001", "Siti Aminah", "Keripik Bu Siti", permits=("nib", "pirt", "halal"))
    register_owner(db, content, "+628120000002", "Dewi Lestari", "Sabun Dewi", sector="cosmetics",
                   products="sabun sereh", area="jakarta-timur", district="duren sawit", permits=("nib",))
    register_owner(db, content, "+628120000003", "Joko Susilo", "Jamu Pak Joko", sector="herbal",
                   products="jamu kunyit", area="jakarta-timur", district="cakung")
    gmp_self_check(db, content, "+628120000001")  # Level I: meets the standard
    gmp_self_check(db, content, "+628120000002", first_no=8)  # many findings: does not
    page.reload()
    expect(page.locator("#fig-registered .value")).to_have_text("3")
    expect(page.locator("#fig-gmp .value")).to_have_text("50,0%")
    expect(page.locator("#fig-nib .value")).to_have_text("2")
    expect(page.locator("#fig-product .value")).to_have_text("1")
    funnel = page.locator("#table-legality_funnel tbody tr")
    expect(funnel.nth(0)).to_contain_text("3")
    expect(funnel.nth(3)).to_contain_text("Bersertifikat halal")
    expect(page.locator("#card-by-area svg title").first).to_contain_text("Pendaftaran per wilayah")
    shot(page, artifacts_dir, "indicators-after", request)
    page.select_option("select[name=area]", "jakarta-timur")
    page.click("form.filters button[type=submit]")
    expect(page.locator("#fig-registered .value")).to_have_text("2")
    with page.expect_download() as download:
        page.locator("#card-funnel a.csv").click()
    lines = open(download.value.path(), encoding="utf-8-sig").read().splitlines()
    assert lines[0].startswith("Tahap,") and lines[1].startswith("Terdaftar,2,")


def test_mentor_takes_and_resolves_a_case_on_a_phone(new_page, db, content, artifacts_dir, request):
    ids = load_demo_roster(db, content)
    register_owner(db, content, "+628120000011", "Siti Aminah", "Keripik Bu Siti")
    case_id = ask_for_mentor(db, content, "+628120000011")
    make_user(db, "budi", "mentor", ids["JO-0001"])
    page = new_page(phone=True)
    sign_in(page, "budi")
    expect(page).to_have_url(re.compile(r"/dash/cases$"))
    page.get_by_role("link", name="Antrian wilayah").click()
    page.locator(f"a.case-link[href='/dash/cases/{case_id}']").click()
    expect(page.locator(".conversation")).to_contain_text("mau bicara dengan pendamping")
    page.click("#take")
    expect(page.locator(".ok")).to_contain_text("sudah Anda ambil")
    expect(page.locator("#case-status")).to_have_text("Ditangani")
    page.fill("form[action$='/reply'] textarea", "Halo Bu Siti, saya Budi. Untuk keripik, izinnya P-IRT.")
    page.click("#reply")
    expect(page.locator(".ok")).to_contain_text("Balasan terkirim")
    shot(page, artifacts_dir, "case-taken-phone", request)
    page.fill("form[action$='/resolve'] textarea", "Sudah dijelaskan langkah P-IRT dan PKP.")
    page.click("#resolve")
    expect(page.locator("#case-status")).to_have_text("Selesai")
    expect(page.locator("#events")).to_contain_text("diselesaikan")
    shot(page, artifacts_dir, "case-resolved-phone", request)
    page.goto("/dash/cases?tab=mine")
    expect(page.locator("#case-list")).to_contain_text("Belum ada kasus")


def test_staff_compose_and_preview_a_broadcast(new_page, db, content, artifacts_dir, request):
    """The live preview counts the segment and renders a sample as staff type; a broken template
    is refused on screen; sending queues one message per recipient, shown as progress."""
    from sqlalchemy import func, select

    from storage.models.events import BroadcastQueued

    make_user(db, "staf", "staff")
    register_owner(db, content, "+628120000011", "Siti Aminah", "Keripik Bu Siti", area="jakarta-timur",
                   district="duren sawit")
    register_owner(db, content, "+628120000012", "Rina Wati", "Kue Rina", area="jakarta-timur", district="cakung")
    register_owner(db, content, "+628120000013", "Dewi Lestari", "Sabun Dewi", sector="cosmetics",
                   products="sabun sereh", area="jakarta-timur", district="cakung")
    page = new_page()
    sign_in(page, "staf", next_path="/dash/broadcasts/new")
    page.select_option("select[name=city]", "jakarta-timur")
    page.select_option("select[name=sector]", "food")
    page.fill("textarea[name=message]", "Halo {{ name }}, ada pelatihan PKP gratis minggu depan. Balas DAFTAR.")
    expect(page.locator("#preview-count")).to_have_text("2 penerima")
    expect(page.locator("#preview-sample")).to_contain_text("Halo ")
    expect(page.locator("#preview-sample")).to_contain_text("pelatihan PKP gratis")
    shot(page, artifacts_dir, "broadcast-preview", request)
    page.fill("textarea[name=message]", "Halo {{ nama_yang_tidak_ada }}")
    expect(page.locator("#preview-errors")).not_to_have_text("")
    page.fill("textarea[name=message]", "Halo {{ name }}, ada pelatihan PKP gratis minggu depan. Balas DAFTAR.")
    expect(page.locator("#preview-errors")).to_have_text("")
    page.click("#send")
    page.wait_for_load_state("load")
    expect(page).to_have_url(re.compile(r"/dash/broadcasts/\d+$"))
    shot(page, artifacts_dir, "broadcast-progress", request)
    with db.session() as session:  # the recipients are recorded; the sender writes each message
        queued = session.scalar(select(func.count()).select_from(BroadcastQueued))
    assert queued == 2
