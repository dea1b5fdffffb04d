"""The handoff content checks catch what staff could break by editing content/handoff and texts."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.content import Content

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def content_copy(tmp_path) -> Path:
    target = tmp_path / "content"
    shutil.copytree(REPO / "content", target)
    return target


def _errors(root: Path) -> list[str]:
    return Content(root).check().errors


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_a_missing_mentor_text_used_only_by_an_action_is_caught(content_copy):
    en = content_copy / "texts" / "en.yaml"
    _edit(en, '  taken_by_other: "Case #{{ case_id }} was already taken by {{ name }}."\n', "")
    assert "texts/en.yaml: missing key 'handoff.taken_by_other' (used in actions.py)" in _errors(content_copy)


def test_bad_sla_numbers_and_holidays_are_caught(content_copy):
    sla = content_copy / "handoff" / "sla.yaml"
    _edit(sla, "escalate_after_hours: 8", "escalate_after_hours: 3")
    _edit(sla, 'mon: ["08:00-16:00"]', 'mon: ["8 sampai 4"]')
    _edit(content_copy / "handoff" / "holidays.yaml", "kind: cuti_bersama, name: Natal}", "kind: natal, name: Natal}")
    errors = "\n".join(_errors(content_copy))
    assert "escalate_after_hours must be more than remind_after_hours" in errors
    assert "write them as HH:MM-HH:MM" in errors
    assert "kind must be libur or cuti_bersama" in errors


def test_a_broken_demo_roster_row_is_caught(content_copy):
    roster = content_copy / "handoff" / "demo_mentors.csv"
    _edit(roster, "Kebon Jeruk | Palmerah", "Kebon Jerukistan")
    assert any("demo_mentors.csv: line 2: kecamatan 'Kebon Jerukistan'" in e for e in _errors(content_copy))


def test_a_command_word_used_twice_is_caught(content_copy):
    _edit(content_copy / "handoff" / "commands.yaml", "take: [ambil, take]", "take: [ambil, take, lihat]")
    assert "handoff/commands.yaml: 'lihat' is used by show and take" in _errors(content_copy)
