"""The owner's answer to a label photo: at most two short messages.

1. The checklist: each item ✅ found or ❌ seems missing, the permit number with its check.
2. Warnings (halal logo without a certificate, pork without "tidak halal", medicinal claims) and
   ONE next step: the first thing to fix, or "sepertinya lengkap, pendamping bisa memastikan".
   Both end with the offer of a mentor. Nothing here ever says the label passes.
An unreadable photo gets one message asking for a closer, straight photo in good light.
"""
from __future__ import annotations

from bot.content import Content
from bot.labels.check import LabelResult
from bot.labels.rules import items as rule_items
from bot.labels.texts import label_text
from bot.legality.rules import lang_text

MAX_WARNINGS = 2  # more would make the message too long; the mentor sees them all


def _permit_line(result: LabelResult, content: Content, lang: str) -> str:
    permit = result.permit
    item = result.item("permit_number")
    if item.note == "not_required" and not permit.found:
        return label_text(content, "not_required", lang)
    kind = label_text(content, f"kind.{permit.kind}", lang) if permit.kind else ""
    expected = label_text(content, f"kind.{permit.expected_kind}", lang) if permit.expected_kind else ""
    problem = permit.problem if permit.found else "missing"
    wanted = "permit.ok" if permit.ok else f"permit.{problem}"
    return label_text(content, wanted, lang, kind=kind, number=permit.number, read=permit.text[:40],
                      year=permit.expiry_year or "", expected=expected)


def checklist(result: LabelResult, content: Content, lang: str, product: str = "") -> str:
    names = rule_items(content)
    lines = [label_text(content, "header", lang, product=product)]
    for item in result.items:
        if item.key == "permit_number":
            lines.append(_permit_line(result, content, lang))
            continue
        name = lang_text(names[item.key]["name"], lang)
        if item.found:
            lines.append(label_text(content, "found", lang, name=name))
        elif item.note == "wording":
            lines.append(label_text(content, "wording", lang, name=name))
        else:
            lines.append(label_text(content, "missing", lang, name=name))
    return "\n".join(lines)


def next_fix(result: LabelResult, content: Content, lang: str) -> str | None:
    """The one thing to do first, or None when nothing seems wrong."""
    names = rule_items(content)
    for item in result.items:
        if item.key == "permit_number":
            if item.note == "not_required" and not result.permit.found:
                continue
            if not result.permit.found:
                return lang_text(names["permit_number"]["fix"], lang)
            if result.permit.problem:
                wanted = "fix_permit.expired" if result.permit.problem == "expired" else "fix_permit.other"
                return label_text(content, wanted, lang)
            continue
        if not item.found:
            return lang_text(names[item.key]["fix"], lang)
    for warning in result.warnings:
        return label_text(content, f"fix_warning.{warning}", lang)
    return None


def messages(result: LabelResult, content: Content, lang: str, product: str = "") -> list[str]:
    if result.verdict == "unreadable":
        return [label_text(content, "unreadable", lang)]
    first = checklist(result, content, lang, product)
    warnings = [label_text(content, f"warning.{w}", lang, claim=(result.claims or [""])[0])
                for w in result.warnings[:MAX_WARNINGS]]
    fix = next_fix(result, content, lang)
    if result.verdict == "looks_complete" or fix is None:
        closing = label_text(content, "looks_complete", lang)
    else:
        closing = label_text(content, "next_fix", lang, fix=fix)
    return [first, "\n".join([*warnings, closing])]
