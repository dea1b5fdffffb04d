"""Run the product table (tests/legality/product_table.yaml) and report per-route precision/recall.

    .venv/bin/python -m tests.legality.product_table      prints the report and every failing case

Each case is classified from the owner's words; every question the bot asks is answered from the
case's `answers`. A question the case has no answer for is a failure (the bot asked something it
should not need, or the case is incomplete), as is a wrong route, reason, halal route, or question list.
"""
from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.content import Content
from bot.legality import classify

TABLE = Path(__file__).with_name("product_table.yaml")
NO_ROUTE = "(no answer)"


@dataclass
class Outcome:
    case: dict
    route: str
    reason: str | None = None
    halal: str | None = None
    asked: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def cases() -> list[dict]:
    return yaml.safe_load(TABLE.read_text(encoding="utf-8"))["cases"]


def run_case(content: Content, case: dict) -> Outcome:
    decision, _ = classify.classify_text(case["text"], content)
    answers = case.get("answers") or {}
    asked: list[str] = []
    problems: list[str] = []
    while decision.status == "ask":
        asked.append(decision.question)
        if decision.question not in answers:
            problems.append(f"asked {decision.question!r}, which the case does not answer")
            break
        decision = classify.answer(content, decision, bool(answers[decision.question]))
    if decision.status == "ask":
        route = NO_ROUTE
    elif decision.status in ("outside", "undecided"):
        route = "outside"
    else:
        route = decision.route or NO_ROUTE
    outcome = Outcome(case, route, decision.reason, decision.halal_route, asked, problems)
    if route != case["route"]:
        problems.append(f"route {route!r}, expected {case['route']!r}")
    if "reason" in case and decision.reason != case["reason"]:
        problems.append(f"reason {decision.reason!r}, expected {case['reason']!r}")
    if "halal" in case and decision.halal_route != case["halal"]:
        problems.append(f"halal {decision.halal_route!r}, expected {case['halal']!r}")
    if "asks" in case and asked != list(case["asks"]):
        problems.append(f"asked {asked}, expected {case['asks']}")
    return outcome


def per_route(outcomes: list[Outcome]) -> dict[str, tuple[float, float, int]]:
    """route -> (precision, recall, support)."""
    tp: Counter = Counter()
    predicted: Counter = Counter()
    expected: Counter = Counter()
    for o in outcomes:
        predicted[o.route] += 1
        expected[o.case["route"]] += 1
        if o.route == o.case["route"]:
            tp[o.route] += 1
    table = {}
    for route in sorted(set(predicted) | set(expected)):
        precision = tp[route] / predicted[route] if predicted[route] else 0.0
        recall = tp[route] / expected[route] if expected[route] else 0.0
        table[route] = (precision, recall, expected[route])
    return table


def report(outcomes: list[Outcome]) -> str:
    lines = [f"product table: {len(outcomes)} cases "
             f"({sum(1 for o in outcomes if o.case.get('tag') == 'd2')} from DOMAIN-2, "
             f"{sum(1 for o in outcomes if o.case.get('tag') == 'edge')} boundary cases)",
             f"{'route':<18}{'precision':>10}{'recall':>8}{'cases':>7}"]
    for route, (p, r, n) in per_route(outcomes).items():
        lines.append(f"{route:<18}{p:>10.1%}{r:>8.1%}{n:>7}")
    failing = [o for o in outcomes if o.problems]
    lines.append(f"cases fully right (route, reason, halal, questions): {len(outcomes) - len(failing)}/{len(outcomes)}")
    for o in failing:
        lines.append(f"  FAIL {o.case['text']!r}: {'; '.join(o.problems)}  [rule: {o.case['rule']}]")
    return "\n".join(lines)


def main() -> int:
    content = Content(Path(__file__).resolve().parents[2] / "content")
    outcomes = [run_case(content, case) for case in cases()]
    print(report(outcomes))
    return 1 if any(o.problems for o in outcomes) else 0


if __name__ == "__main__":
    sys.exit(main())
