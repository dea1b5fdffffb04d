"""How well label reading works on the generated set (bot.labels.synth): per-item precision and
recall of "missing", the permit-number problems, and the verdicts.

The positive class is "the label lacks this item" (what the owner must learn). For the permit
number, a planted problem (absent, wrong length, expired) counts as a positive and any reported
problem as a prediction. `complete_but_missing` counts labels that lack something yet got the
"looks_complete" verdict: it must stay 0.
"""
from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date

from bot.content import Content
from bot.labels import check, ocr, synth
from bot.labels.rules import ITEM_ORDER


@dataclass
class CaseOutcome:
    case: synth.Case
    result: check.LabelResult
    seconds: float


@dataclass
class Evaluation:
    outcomes: list[CaseOutcome] = field(default_factory=list)
    table: dict[str, dict[str, float | int | None]] = field(default_factory=dict)
    missing_recall: float = 0.0
    missing_precision: float = 0.0
    complete_but_missing: list[str] = field(default_factory=list)
    unreadable: list[str] = field(default_factory=list)
    wall_seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.missing_recall >= 0.90 and not self.complete_but_missing


def _ratio(a: int, b: int) -> float | None:
    return round(a / b, 3) if b else None


def run_one(case: synth.Case, content: Content, today: date) -> CaseOutcome:
    started = time.perf_counter()
    reading = ocr.read_bytes(synth.render(case))
    # The generated labels carry the number their route needs; the route is unknown, as for a
    # staff member checking a photo without --product.
    result = check.check_reading(reading, content, today=today)
    return CaseOutcome(case, result, time.perf_counter() - started)


def evaluate(content: Content, count: int = 60, seed: int = 2026, today: date | None = None,
             workers: int | None = None) -> Evaluation:
    today = today or date.today()
    cases = synth.generate(count, seed=seed, today=today)
    workers = workers or max(1, os.cpu_count() or 1)
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        outcomes = list(pool.map(lambda c: run_one(c, content, today), cases))
    evaluation = Evaluation(outcomes=outcomes, wall_seconds=time.perf_counter() - started)
    counts = {key: {"tp": 0, "fp": 0, "fn": 0} for key in (*ITEM_ORDER, "permit_check")}
    for outcome in outcomes:
        case, result = outcome.case, outcome.result
        if not result.readable:
            evaluation.unreadable.append(case.name)
        for key in ITEM_ORDER:
            expected_missing = not case.expected[key]
            # An unreadable photo reports nothing as found: the owner is asked for another photo.
            said_missing = (not result.readable) or (not result.item(key).found)
            _tally(counts[key], expected_missing, said_missing)
        expected_problem = case.permit_problem is not None
        said_problem = (not result.readable) or result.permit.problem is not None
        _tally(counts["permit_check"], expected_problem, said_problem)
        if result.verdict == "looks_complete" and not case.complete:
            evaluation.complete_but_missing.append(case.name)
    total = {"tp": 0, "fp": 0, "fn": 0}
    for key, c in counts.items():
        evaluation.table[key] = {"missing": c["tp"] + c["fn"], "said_missing": c["tp"] + c["fp"],
                                 "precision": _ratio(c["tp"], c["tp"] + c["fp"]),
                                 "recall": _ratio(c["tp"], c["tp"] + c["fn"])}
        for part in total:
            total[part] += c[part]
    evaluation.missing_precision = _ratio(total["tp"], total["tp"] + total["fp"]) or 0.0
    evaluation.missing_recall = _ratio(total["tp"], total["tp"] + total["fn"]) or 0.0
    return evaluation


def _tally(counter: dict[str, int], expected: bool, said: bool) -> None:
    if expected and said:
        counter["tp"] += 1
    elif expected:
        counter["fn"] += 1
    elif said:
        counter["fp"] += 1


def report_lines(evaluation: Evaluation) -> list[str]:
    def pct(value):
        return "  -  " if value is None else f"{value * 100:5.1f}%"

    lines = [f"{'item':<16} {'missing':>7} {'said':>5} {'precision':>9} {'recall':>7}"]
    for key, row in evaluation.table.items():
        lines.append(f"{key:<16} {row['missing']:>7} {row['said_missing']:>5} {pct(row['precision']):>9} "
                     f"{pct(row['recall']):>7}")
    n = len(evaluation.outcomes)
    seconds = sorted(o.seconds for o in evaluation.outcomes)
    lines += [
        f"all items: precision {pct(evaluation.missing_precision)}, recall {pct(evaluation.missing_recall)} "
        f"(CI needs recall >= 90.0%)",
        f"labels: {n}; unreadable: {len(evaluation.unreadable)}; 'looks complete' although something is "
        f"missing: {len(evaluation.complete_but_missing)} (CI needs 0) {' '.join(evaluation.complete_but_missing)}",
        f"verdicts: " + ", ".join(f"{v} {sum(1 for o in evaluation.outcomes if o.result.verdict == v)}"
                                  for v in ("looks_complete", "needs_fixes", "unreadable")),
        f"time: {evaluation.wall_seconds:.1f} s wall; per label p50 {seconds[n // 2]:.2f} s, "
        f"max {seconds[-1]:.2f} s" if n else "time: -",
    ]
    return lines
