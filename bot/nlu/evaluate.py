"""Measure the understanding step on a labelled corpus, like `rasa test nlu`.

Corpus files (tests/nlu/*.yaml): `messages:` items {t: text, i: interpretation, s: {slot: value},
c: {about: permit}}. Every message is read as a first message outside any flow (no database); `c`
says it follows an answer about that permit (a follow-up question: "itu ngurusnya dimana?"). Reported: accuracy,
per-interpretation precision / recall / F1, the top confusions, slot accuracy per slot, and the
messages that were not understood as labelled.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from bot.content import Content
from bot.nlu.scoring import Context
from bot.nlu.understand import interpret

REPO = Path(__file__).resolve().parents[2]
CORPUS_DIR = REPO / "tests" / "nlu"
PARTS = {"heldout": ["heldout.yaml"], "dev": ["dev.yaml"], "fresh": ["fresh.yaml"], "sealed": ["sealed.yaml"], "all": ["dev.yaml", "heldout.yaml"]}


def load(part: str, directory: Path = CORPUS_DIR) -> list[dict]:
    items: list[dict] = []
    for name in PARTS[part]:
        path = directory / name
        if path.exists():
            items.extend(yaml.safe_load(path.read_text(encoding="utf-8"))["messages"])
    return items


@dataclass
class Report:
    total: int = 0
    correct: int = 0
    fully: int = 0  # the interpretation and every labelled slot right: what the owner gets answered
    pairs: list[tuple[str, str]] = field(default_factory=list)  # (expected, got)
    slot_checks: Counter = field(default_factory=Counter)
    slot_correct: Counter = field(default_factory=Counter)
    errors: list[tuple[str, str, str]] = field(default_factory=list)  # text, expected, got
    slot_errors: list[tuple[str, str, object, object]] = field(default_factory=list)

    @property
    def accuracy(self) -> float:
        return self.correct / self.total if self.total else 0.0

    def per_label(self) -> list[tuple[str, float, float, float, int]]:
        labels = sorted({e for e, _ in self.pairs} | {g for _, g in self.pairs})
        rows = []
        for label in labels:
            tp = sum(1 for e, g in self.pairs if e == label and g == label)
            predicted = sum(1 for _, g in self.pairs if g == label)
            support = sum(1 for e, _ in self.pairs if e == label)
            precision = tp / predicted if predicted else 0.0
            recall = tp / support if support else 0.0
            f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
            rows.append((label, precision, recall, f1, support))
        return rows

    def confusions(self, top: int = 10) -> list[tuple[tuple[str, str], int]]:
        return Counter((e, g) for e, g in self.pairs if e != g).most_common(top)

    @property
    def slot_accuracy(self) -> float:
        total = sum(self.slot_checks.values())
        return sum(self.slot_correct.values()) / total if total else 0.0


def evaluate(items: list[dict], content: Content) -> Report:
    report = Report()
    for item in items:
        # `c: {about: nib}`: asked right after an answer about that permit (a follow-up question).
        ctx = Context(content, last_about=(item.get("c") or {}).get("about"))
        understanding = interpret(item["t"], content, ctx)
        got, expected = understanding.label, item["i"]
        report.total += 1
        report.pairs.append((expected, got))
        if got == expected:
            report.correct += 1
        else:
            report.errors.append((item["t"], expected, got))
        slots = understanding.slots if got == expected else {
            **{k: understanding.reading.slots[k] for k in understanding.reading.slots},
            "negated": understanding.reading.negated, "act": understanding.reading.act}
        slots_right = True
        for name, value in (item.get("s") or {}).items():
            report.slot_checks[name] += 1
            if slots.get(name) == value:
                report.slot_correct[name] += 1
            else:
                slots_right = False
                report.slot_errors.append((item["t"], name, value, slots.get(name)))
        report.fully += got == expected and slots_right
    return report


def render(report: Report, title: str, show_errors: int = 0) -> str:
    lines = [f"{title}: {report.correct}/{report.total} understood as labelled = {report.accuracy:.1%}",
             f"with every labelled slot right too (topic, product, action): {report.fully}/{report.total}"
             f" = {report.fully / max(report.total, 1):.1%}",
             "", f"{'interpretation':<18}{'precision':>10}{'recall':>8}{'f1':>7}{'support':>9}"]
    for label, precision, recall, f1, support in report.per_label():
        lines.append(f"{label:<18}{precision:>10.2f}{recall:>8.2f}{f1:>7.2f}{support:>9}")
    lines += ["", "top confusions (expected -> got: count)"]
    lines += [f"  {e} -> {g}: {n}" for (e, g), n in report.confusions()] or ["  none"]
    lines += ["", f"slot accuracy: {sum(report.slot_correct.values())}/{sum(report.slot_checks.values())}"
                  f" = {report.slot_accuracy:.1%}"]
    for name in sorted(report.slot_checks):
        lines.append(f"  {name:<10}{report.slot_correct[name]:>4}/{report.slot_checks[name]:<4}")
    if show_errors:
        lines += ["", "not understood as labelled:"]
        lines += [f"  [{e} -> {g}] {t}" for t, e, g in report.errors[:show_errors]]
        lines += ["", "slot misses:"]
        lines += [f"  [{n}: {v!r} -> {got!r}] {t}" for t, n, v, got in report.slot_errors[:show_errors]]
    return "\n".join(lines)


def by_interpretation(items: list[dict]) -> dict[str, int]:
    counts: dict[str, int] = defaultdict(int)
    for item in items:
        counts[item["i"]] += 1
    return dict(counts)
