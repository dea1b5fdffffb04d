"""How free text starts things: the exact flow entry phrases and greetings of content/intents.yaml.

The understanding step (bot/nlu/rules.py) reads every message; a message that IS one of these
phrases ("pendamping", "cek dapur", "pelatihan", "halo") counts as strong evidence for that flow's
interpretation (score `EXACT_SCORE`), above what the classifier guesses from similar wordings.
"""
from __future__ import annotations

from functools import lru_cache

from bot.content import Content
from bot.normalize import normalize

EXACT_SCORE = 0.88
# intents.yaml flow name -> the interpretation in bot/nlu/rules.py
FLOW_LABELS = {"reminders": "reminder"}


@lru_cache(maxsize=8)
def _exact_phrases(content: Content) -> dict[str, str]:
    intents = content.data("intents.yaml") or {}
    table: dict[str, str] = {}
    for flow, phrases in (intents.get("flows") or {}).items():
        for phrase in phrases:
            table.setdefault(normalize(str(phrase), content), FLOW_LABELS.get(flow, flow))
    for phrase in intents.get("greetings") or []:
        table.setdefault(normalize(str(phrase), content), "greeting")
    return table


def entry_label(norm: str, content: Content) -> str | None:
    """The interpretation whose entry phrase the owner typed exactly, if any."""
    return _exact_phrases(content).get(norm)


__all__ = ["EXACT_SCORE", "entry_label"]
