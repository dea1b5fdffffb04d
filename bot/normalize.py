"""Turn what an owner typed into something matchable.

Owners write short informal Indonesian with typos and abbreviations ("gmn", "sy", "brp", "pirt").
`normalize()` lowercases, keeps letters and digits, maps a few emoji to words, and expands the
abbreviations listed in content/lexicon.yaml (staff extend that list without touching Python).
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from bot.content import Content, content_check, get_content

MAX_MATCH_CHARS = 500  # enough for any question; a pasted essay is matched on its beginning

_NON_WORD = re.compile(r"[^\w\s]", re.UNICODE)
_SPACES = re.compile(r"\s+")
# Reduplication written with a 2, as owners type it: "tanya2" (tanya-tanya), "kirim2", "apa2".
_REDUPLICATED = re.compile(r"^([^\W\d_]{3,})2(nya)?$", re.UNICODE)  # "surat2nya" too


def lexicon(content: Content | None = None) -> dict:
    content = content or get_content()
    return content.data("lexicon.yaml")


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def normalize(text: str, content: Content | None = None) -> str:
    return _normalize((text or "")[:MAX_MATCH_CHARS], content or get_content())


@lru_cache(maxsize=65536)
def _normalize(text: str, content: Content) -> str:
    # Menu labels, option aliases and intent phrases are normalised on every message: cache them.
    lex = lexicon(content)
    # A folded-hands emoji alone says thank you; after words it is only a polite "please"
    # ("pagi pak 🙏" greets, "pirt sy gmn ya bu 🙏" asks): then it is dropped.
    polite = [s for s in lex.get("polite_emoji") or [] if s in text]
    if polite:
        bare = text
        for symbol in polite:
            bare = bare.replace(symbol, " ")
        if _NON_WORD.sub(" ", bare).strip():
            text = bare
    for symbol, word in (lex.get("emoji") or {}).items():
        if symbol in text:
            text = text.replace(symbol, f" {word} ")
    text = _strip_accents(text.lower())
    # Keep the hyphen meaning of "p-irt" and "self-declare" by joining, not splitting.
    text = text.replace("-", "")
    text = _NON_WORD.sub(" ", text)
    words = _SPACES.sub(" ", text).strip().split(" ")
    abbreviations = lex.get("abbreviations") or {}
    words = [_REDUPLICATED.sub(r"\1\2", word) if "2" in word and word not in abbreviations else word
             for word in words]
    expanded = [abbreviations.get(word, word) for word in words if word]
    return " ".join(expanded)


def word_set(content: Content | None, key: str) -> frozenset[str]:
    """A list of words from the lexicon (e.g. "yes_words", "no_words"), normalised."""
    return _word_set(content or get_content(), key)


@lru_cache(maxsize=256)
def _word_set(content: Content, key: str) -> frozenset[str]:
    return frozenset(normalize(str(w), content) for w in lexicon(content).get(key) or [])


def looks_like_question(raw: str, content: Content | None = None) -> bool:
    """True when free text reads as a question rather than an answer ("brp biaya pirt?")."""
    if "?" in raw:
        return True
    norm = normalize(raw, content)
    first = norm.split(" ", 1)[0] if norm else ""
    return first in word_set(content, "question_words")


@content_check
def check_lexicon_words(content: Content) -> list[str]:
    """Every word list in the lexicon holds words. YAML reads an unquoted yes / no / on / off as
    true or false, which would silently drop that word ("no" would stop meaning no)."""
    errors: list[str] = []

    def walk(value, where: str) -> None:
        if isinstance(value, dict):
            for key, inner in value.items():
                if not isinstance(key, str):
                    errors.append(f"lexicon.yaml: key {key!r} under {where or 'the top'} is not text; quote it")
                walk(inner, f"{where}.{key}" if where else str(key))
        elif isinstance(value, list):
            for item in value:
                if not isinstance(item, str):
                    errors.append(f"lexicon.yaml: {where} has {item!r}, not a word; quote it")

    walk(lexicon(content), "")
    return errors
