"""Matching an answer to a numbered list of options.

Owners answer with the digit ("2"), the number word ("dua", "two"), or the option's words with
typos ("kosmetk"). Options carry aliases from content so "jamu" picks "Obat tradisional".
"""
from __future__ import annotations

from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from bot.content import Content
from bot.normalize import lexicon, normalize

FUZZY_CUTOFF = 80


@dataclass(frozen=True)
class Option:
    key: str  # stable value stored in state ("food", "yes")
    label: str  # what the owner sees, already in their language
    aliases: tuple[str, ...] = field(default_factory=tuple)


def _score(answer: str, phrase: str, **_kwargs) -> float:
    """Typos of the whole phrase ("kosmetk"); the owner's words all found in the label
    ("bicara pendamping" for "Bicara dengan pendamping"); or the label inside a short answer
    ("iya setuju"). Not one shared word ("hasil cek" is no pick of "Cek kebersihan"), which
    WRatio would accept."""
    score = fuzz.ratio(answer, phrase)
    said, label = set(answer.split()), set(phrase.split())
    if len(answer) >= 4 and (said <= label or (label <= said and len(said - label) <= 2)):
        score = max(score, fuzz.token_set_ratio(answer, phrase))
    return score


def number_of(text: str, content: Content | None = None) -> int | None:
    """The option number an owner meant: "2", "2.", "no 2", "dua", "two"."""
    norm = normalize(text, content)
    if not norm:
        return None
    words = norm.split(" ")
    if len(words) <= 2 and words[-1].isdigit():
        return int(words[-1])
    for lang_words in (lexicon(content).get("number_words") or {}).values():
        normalized = [normalize(w, content) for w in lang_words]
        if norm in normalized:
            return normalized.index(norm) + 1
    return None


def match_option(text: str, options: list[Option], content: Content | None = None) -> Option | None:
    if not options:
        return None
    number = number_of(text, content)
    if number is not None:
        return options[number - 1] if 1 <= number <= len(options) else None
    norm = normalize(text, content)
    if not norm:
        return None
    candidates: dict[str, Option] = {}
    for option in options:
        for phrase in (option.label, *option.aliases):
            candidates.setdefault(normalize(phrase, content), option)
    if norm in candidates:
        return candidates[norm]
    best = process.extractOne(norm, list(candidates), scorer=_score, score_cutoff=FUZZY_CUTOFF)
    if best is None:
        return None
    # Two different options scoring the same is a guess, not an answer.
    scored = process.extract(norm, list(candidates), scorer=_score, limit=4, score_cutoff=FUZZY_CUTOFF)
    top = [candidates[name] for name, score, _ in scored if score == best[1]]
    if len({o.key for o in top}) > 1:
        return None
    return candidates[best[0]]
