"""Reading the legality content, and checking it.

Every fact an owner may read (a step, a classification rule set, an FAQ answer, a glossary entry)
names its `sources` (keys of content/legality/sources.yaml) and a `last_reviewed` date; facts that
DOMAIN.md marks uncertain carry `verify`. `check_legality_content` is what `umkm-bot content check`
runs (registered from flows/legality.py).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.content import Content, ContentError

STEPS_FILE = "legality/steps.yaml"
PRODUCTS_FILE = "legality/products.yaml"
SOURCES_FILE = "legality/sources.yaml"
GLOSSARY_FILE = "glossary.yaml"
FAQ_DIR = "faq"

LANGS = ("id", "en")
STEP_TEXT_FIELDS = ("name", "explain", "where", "cost", "duration", "validity")
STEP_LIST_FIELDS = ("prerequisites", "documents")
VERIFIABLE_FIELDS = set(STEP_TEXT_FIELDS) | set(STEP_LIST_FIELDS) | {"where_jakarta"}
STATUSES = ("belum", "sedang", "selesai", "ditolak")


def steps(content: Content) -> dict[str, dict]:
    return (content.data(STEPS_FILE) or {}).get("steps") or {}


def step(content: Content, key: str) -> dict:
    data = steps(content).get(key)
    if data is None:
        raise ContentError(f"{STEPS_FILE}: no step {key!r}")
    return data


def products(content: Content) -> dict:
    return content.data(PRODUCTS_FILE) or {}


def sources(content: Content) -> dict[str, dict]:
    return (content.data(SOURCES_FILE) or {}).get("sources") or {}


def glossary(content: Content) -> dict[str, dict]:
    return (content.data(GLOSSARY_FILE) or {}).get("terms") or {}


def faq_entries(content: Content) -> list[dict]:
    entries: list[dict] = []
    for _name, data in content.data_dir(FAQ_DIR).items():
        entries.extend((data or {}).get("entries") or [])
    return entries


def lang_text(value: Any, lang: str) -> Any:
    """A bilingual field {id: ..., en: ...} in the owner's language (Indonesian as fallback)."""
    if isinstance(value, dict):
        return value.get(lang) if value.get(lang) not in (None, "", []) else value.get("id")
    return value


def permit_kinds(content: Content) -> dict[str, dict]:
    """permit kind -> {"steps": [step keys], "number": number spec or None, "validity_years", ...}."""
    kinds: dict[str, dict] = {}
    for key, data in steps(content).items():
        kind = data.get("permit_kind")
        if not kind:
            continue
        entry = kinds.setdefault(kind, {"steps": [], "number": data.get("number"),
                                        "validity_years": data.get("validity_years"),
                                        "renew_before_months": data.get("renew_before_months"),
                                        "words": []})
        entry["steps"].append(key)
        for word in data.get("words") or []:
            if word not in entry["words"]:
                entry["words"].append(word)
    return kinds


# --- checks ----------------------------------------------------------------------------------------
@dataclass
class _Ctx:
    errors: list[str]
    source_keys: set[str]

    def fact(self, where: str, node: dict, verify_allowed: bool = True) -> None:
        """A fact needs sources that exist and a real last_reviewed date."""
        cited = node.get("sources")
        if cited is None and "source" in node:
            cited = [node["source"]]
        if not cited:
            self.errors.append(f"{where}: no sources")
        else:
            for key in cited:
                if key not in self.source_keys:
                    self.errors.append(f"{where}: unknown source {key!r} (add it to {SOURCES_FILE})")
        reviewed = node.get("last_reviewed")
        if not isinstance(reviewed, date):
            self.errors.append(f"{where}: last_reviewed must be a date (YYYY-MM-DD), got {reviewed!r}")
        if "verify" in node and not verify_allowed:
            self.errors.append(f"{where}: verify is not allowed here")

    def bilingual(self, where: str, value: Any, kind: type = str) -> None:
        if not isinstance(value, dict):
            self.errors.append(f"{where}: must have id and en")
            return
        for lang in LANGS:
            text = value.get(lang)
            if not isinstance(text, kind) or not text:
                self.errors.append(f"{where}.{lang}: missing or not a {kind.__name__}")


