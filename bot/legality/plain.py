"""Plain language on a phone: short messages, technical words explained the first time.

- `split_message`: a WhatsApp message stays under about 600 characters; a longer answer is cut at
  paragraph, then line, then sentence boundaries, and only as a last resort between words.
- `explain_first_use`: the first time an owner meets "PKP" or "P-IRT", a few words in brackets say
  what it is. Which words an owner has already seen is kept by the caller (per owner, in the DB).
"""
from __future__ import annotations

import re
from datetime import date

from bot.content import Content
from bot.legality import rules as legality_rules

MESSAGE_LIMIT = 600
MAX_EXPLAINED_PER_MESSAGE = 3
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+")


def split_message(text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    text = text.strip()
    if len(text) <= limit:
        return [text] if text else []
    pieces: list[tuple[str, str]] = []
    _split_into(text, limit, pieces, 0, "\n\n")
    return _pack(pieces, limit)


# Where a long text may be cut, best first: paragraphs, lines, sentences, words.
_LEVELS = [("\n\n", lambda t: t.split("\n\n")), ("\n", lambda t: t.split("\n")),
           (" ", lambda t: _SENTENCE_END.split(t)), (" ", lambda t: t.split(" "))]


def _split_into(text: str, limit: int, out: list[tuple[str, str]], level: int, joiner: str) -> None:
    """Append (piece, separator before it) to `out`, every piece at most `limit` long."""
    if len(text) <= limit or level >= len(_LEVELS):
        if len(text) > limit:  # one unbroken word longer than a message: cut it
            for i in range(0, len(text), limit):
                out.append((text[i:i + limit], joiner if i == 0 else ""))
        else:
            out.append((text, joiner))
        return
    sep, split = _LEVELS[level]
    parts = [p for p in split(text) if p.strip()]
    for i, part in enumerate(parts):
        _split_into(part.strip() if sep != "\n" else part.rstrip(), limit, out, level + 1,
                    joiner if i == 0 else sep)


def _pack(pieces: list[tuple[str, str]], limit: int) -> list[str]:
    messages: list[str] = []
    current = ""
    for piece, joiner in pieces:
        candidate = f"{current}{joiner}{piece}" if current else piece
        if len(candidate) <= limit:
            current = candidate
        else:
            if current:
                messages.append(current.strip())
            current = piece
    if current.strip():
        messages.append(current.strip())
    return messages


# --- first use of a technical word ----------------------------------------------------------------
def _form_pattern(form: str) -> re.Pattern:
    escaped = re.escape(form)
    # Short all-capital forms ("MD", "NA", "TR") are matched case-sensitively, so "na" in a word
    # or "tr" in "TR123" never counts; longer forms match in any case.
    flags = 0 if (form.isupper() and len(form) <= 5) else re.IGNORECASE
    return re.compile(rf"(?<![\w-]){escaped}(?![\w-])", flags)


def explain_first_use(text: str, seen: set[str], content: Content, lang: str = "id",
                      limit: int = MAX_EXPLAINED_PER_MESSAGE) -> tuple[str, list[str]]:
    """Add "(short explanation)" after the first use of each glossary word the owner has not seen.
    Returns the new text and the term keys explained (the caller records them as seen)."""
    terms = legality_rules.glossary(content)
    forms = sorted(((str(form), key) for key, term in terms.items() for form in term.get("forms") or []),
                   key=lambda f: -len(f[0]))
    # Every place a glossary word is written; a longer form takes its words first, so "BPOM" inside
    # "BPOM MD" is not a separate word.
    taken: list[tuple[int, int, str]] = []
    for form, key in forms:
        for match in _form_pattern(form).finditer(text):
            start, end = match.span()
            if not any(start < b and a < end for a, b, _ in taken):
                taken.append((start, end, key))
    first: dict[str, tuple[int, int]] = {}
    for start, end, key in sorted(taken):
        first.setdefault(key, (start, end))
    inserts: list[tuple[int, str]] = []
    explained: list[str] = []
    for key, (_start, end) in sorted(first.items(), key=lambda item: item[1]):
        if key in seen:
            continue
        if len(explained) >= limit:
            break
        explained.append(key)
        short = legality_rules.lang_text(terms[key].get("short"), lang)
        if not _already_explained(text[end:end + _LOOKAHEAD], short):
            inserts.append((end, f" ({short})"))
    for position, addition in sorted(inserts, reverse=True):
        text = text[:position] + addition + text[position:]
    return text, explained


_LOOKAHEAD = 50
_WORD = re.compile(r"[^\W\d_][\w-]{4,}")
_CLAUSE_END = re.compile(r"[,.;(\n]")


def _already_explained(following: str, short: str) -> bool:
    """The text right after the word explains it already: "NIB (Nomor Induk ...)", or "PKP food-safety
    training certificate" when the explanation is "food-safety training"."""
    if following.startswith(" ("):
        return True
    clause = _CLAUSE_END.split(following, 1)[0].lower()
    words = _WORD.findall(short)
    return bool(words) and all(word.lower() in clause for word in words)


def owner_date(day: date | None) -> str:
    """A date the way owners write it: 23-11-2026."""
    return day.strftime("%d-%m-%Y") if day else ""
