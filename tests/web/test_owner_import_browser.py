"""Staff import an office's owner list in the dashboard, in real Chromium: a file with one bad line
imports nothing and names the line; the corrected file imports every owner."""
from __future__ import annotations

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from storage.models import Owner
from tests.dashboard.scripted import make_user
from tests.web.conftest import shot, sign_in

pytestmark = pytest.mark.browser

HEADER = "nama,hp,usaha,sektor,produk,kecamatan,izin\n"
GOOD = HEADER + ("Siti Aminah,0812-3456-7001,Keripik Bu Siti,makanan,keripik singkong,Duren Sawit,nib\n"
                 "Joko Susilo,0813-0000-0002,Jamu Joko,jamu,beras kencur,Jatinegara,belum\n")
BAD = GOOD + "Rudi,12345,Bakso Rudi,makanan,bakso,Duren Sawit,nib\n"


def _owner_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(Owner))


def _upload(page, tmp_path, name: str, text: str, dry_run: bool) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.goto("/dash/owners")
    form = page.locator("#owner-import form")
    form.locator("input[name=source]").fill("Dinas PPKUKM Jakarta Timur 2026")
    form.locator("input[type=file]").set_input_files(str(path))
    checkbox = form.locator("input[name=dry_run]")
    if dry_run:
        checkbox.check()
    else:
        checkbox.uncheck()
    form.get_by_role("button", name="Impor").click()
    page.wait_for_load_state("load")


def test_staff_import_an_owner_list_with_one_bad_line_then_a_good_one(new_page, db, tmp_path, artifacts_dir,
                                                                      request):
    make_user(db, "staf", "staff")
    page = new_page()
    sign_in(page, "staf", next_path="/dash/owners")

    _upload(page, tmp_path, "bad.csv", BAD, dry_run=False)
    result = page.locator("#import-result")
    expect(result).to_contain_text("tidak diimpor")
    expect(result).to_contain_text("line 4: phone '12345' is not a valid phone number")
    shot(page, artifacts_dir, "owner-import-bad-line", request)
    assert _owner_count(db) == 0

    _upload(page, tmp_path, "good.csv", GOOD, dry_run=True)
    expect(page.locator("#import-result")).to_contain_text("2 akan dibuat")
    assert _owner_count(db) == 0

    _upload(page, tmp_path, "good.csv", GOOD, dry_run=False)
    expect(page.locator("#import-result")).to_contain_text("2 baru")
    expect(page.locator("table")).to_contain_text("Keripik Bu Siti")
    expect(page.locator("table")).to_contain_text("Jamu Joko")
    shot(page, artifacts_dir, "owner-import-done", request)
    assert _owner_count(db) == 2


def test_mentors_do_not_see_the_import_form(new_page, db, content, artifacts_dir, request):
    from tests.dashboard.scripted import load_demo_roster

    ids = load_demo_roster(db, content)
    make_user(db, "budi", "mentor", ids["JO-0001"])
    page = new_page()
    sign_in(page, "budi", next_path="/dash/owners")
    expect(page.locator("h1")).to_have_text("Pelaku usaha")
    expect(page.locator("#owner-import")).to_have_count(0)