def check_legality_content(content: Content) -> list[str]:
    errors: list[str] = []
    ctx = _Ctx(errors, set(sources(content)))
    if not ctx.source_keys:
        errors.append(f"{SOURCES_FILE}: no sources")
    _check_steps(content, ctx)
    _check_products(content, ctx)
    _check_faq(content, ctx)
    _check_glossary(content, ctx)
    from bot.legality import facts  # facts reads this module's helpers

    errors.extend(facts.stale_facts(content))  # reviewed more than 12 months ago
    return errors


# Column widths in storage/models/legality.py: a longer key would fail on PostgreSQL only.
MAX_LENGTHS = {"step": 24, "permit_kind": 16, "route": 24, "sector": 16, "reason": 32, "product": 48}


def _too_long(ctx: _Ctx, where: str, what: str, value: Any) -> None:
    if isinstance(value, str) and len(value) > MAX_LENGTHS[what]:
        ctx.errors.append(f"{where}: {what} {value!r} is longer than {MAX_LENGTHS[what]} characters (database column)")


def _check_steps(content: Content, ctx: _Ctx) -> None:
    all_steps = steps(content)
    if not all_steps:
        ctx.errors.append(f"{STEPS_FILE}: no steps")
    for key, data in all_steps.items():
        where = f"{STEPS_FILE}: step {key}"
        _too_long(ctx, where, "step", key)
        _too_long(ctx, where, "permit_kind", data.get("permit_kind"))
        ctx.fact(where, data)
        for name in STEP_TEXT_FIELDS:
            ctx.bilingual(f"{where}.{name}", data.get(name))
        for name in STEP_LIST_FIELDS:
            ctx.bilingual(f"{where}.{name}", data.get(name), list)
        if "where_jakarta" in data:
            ctx.bilingual(f"{where}.where_jakarta", data["where_jakarta"])
        explain = data.get("explain") or {}
        for lang in LANGS:
            sentences = [s for s in str(explain.get(lang, "")).replace("?", ".").split(". ") if s.strip()]
            if not 1 <= len(sentences) <= 3:
                ctx.errors.append(f"{where}.explain.{lang}: keep it to 2-3 short sentences")
        if data.get("scope") not in ("owner", "product"):
            ctx.errors.append(f"{where}: scope must be owner or product")
        for required in data.get("requires") or []:
            if required not in all_steps:
                ctx.errors.append(f"{where}: requires unknown step {required!r}")
        verify = data.get("verify")
        if not isinstance(verify, list):
            ctx.errors.append(f"{where}: verify must be a list of field names ([] when nothing is uncertain)")
        else:
            for name in verify:
                if name not in VERIFIABLE_FIELDS:
                    ctx.errors.append(f"{where}: verify names unknown field {name!r}")
            if verify:
                ctx.bilingual(f"{where}.verify_note", data.get("verify_note"))
        years = data.get("validity_years")
        if years is not None and (not isinstance(years, int) or years <= 0):
            ctx.errors.append(f"{where}: validity_years must be a positive whole number or null")
        number = data.get("number")
        if number is not None:
            digits = number.get("digits")
            if not digits or not all(isinstance(d, int) and d > 0 for d in digits):
                ctx.errors.append(f"{where}.number: digits must list the allowed digit counts")
            if number.get("expiry_year_in_last_two") and data.get("validity_years") is None:
                ctx.errors.append(f"{where}.number: expiry year in the number needs validity_years")
            ctx.bilingual(f"{where}.number.format", number.get("format"))
            if not data.get("permit_kind"):
                ctx.errors.append(f"{where}: a number format needs a permit_kind")
    deadline = (content.data(STEPS_FILE) or {}).get("halal_deadline")
    if deadline:
        ctx.fact(f"{STEPS_FILE}: halal_deadline", deadline)
        ctx.bilingual(f"{STEPS_FILE}: halal_deadline.text", deadline.get("text"))


