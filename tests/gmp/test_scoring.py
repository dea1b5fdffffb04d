"""Answers -> findings -> level: the pure rules, without a conversation or a database."""
from __future__ import annotations

import pytest

from bot.gmp import choose_checklist, load_checklist, load_levels, score, trend


@pytest.fixture
def cppb(content):
    return load_checklist(content, "cppb_irt")


@pytest.fixture
def rule(content):
    return load_levels(content)


def all_yes(checklist):
    return {item.id: "yes" for item in checklist.items}


@pytest.mark.parametrize("counts, level", [
    ({}, "I"),
    ({"minor": 1, "major": 1}, "I"),
    ({"minor": 2}, "II"),
    ({"major": 2}, "II"),
    ({"major": 3, "minor": 5}, "II"),
    ({"major": 4}, "III"),
    ({"serious": 1}, "III"),
    ({"serious": 4, "major": 9}, "III"),
    ({"serious": 5}, "IV"),
    ({"critical": 1}, "IV"),
])
def test_level_from_counts(rule, counts, level):
    assert rule.level_for(counts).level == level


def test_all_yes_is_level_one_without_findings(cppb, rule):
    result = score(cppb, all_yes(cppb), rule)
    assert result.level.level == "I"
    assert result.findings == [] and result.answered == 37 and not result.needs_mentor


def test_mixed_answers_give_findings_by_severity_and_level(cppb, rule):
    answers = all_yes(cppb) | {"A1": "no", "B3": "no", "C7": "no", "F15": "no", "C6": "no"}
    result = score(cppb, answers, rule)
    assert result.counts == {"critical": 0, "serious": 1, "major": 2, "minor": 2}
    assert result.level.level == "III"
    assert [f.item.id for f in result.top_fixes()] == ["C6", "C7", "F15"]


def test_unknown_counts_as_finding_and_is_reported_apart(cppb, rule):
    result = score(cppb, all_yes(cppb) | {"B4": "unknown", "A1": "no"}, rule)
    assert result.counts["minor"] == 2 and result.unknown == 1
    assert result.level.level == "II"


def test_sure_no_comes_before_unknown_at_same_severity(cppb, rule):
    result = score(cppb, all_yes(cppb) | {"C7": "unknown", "F15": "no"}, rule)
    assert [f.item.id for f in result.findings] == ["F15", "C7"]


def test_critical_no_needs_mentor_and_is_level_four(cppb, rule):
    result = score(cppb, all_yes(cppb) | {"G21": "no"}, rule)
    assert result.level.level == "IV" and result.needs_mentor and result.critical_items == ["G21"]


def test_unknown_on_critical_item_needs_mentor(cppb, rule):
    result = score(cppb, all_yes(cppb) | {"K32": "unknown"}, rule)
    assert result.needs_mentor and result.critical_items == ["K32"]


def test_unknown_not_counted_when_content_says_so(cppb, rule):
    from dataclasses import replace

    lenient = replace(rule, unknown_counts_as_finding=False)
    result = score(cppb, all_yes(cppb) | {"B4": "unknown", "B3": "unknown"}, lenient)
    assert result.findings == [] and result.unknown == 2 and result.level.level == "I"


def test_unanswered_items_are_not_findings(cppb, rule):
    result = score(cppb, {"A1": "yes", "B2": "no"}, rule)
    assert result.answered == 2 and result.total == 37 and len(result.findings) == 1


@pytest.mark.parametrize("sector, permits, expected", [
    ("food", [], "cppb_irt"),
    ("food", ["nib", "pirt"], "cppb_irt"),
    ("food", ["nib", "bpom"], "cppob"),
    ("cosmetics", [], "cpkb"),
    ("herbal", ["nib"], "cpotb"),
    ("other", [], None),
    (None, [], None),
])
def test_checklist_offered_by_sector_and_permit(content, sector, permits, expected):
    assert choose_checklist(content, sector, permits) == expected


def test_trend_against_last_check():
    assert trend(None, 3) == "first"
    assert trend(4, 1) == "better"
    assert trend(1, 1) == "same"
    assert trend(1, 2) == "worse"
