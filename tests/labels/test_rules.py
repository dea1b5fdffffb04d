"""The checking rules on known words (no OCR): permit kind against the route, the P-IRT expiry
year, the required best-before wording, halal and claims, and the owner's answer."""
from __future__ import annotations

from datetime import date

import pytest

from bot.labels import check
from bot.labels.answer import messages
from bot.labels.ocr import Reading, Word
from bot.labels.texts import label_text

TODAY = date(2026, 11, 26)
BASE = [
    "KERIPIK PISANG",
    "Komposisi: pisang kepok, minyak sawit, garam",
    "Berat bersih: 150 g",
    "Diproduksi oleh: UD Sari Rasa, Jl. Melati No. 12, Jakarta Timur",
    "P-IRT No. 2063175010123-29",
    "Kode produksi: A2311",
    "Baik digunakan sebelum: 12/05/2027",
]


def reading(lines: list[str]) -> Reading:
    words = []
    for n, line in enumerate(lines):
        height = 40 if n == 0 and line.isupper() else 22
        words += [Word(text=w, conf=92.0, line=n, height=height) for w in line.split()]
    return Reading(words=words)


def run(lines, **kw):
    return check.check_reading(reading(lines), kw.pop("content"), today=TODAY, **kw)


def swap(prefix: str, new: str | None) -> list[str]:
    out = [(new if line.startswith(prefix) else line) for line in BASE]
    return [line for line in out if line is not None]


def test_complete_label_looks_complete_but_is_not_called_a_pass(content):
    result = run(BASE, content=content, route="pirt", halal_certified=False)
    assert result.verdict == "looks_complete" and result.missing == []
    assert result.permit.ok and result.permit.kind == "pirt" and result.permit.expiry_year == 2029
    texts = messages(result, content, "id")
    assert label_text(content, "looks_complete") in texts[1]


@pytest.mark.parametrize("line, problem", [
    ("P-IRT No. 2063175010123-23", "expired"),  # expired in 2023
    ("P-IRT No. 20631750101-29", "wrong_length"),
    ("P-IRT No. 2063175010123-45", "bad_year"),  # later than a full validity period from now
])
def test_permit_number_is_checked_with_the_project_number_rules(content, line, problem):
    result = run(swap("P-IRT", line), content=content, route="pirt")
    assert result.permit.problem == problem and result.verdict == "needs_fixes"
    assert "❌" in messages(result, content, "id")[0]


def test_permit_kind_against_the_route(content):
    result = run(swap("P-IRT", "BPOM RI MD 234567890123456"), content=content, route="pirt")
    assert (result.permit.kind, result.permit.problem) == ("md", "wrong_kind")
    assert run(swap("P-IRT", "BPOM RI MD 234567890123456"), content=content, route="md").permit.ok
    # no distribution permit on a route that needs none: not counted as missing
    assert run(swap("P-IRT", None), content=content, route="food_none").verdict == "looks_complete"
    assert run(swap("P-IRT", None), content=content, route="pirt").missing == ["permit_number"]


def test_best_before_needs_the_required_wording(content):
    result = run(swap("Baik", "Exp: 12/05/2027"), content=content)
    assert result.item("best_before").note == "wording" and "best_before" in result.missing
    assert "(tertulis lain)" in messages(result, content, "id")[0]


def test_halal_logo_without_certificate_non_halal_and_claims(content):
    with_logo = BASE + ["HALAL"]
    assert "halal_without_certificate" in run(with_logo, content=content, halal_certified=False).warnings
    assert run(with_logo, content=content, halal_certified=True).warnings == []
    pork = swap("Komposisi", "Komposisi: daging babi, garam, gula")
    assert "non_halal_unstated" in run(pork, content=content).warnings
    assert run(pork + ["TIDAK HALAL"], content=content).warnings == []
    claim = BASE + ["Menyembuhkan maag dan asam urat"]
    result = run(claim, content=content)
    assert "claim" in result.warnings and result.verdict == "needs_fixes"
    assert "menyembuhkan" in messages(result, content, "id")[1]


def test_every_problem_and_warning_has_words_in_both_languages(content):
    for lang in ("id", "en"):
        for problem in ("ok", "wrong_length", "wrong_prefix", "unknown_kind", "bad_year", "expired",
                        "wrong_kind", "missing"):
            assert label_text(content, f"permit.{problem}", lang, kind="P-IRT", number="1", read="x", year=2020,
                              expected="MD")
        for warning in ("halal_without_certificate", "non_halal_unstated", "halal_and_non_halal", "claim"):
            assert label_text(content, f"warning.{warning}", lang, claim="obat")
            assert label_text(content, f"fix_warning.{warning}", lang)


def test_worst_case_answer_stays_short(content):
    lines = swap("Komposisi", None)
    lines = [line for line in lines if not line.startswith(("Berat", "Kode"))] + ["HALAL", "Obat alami darah tinggi"]
    result = run(lines, content=content, halal_certified=False)
    for lang in ("id", "en"):
        texts = messages(result, content, lang)
        assert len(texts) <= 2 and all(len(t) <= 450 for t in texts), texts


def test_too_few_words_is_unreadable(content):
    result = run(["KER1P"], content=content)
    assert result.verdict == "unreadable"
    assert messages(result, content, "id") == [label_text(content, "unreadable")]
