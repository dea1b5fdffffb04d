"""The I-IV level table belongs to CPPB-IRT only; CPPOB, CPKB and CPOTB results are estimates in
their own terms; a CPPB-IRT Level III-IV says plainly the P-IRT inspection would not pass yet."""
from __future__ import annotations

import copy
import shutil
from pathlib import Path

import yaml

from bot import gmp
from bot.content import Content

REPO = Path(__file__).resolve().parents[2]


def test_cppb_irt_levels_are_official_and_iii_iv_say_the_inspection_would_not_pass(content):
    rule = gmp.load_levels(content)
    three = rule.view("cppb_irt", rule.get("III"), "id", first_fix="Sediakan tempat sampah tertutup.")
    assert three.official and three.heading == "Level III"
    assert "pemeriksaan P-IRT belum akan lolos" in three.not_ready
    assert three.not_ready.endswith("Perbaiki dulu: Sediakan tempat sampah tertutup.")
    assert "inspection would not pass" in rule.view("cppb_irt", rule.get("IV"), "en", first_fix="x").not_ready
    assert rule.view("cppb_irt", rule.get("II"), "id", first_fix="x").not_ready == ""


def test_other_schemes_get_an_estimate_in_their_own_terms_never_levels(content):
    rule = gmp.load_levels(content)
    for scheme, word in (("cppob", "CPPOB"), ("cpkb", "CPKB"), ("cpotb", "CPOTB")):
        for name in ("I", "II", "III", "IV"):
            view = rule.view(scheme, rule.get(name), "id", first_fix="x")
            assert not view.official and view.not_ready == ""
            assert view.heading.startswith(f"Perkiraan kesiapan {word}: ") and "Level" not in view.heading
            assert "perkiraan" in view.note.lower() and "Level I-IV" in view.note


def test_content_check_requires_an_estimate_for_every_checklist_but_cppb_irt(tmp_path):
    root = tmp_path / "content"
    shutil.copytree(REPO / "content", root)
    path = root / "gmp" / "levels.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    broken = copy.deepcopy(raw)
    del broken["estimates"]["cpotb"]
    del broken["estimates"]["cppob"]["grades"]["III"]
    path.write_text(yaml.safe_dump(broken, allow_unicode=True, sort_keys=False), encoding="utf-8")
    errors = gmp.check_gmp_content(Content(root))
    assert any("estimates.cpotb missing" in e for e in errors)
    assert any("estimates.cppob.grades.III" in e for e in errors)
