"""The P1-P7 programme funnel in real Chromium: staff record P5 on an owner's page, the funnel shows
it, and the funnel's CSV download holds the same numbers as the page."""
from __future__ import annotations

import csv
import io
import re

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from storage.models import Owner
from tests.dashboard.scripted import make_user, register_owner
from tests.web.conftest import shot, sign_in

pytestmark = pytest.mark.browser


def test_funnel_renders_and_its_csv_matches(new_page, db, content, artifacts_dir, request):
    register_owner(db, content, "+628120000031", "Siti Aminah", "Keripik Bu Siti", permits=("nib",))
    register_owner(db, content, "+628120000032", "Joko Susilo", "Jamu Joko", sector="herbal",
                   products="beras kencur", area="jakarta-timur", district="duren sawit")
    with db.session() as session:
        siti = session.scalar(select(Owner.id).where(Owner.address == "+628120000031"))
    make_user(db, "staf", "staff")
    page = new_page()
    sign_in(page, "staf", next_path=f"/dash/owners/{siti}")

    form = page.locator("#programme-record")
    form.locator("select[name=step]").select_option("p5")
    form.locator("input[name=date]").fill("2026-11-02")
    form.locator("input[name=note]").fill("Ikut bazar UMKM Jakbar")
    form.get_by_role("button", name="Catat").click()
    expect(page.locator("#programme .ok")).to_contain_text("tercatat")
    expect(page.locator("#step-p5")).to_contain_text("02-11-2026")
    expect(page.locator("#step-p4")).to_contain_text("✓")  # her NIB

    page.goto("/dash/programme")
    expect(page.locator("h1")).to_have_text("Program 7 PAS (P1–P7)")
    funnel = page.locator("#programme-funnel")
    shown = {row.get_attribute("data-step"): int(row.locator("td").nth(1).inner_text())
             for row in funnel.locator("tbody tr").all()}
    assert shown == {"p1": 2, "p2": 0, "p3": 0, "p4": 1, "p5": 1, "p6": 0, "p7": 0}
    expect(page.locator("#card-programme svg")).to_be_visible()
    shot(page, artifacts_dir, "programme-funnel", request)

    download = page.request.get("/dash/programme/funnel.csv")
    assert download.ok
    rows = list(csv.reader(io.StringIO(download.text().lstrip("\ufeff"))))
    assert rows[0][1:] == ["P1 Pendaftaran", "P2 Pelatihan", "P3 Pendampingan", "P4 Perizinan", "P5 Pemasaran",
                           "P6 Pelaporan keuangan", "P7 Permodalan"]
    assert [int(v) for v in rows[1][1:]] == [shown[f"p{i}"] for i in range(1, 8)]

    per_owner = page.request.get("/dash/programme/owners.csv")
    owners = {r[1]: r for r in csv.reader(io.StringIO(per_owner.text().lstrip("\ufeff")))}
    assert owners["Siti Aminah"][-3] == "2026-11-02"  # P5 column
    assert re.fullmatch(r"\d{4}-\d{2}", owners["Joko Susilo"][4])  # cohort

    page.goto("/dash/indicators")
    expect(page.locator("#card-programme")).to_contain_text("P5 Pemasaran")
