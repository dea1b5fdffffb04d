"""Matching an answer to a numbered list of options.

Owners answer with the digit ("2"), the number word ("dua", "two"), or the option's words with
typos ("kosmetk"). Options carry aliases from content so "jamu" picks "Obat tradisional".
Fillers around the answer are set aside ("yg cair aja" picks "Cair (sirup, minuman)"); an answer
whose every word belongs to one option only picks it; a plain yes or no ("iya silakan") picks the
option that starts with yes or no ("Ya, mulai"). "tidak tahu" only ever picks a don't-know option.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache, partial

from rapidfuzz import fuzz, process

from bot.content import Content, get_content
from bot.nlu import answers
from bot.normalize import lexicon, normalize

FUZZY_CUTOFF = 80
WORD_CUTOFF = 88  # one word against one word: "kosmetk" ~ "kosmetik" (93), never "kering" ~ "katering" (86)
MIN_FUZZY_WORD = 5


@dataclass(frozen=True)
class Option:
    key: str  # stable value stored in state ("food", "yes")
    label: str  # what the owner sees, already in their language
    aliases: tuple[str, ...] = field(default_factory=tuple)


def _score(answer: str, phrase: str, answer_words: frozenset[str] = frozenset(), **_kwargs) -> float:
    """Typos of the whole phrase ("kosmetk"); the owner's words all found in the label
    ("bicara pendamping" for "Bicara dengan pendamping"); or the label inside a short answer
    ("iya setuju"). Not one shared word ("hasil cek" is no pick of "Cek kebersihan"), which
    WRatio would accept."""
    score = fuzz.ratio(answer, phrase)
    said, label = set(answer.split()), set(phrase.split())
    if len(answer) >= 4 and (said <= label or (label <= said and len(said - label) <= 2
                                              and (len(label) > 1 or said - label <= answer_words))):
        # A one-word label inside a longer answer only with answer words around it ("iya setuju"),
        # never inside a sentence of its own ("mahal ga ngurusnya" is no pick of "Tidak").
        score = max(score, fuzz.token_set_ratio(answer, phrase))
    return score


@lru_cache(maxsize=8)
def _answer_words(content: Content) -> frozenset[str]:
    """Words that may stand around a one-word label in an answer, from the content given."""
    return answers.words_of("fillers", content) | answers.words_of(answers.YES, content) \
        | answers.words_of(answers.NO, content)


def number_of(text: str, content: Content | None = None) -> int | None:
    """The option number an owner meant: "2", "2.", "no 2", "dua", "two"."""
    norm = normalize(text, content)
    if not norm:
        return None
    words = norm.split(" ")
    if len(words) <= 2 and words[-1].isdecimal():
        return int(words[-1])
    for lang_words in (lexicon(content).get("number_words") or {}).values():
        normalized = [normalize(w, content) for w in lang_words]
        if norm in normalized:
            return normalized.index(norm) + 1
    return None


def _fuzzy(norm: str, candidates: dict[str, Option], content: Content) -> Option | None:
    scorer = partial(_score, answer_words=_answer_words(content))
    best = process.extractOne(norm, list(candidates), scorer=scorer, score_cutoff=FUZZY_CUTOFF)
    if best is None:
        return None
    # Two different options scoring the same is a guess, not an answer.
    scored = process.extract(norm, list(candidates), scorer=scorer, limit=4, score_cutoff=FUZZY_CUTOFF)
    top = [candidates[name] for name, score, _ in scored if score == best[1]]
    if len({o.key for o in top}) > 1:
        return None
    return candidates[best[0]]


def _word_hit(word: str, words: set[str]) -> bool:
    if word in words:
        return True
    return len(word) >= MIN_FUZZY_WORD and any(
        len(w) >= MIN_FUZZY_WORD and fuzz.ratio(word, w) >= WORD_CUTOFF for w in words)


def _by_words(said: list[str], options: list[Option], content: Content) -> Option | None:
    """The one option holding every word the owner said (typos allowed on longer words)."""
    if not said or sum(len(w) for w in said) < 3:
        return None
    found: dict[str, Option] = {}
    for option in options:
        words = {w for phrase in (option.label, *option.aliases) for w in answers.meaningful(phrase, content)}
        if all(_word_hit(w, words) for w in said):
            found.setdefault(option.key, option)
    return next(iter(found.values())) if len(found) == 1 else None


def _polarity(option: Option, content: Content) -> str | None:
    if option.key in (answers.YES, answers.NO, answers.UNKNOWN):
        return option.key
    return answers.yes_no(option.label, content)


def _by_polarity(answer: str | None, options: list[Option], content: Content) -> Option | None:
    if answer is None:
        return None
    found = [o for o in options if _polarity(o, content) == answer]
    return found[0] if len(found) == 1 else None


def match_option(text: str, options: list[Option], content: Content | None = None) -> Option | None:
    if not options:
        return None
    content = content or get_content()
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
    if answers.thanks_only(text, content):
        return None  # "oke makasih" picks no option, though "oke" alone would say yes
    answer = answers.yes_no(text, content)
    if answer == answers.UNKNOWN:
        # "tidak tahu" is close to "Tidak setuju" in letters and far from it in meaning.
        return _by_polarity(answer, options, content)
    said = answers.meaningful(text, content)
    stripped = " ".join(said)
    if stripped and stripped != norm and stripped in candidates:
        return candidates[stripped]
    return (_fuzzy(norm, candidates, content)
            or (_fuzzy(stripped, candidates, content) if stripped and stripped != norm else None)
            or _by_words(said, options, content) or _by_polarity(answer, options, content))
