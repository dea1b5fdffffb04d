"""The generated label set (bot.labels.synth: 60 labels, several fonts and sizes, turned, blurred,
low contrast, JPEG noise; complete ones and ones missing items or carrying a wrong or expired permit
number), read and checked end to end: the CI bar of `umkm-bot labels eval`."""
from __future__ import annotations

from datetime import date

from bot.labels import evaluate, synth

SEED = 2026
TODAY = date(2026, 11, 26)


def test_generated_set_covers_the_variations():
    cases = synth.generate(60, seed=SEED, today=TODAY)
    assert len(cases) >= 60
    assert len({c.render["font"] for c in cases}) >= 4
    assert len({c.render["size"] for c in cases}) >= 5
    assert any(c.render["rotate"] for c in cases) and any(c.render["blur"] for c in cases)
    assert any(c.render["low_contrast"] for c in cases)
    assert sum(c.complete for c in cases) >= 6
    assert {c.permit_problem for c in cases} >= {None, "wrong_length", "expired", "absent"}
    assert any(sum(not v for v in c.expected.values()) == 2 for c in cases)


def test_missing_items_are_found_and_no_incomplete_label_looks_complete(content):
    evaluation = evaluate.evaluate(content, count=60, seed=SEED, today=TODAY)
    report = "\n".join(evaluate.report_lines(evaluation))
    print(report)
    assert evaluation.missing_recall >= 0.90, report
    assert evaluation.complete_but_missing == [], report
    # Complete, readable labels are mostly recognised as such (not everything flagged).
    complete = [o for o in evaluation.outcomes if o.case.complete]
    assert sum(o.result.verdict == "looks_complete" for o in complete) >= len(complete) // 2, report
