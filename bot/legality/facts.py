"""Every regulatory fact the bot may tell an owner, as one reviewable table.

A "fact" is a content node that carries `sources` and `last_reviewed`: a legality step, the halal
deadline, the product rules, an FAQ answer, a glossary term, a GMP checklist or the GMP level rule.
`umkm-bot content facts` prints them as CSV (staff review them in a spreadsheet); `umkm-bot
content check` fails on a fact not reviewed for more than `MAX_AGE_DAYS`.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from bot.clock import local
from bot.content import Content, ContentError
from bot.legality import rules

MAX_AGE_DAYS = 365  # "older than 12 months since review" fails the content check
COLUMNS = ["file", "kind", "key", "title", "sources", "source_titles", "last_reviewed", "verify", "verify_note"]


@dataclass(frozen=True)
class Fact:
    file: str
    kind: str
    key: str
    title: str
    sources: tuple[str, ...]
    last_reviewed: date | None
    verify: bool
    verify_note: str

    def row(self, source_titles: dict[str, str]) -> list[str]:
        return [self.file, self.kind, self.key, self.title, "; ".join(self.sources),
                " | ".join(source_titles.get(s, s) for s in self.sources),
                self.last_reviewed.isoformat() if self.last_reviewed else "",
                "yes" if self.verify else "no", self.verify_note]


def _text(value: Any) -> str:
    return str(rules.lang_text(value, "id") or "") if value is not None else ""


def _date(value: Any) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        return None


def _sources(node: dict) -> tuple[str, ...]:
    cited = node.get("sources")
    if cited is None and node.get("source"):
        cited = [node["source"]]
    return tuple(str(s) for s in cited or [])


def regulatory_facts(content: Content) -> list[Fact]:
    facts: list[Fact] = []
    for key, step in rules.steps(content).items():
        verify = list(step.get("verify") or [])
        note = _text(step.get("verify_note")) if verify else ""
        if verify:
            note = f"[{', '.join(verify)}] {note}"
        facts.append(Fact(rules.STEPS_FILE, "step", key, _text(step.get("name")), _sources(step),
                          _date(step.get("last_reviewed")), bool(verify), note))
    deadline = (content.data(rules.STEPS_FILE) or {}).get("halal_deadline")
    if deadline:
        facts.append(Fact(rules.STEPS_FILE, "deadline", "halal_deadline", _text(deadline.get("text"))[:120],
                          _sources(deadline), _date(deadline.get("last_reviewed")), bool(deadline.get("verify")), ""))
    products = rules.products(content)
    verify_reasons = set(products.get("verify_reasons") or [])
    facts.append(Fact(rules.PRODUCTS_FILE, "product_rules", "rules", "Aturan jalur izin per produk",
                      _sources(products), _date(products.get("last_reviewed")), bool(verify_reasons),
                      "reasons shown with a caveat: " + ", ".join(sorted(verify_reasons)) if verify_reasons else ""))
    for product in products.get("products") or []:
        if product.get("verify"):
            facts.append(Fact(rules.PRODUCTS_FILE, "product", str(product.get("key")), _text(product.get("name")),
                              _sources(products), _date(products.get("last_reviewed")), True,
                              "route of this product is uncertain"))
    for entry in rules.faq_entries(content):
        facts.append(Fact(rules.FAQ_DIR, "faq", str(entry.get("id")), _text(entry.get("title")), _sources(entry),
                          _date(entry.get("last_reviewed")), bool(entry.get("verify")), ""))
    for key, term in rules.glossary(content).items():
        facts.append(Fact(rules.GLOSSARY_FILE, "glossary", key, _text(term.get("short")), _sources(term),
                          _date(term.get("last_reviewed")), bool(term.get("verify")), ""))
    facts.extend(_gmp_facts(content))
    return facts


def _gmp_facts(content: Content) -> list[Fact]:
    from bot import gmp

    out: list[Fact] = []
    for name in gmp.checklist_names(content) + ["levels"]:
        relative = f"{gmp.CHECKLIST_DIR}/{name}.yaml"
        try:
            raw = content.data(relative) or {}
        except ContentError:
            continue
        title = _text(raw.get("title") or raw.get("name") or raw.get("short")) or name
        out.append(Fact(relative, "gmp", name, title, _sources(raw), _date(raw.get("last_reviewed")),
                        bool(raw.get("verify")), _text(raw.get("verify_note"))))
    return out


def facts_csv(content: Content) -> str:
    titles = {key: str(value.get("title") or "") for key, value in rules.sources(content).items()}
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(COLUMNS)
    for fact in regulatory_facts(content):
        writer.writerow(fact.row(titles))
    return buffer.getvalue()


def stale_facts(content: Content, today: date | None = None, max_age_days: int = MAX_AGE_DAYS) -> list[str]:
    """Errors for facts last reviewed more than `max_age_days` ago (or with no review date)."""
    today = today or local().date()
    oldest = today - timedelta(days=max_age_days)
    errors = []
    for fact in regulatory_facts(content):
        if fact.last_reviewed is None:
            errors.append(f"{fact.file}: {fact.kind} {fact.key}: no last_reviewed date")
        elif fact.last_reviewed < oldest:
            errors.append(f"{fact.file}: {fact.kind} {fact.key}: last reviewed {fact.last_reviewed.isoformat()}, "
                          f"more than 12 months ago; review it against its sources and update last_reviewed")
    return errors
