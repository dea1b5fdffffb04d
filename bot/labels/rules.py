"""The label rules (content/legality/label_rules.yaml) and their content check."""
from __future__ import annotations

import re
from typing import Any

from bot.content import LANGS, Content, ContentError, content_check
from bot.legality import rules as legality_rules

RULES_FILE = "legality/label_rules.yaml"
ITEM_ORDER = ("product_name", "ingredients", "net_content", "producer", "permit_number", "production_code",
              "best_before")


def label_rules(content: Content) -> dict[str, Any]:
    data = content.data(RULES_FILE)
    if not isinstance(data, dict) or not isinstance(data.get("items"), dict):
        raise ContentError(f"content/{RULES_FILE}: needs an `items` mapping")
    return data


def items(content: Content) -> dict[str, dict]:
    return label_rules(content)["items"]


@content_check
def check_label_rules(content: Content) -> list[str]:
    """Every mandatory item is described in both languages with keywords; sources exist; patterns
    compile; route permits name real permit kinds and routes."""
    where = f"content/{RULES_FILE}"
    try:
        data = label_rules(content)
    except ContentError as exc:
        return [str(exc)]
    errors: list[str] = []
    if not data.get("last_reviewed"):
        errors.append(f"{where}: missing last_reviewed")
    known_sources = legality_rules.sources(content)
    for key in data.get("sources") or []:
        if key not in known_sources:
            errors.append(f"{where}: source {key!r} is not in content/legality/sources.yaml")
    if not data.get("sources"):
        errors.append(f"{where}: missing sources")
    found = data["items"]
    for key in ITEM_ORDER:
        if key not in found:
            errors.append(f"{where}: mandatory item {key!r} missing")
    for key, item in found.items():
        for part in ("name", "fix"):
            for lang in LANGS:
                if not (item.get(part) or {}).get(lang):
                    errors.append(f"{where}: items.{key}.{part} has no {lang!r} text")
        if not item.get("keywords"):
            errors.append(f"{where}: items.{key} has no keywords")
        if item.get("value"):
            try:
                re.compile(item["value"])
            except re.error as exc:
                errors.append(f"{where}: items.{key}.value does not compile: {exc}")
    kinds = legality_rules.permit_kinds(content)
    routes = (legality_rules.products(content).get("routes") or {})
    for route, kind in (data.get("route_permits") or {}).items():
        if route not in routes:
            errors.append(f"{where}: route_permits names unknown route {route!r}")
        if kind not in kinds:
            errors.append(f"{where}: route_permits names unknown permit kind {kind!r}")
    for route in data.get("no_permit_routes") or []:
        if route not in routes:
            errors.append(f"{where}: no_permit_routes names unknown route {route!r}")
    for part in ("logo_words", "non_halal_statement", "non_halal_ingredients"):
        if not (data.get("halal") or {}).get(part):
            errors.append(f"{where}: halal.{part} is empty")
    if not data.get("forbidden_claims"):
        errors.append(f"{where}: forbidden_claims is empty")
    readable = data.get("readable") or {}
    if not isinstance(readable.get("min_words"), int) or not isinstance(readable.get("min_confidence"), (int, float)):
        errors.append(f"{where}: readable needs min_words and min_confidence")
    return errors