def _check_products(content: Content, ctx: _Ctx) -> None:
    from bot.legality import classify

    data = products(content)
    where = PRODUCTS_FILE
    ctx.fact(where, data)
    all_steps = steps(content)
    questions = data.get("questions") or {}
    for key, question in questions.items():
        for part in ("ask", "when_yes", "when_no"):
            ctx.bilingual(f"{where}: question {key}.{part}", (question or {}).get(part))
    reasons = data.get("reasons") or {}
    for key, text in reasons.items():
        ctx.bilingual(f"{where}: reason {key}", text)
        _too_long(ctx, where, "reason", key)
    routes = data.get("routes") or {}
    for key, route in routes.items():
        _too_long(ctx, where, "route", key)
        ctx.bilingual(f"{where}: route {key}.summary", route.get("summary"))
        for step_key in route.get("steps") or []:
            if step_key != "halal" and step_key not in all_steps:
                ctx.errors.append(f"{where}: route {key} uses unknown step {step_key!r}")
    sectors = set((data.get("rules") or {}))
    for sector in sectors:
        _too_long(ctx, where, "sector", sector)
    for rule_set_name in ("rules", "halal_rules"):
        for sector, rules in (data.get(rule_set_name) or {}).items():
            for i, rule in enumerate(rules or []):
                at = f"{where}: {rule_set_name}.{sector}[{i}]"
                route = rule.get("route")
                if rule_set_name == "rules" and route not in routes:
                    ctx.errors.append(f"{at}: unknown route {route!r}")
                if rule_set_name == "halal_rules" and route not in ("halal_sd", "halal_reg", "none"):
                    ctx.errors.append(f"{at}: halal route must be halal_sd, halal_reg or none")
                if rule.get("reason") not in reasons:
                    ctx.errors.append(f"{at}: unknown reason {rule.get('reason')!r}")
    categories = data.get("categories") or {}
    for key, category in categories.items():
        if category.get("sector") not in sectors:
            ctx.errors.append(f"{where}: category {key} has unknown sector {category.get('sector')!r}")
    seen_keys: set[str] = set()
    for product in data.get("products") or []:
        key = product.get("key")
        at = f"{where}: product {key}"
        _too_long(ctx, at, "product", key)
        if key in seen_keys:
            ctx.errors.append(f"{at}: duplicate key")
        seen_keys.add(key)
        if product.get("category") not in categories:
            ctx.errors.append(f"{at}: unknown category {product.get('category')!r}")
            continue
        ctx.bilingual(f"{at}.name", product.get("name"))
        if not product.get("aliases"):
            ctx.errors.append(f"{at}: no aliases")
        if product.get("reason") and product["reason"] not in reasons:
            ctx.errors.append(f"{at}: unknown reason {product['reason']!r}")
        # Every way the owner may answer must end in a decision within max_questions.
        for problem in classify.exhaustive_problems(content, key):
            ctx.errors.append(f"{at}: {problem}")
    for modifier in data.get("modifiers") or []:
        if not modifier.get("words") or not modifier.get("facts"):
            ctx.errors.append(f"{where}: a modifier needs words and facts")


def _check_faq(content: Content, ctx: _Ctx) -> None:
    entries = faq_entries(content)
    if not entries:
        ctx.errors.append(f"{FAQ_DIR}/: no FAQ entries")
    seen: set[str] = set()
    all_steps = steps(content)
    for entry in entries:
        key = entry.get("id")
        at = f"{FAQ_DIR}: {key}"
        if not key or key in seen:
            ctx.errors.append(f"{at}: missing or duplicate id")
        seen.add(key)
        ctx.fact(at, entry)
        ctx.bilingual(f"{at}.title", entry.get("title"))
        ctx.bilingual(f"{at}.answer", entry.get("answer"))
        if len(entry.get("examples") or []) < 2:
            ctx.errors.append(f"{at}: give at least 2 example questions")
        for step_key in entry.get("steps") or []:
            if step_key not in all_steps:
                ctx.errors.append(f"{at}: unknown step {step_key!r}")


def _check_glossary(content: Content, ctx: _Ctx) -> None:
    terms = glossary(content)
    if not terms:
        ctx.errors.append(f"{GLOSSARY_FILE}: no terms")
    for key, term in terms.items():
        at = f"{GLOSSARY_FILE}: {key}"
        ctx.fact(at, term)
        ctx.bilingual(f"{at}.short", term.get("short"))
        ctx.bilingual(f"{at}.explain", term.get("explain"))
        if not term.get("forms"):
            ctx.errors.append(f"{at}: list the forms the word takes in text")


def every_combination(names: list[str]):
    for values in itertools.product((True, False), repeat=len(names)):
        yield dict(zip(names, values))
