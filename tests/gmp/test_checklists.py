"""The GMP checklists and the level rule as content: complete, well-formed, and checked."""
from __future__ import annotations

import copy

from bot import gmp
from bot.gmp import SEVERITIES, check_gmp_content, load_checklist, load_checklists, load_levels, parse_checklist, parse_levels


def test_cppb_irt_has_all_14_aspects_and_37_items(content):
    checklist = load_checklist(content, "cppb_irt")
    assert [a.code for a in checklist.aspects] == list("ABCDEFGHIJKLMN")
    assert len(checklist.items) == 37
    assert {item.severity for item in checklist.items} == set(SEVERITIES)
    assert checklist.source and checklist.last_reviewed and checklist.verify


def test_cppb_irt_critical_items_include_the_domain_examples(content):
    checklist = load_checklist(content, "cppb_irt")
    critical = {item.id for item in checklist.items if item.severity == "critical"}
    # rusty food-contact surfaces, unclean water, closed bins, sick workers, hand-washing, pets,
    # hazardous materials/additives, label information, health claims, PKP person, recall
    assert {"C5", "D9", "E13", "F14", "E11", "G21", "I25", "J30", "J31", "K32", "L34"} <= critical


def test_every_checklist_loads_with_both_languages(content):
    checklists = load_checklists(content)
    assert set(checklists) == {"cppb_irt", "cppob", "cpkb", "cpotb"}
    for checklist in checklists.values():
        assert checklist.source and checklist.last_reviewed
        for item in checklist.items:
            for part in ("question", "why", "fix"):
                assert set(getattr(item, part)) == {"id", "en"}, (checklist.id, item.id, part)


def test_cpkb_covers_the_12_cpkb_aspects(content):
    assert len(load_checklist(content, "cpkb").aspects) == 12


def test_cpotb_covers_the_10_cpotb_aspects(content):
    assert len(load_checklist(content, "cpotb").aspects) == 10


def test_gmp_content_check_passes_on_shipped_content(content):
    assert check_gmp_content(content) == []


def test_content_check_catches_a_broken_item(content):
    raw = copy.deepcopy(content.data("gmp/cppb_irt.yaml"))
    item = raw["aspects"][0]["items"][0]
    item["severity"] = "terrible"
    item["question"]["id"] = "Tanpa tanda tanya"
    del item["fix"]["en"]
    raw["aspects"][1]["items"][0]["id"] = "A1"  # duplicate id
    del raw["last_reviewed"]
    _checklist, errors = parse_checklist(raw, "cppb_irt")
    text = "\n".join(errors)
    assert "severity must be one of" in text
    assert "ends with '?'" in text
    assert "fix: missing text in 'en'" in text
    assert "duplicate item id" in text
    assert "last_reviewed" in text


def test_level_rule_is_marked_verify_with_intervals(content):
    rule = load_levels(content)
    assert rule.verify and rule.source and rule.last_reviewed
    assert [level.level for level in rule.levels] == ["I", "II", "III", "IV"]
    assert [level.audit_every_days for level in rule.levels] == [60, 30, 14, 1]
    assert all(level.remind_after_days >= 1 for level in rule.levels)


def test_levels_check_refuses_a_last_level_with_limits_and_missing_verify(content):
    raw = copy.deepcopy(content.data(gmp.LEVELS_FILE))
    raw["levels"][-1]["max"] = {"critical": 3}
    raw["verify"] = False
    _rule, errors = parse_levels(raw)
    text = "\n".join(errors)
    assert "last level must have no limits" in text
    assert "verify" in text
