"""Yes / no / don't know, and the words around an answer, the way owners really answer.

"iya silakan", "boleh deh", "ya udah", "gpp", "nggih" are yes; "gak, cuma dikukus", "ndak",
"mboten" are no; "tidak tahu", "gak tau", "ga ngerti" are don't know, and never no. The words
live in content/lexicon.yaml (`answers:`) so staff extend them without touching Python.

How an answer is read (`yes_no`):
1. a don't-know phrase anywhere in a short answer wins ("wah gak tau ya" is no "gak");
2. an "it's fine" phrase ("gpp", "tidak apa-apa", "ga masalah") is yes, though it starts with "tidak";
3. otherwise the first word (or two-word phrase) that is a yes or a no word decides, after
   fillers ("deh", "dong", "yang", "aja") are set aside; repeated letters are forgiven ("iyaaa").
A question ("ya tapi biayanya berapa?") still counts when it starts with a yes or no word; a
question that starts otherwise is no answer.
"""
from __future__ import annotations

import re
from functools import lru_cache

from bot.content import Content, get_content
from bot.normalize import lexicon, looks_like_question, normalize

YES, NO, UNKNOWN = "yes", "no", "unknown"
MAX_ANSWER_WORDS = 12  # longer messages are a story or a question, read by the understanding step
_REPEATS = re.compile(r"(\w)\1+")


def squeeze(word: str) -> str:
    """"iyaaa" -> "iya", "gakkk" -> "gak": owners hold a key down for emphasis."""
    return _REPEATS.sub(r"\1", word)


@lru_cache(maxsize=16)
def _lists(content: Content) -> dict[str, frozenset[str]]:
    lex = lexicon(content)
    raw = dict(lex.get("answers") or {})
    # The older lists stay valid: staff may have extended them.
    for name, legacy in ((YES, "yes_words"), (NO, "no_words"), (UNKNOWN, "unknown_words")):
        raw[name] = list(raw.get(name) or []) + list(lex.get(legacy) or [])
    out: dict[str, frozenset[str]] = {}
    for name, words in raw.items():
        normed = {normalize(str(w), content) for w in words or []}
        normed |= {" ".join(squeeze(p) for p in w.split()) for w in normed}
        out[name] = frozenset(w for w in normed if w)
    return out


def _wants_something(word: str, short: str, rest: list[tuple[str, str]], lists) -> bool:
    """A wish word ("mau", "pengen") followed by words of its own asks for something; alone, or with
    only yes words after it ("mau dong", "mau banget", "mau ikut"), it is a yes."""
    wishes = lists.get("wish", frozenset())
    if word not in wishes and short not in wishes:
        return False
    fine = lists[YES] | lists.get("wish_yes", frozenset())
    return any(w not in fine and s not in fine for w, s in rest)


def words_of(name: str, content: Content | None = None) -> frozenset[str]:
    return _lists(content or get_content()).get(name, frozenset())


def _contains(words: list[str], phrases: frozenset[str]) -> bool:
    padded = f" {' '.join(words)} "
    return any(f" {p} " in padded for p in phrases)


def meaningful(text: str, content: Content | None = None) -> list[str]:
    """The answer's words without fillers: "yg cair aja" -> ["cair"]."""
    content = content or get_content()
    fillers = words_of("fillers", content)
    return [w for w in normalize(text, content).split() if w and w not in fillers and squeeze(w) not in fillers]


def _squeezed(words: list[str], content: Content) -> list[str]:
    return [normalize(squeeze(w), content) or w for w in words]  # "gakkk" -> "gak" -> "tidak"


def _kept(words: list[str], squeezed: list[str], lists) -> list[tuple[str, str]]:
    """(word, squeezed word) pairs without the fillers."""
    fillers = lists.get("fillers", frozenset())
    return [(w, s) for w, s in zip(words, squeezed) if w not in fillers and s not in fillers]


def _acknowledges(words: list[str], kept: list[tuple[str, str]], lists) -> bool:
    return bool(kept) and kept[0][1] in lists.get("acknowledge", frozenset()) \
        and _contains(words, lists.get("thanks", frozenset()))


def thanks_only(text: str, content: Content | None = None) -> bool:
    """"oke thanks min", "sip makasih": an acknowledgement with thanks, which answers no question."""
    content = content or get_content()
    lists = _lists(content)
    words = normalize(text, content).split()
    if not words or len(words) > MAX_ANSWER_WORDS:
        return False
    return _acknowledges(words, _kept(words, _squeezed(words, content), lists), lists)


def says_thanks(text: str, content: Content | None = None) -> bool:
    """The message thanks ("matur suwun nak", "mkasih pak atas bantuannya"): content/lexicon.yaml
    `answers.thanks`, anywhere in it."""
    content = content or get_content()
    return _contains(normalize(text, content).split(), _lists(content).get("thanks", frozenset()))


def yes_no(text: str, content: Content | None = None, allow_unknown: bool = True) -> str | None:
    """"yes", "no", "unknown" (only when `allow_unknown`), or None when the text is no such answer.

    With `allow_unknown` false a don't-know answer is still None, never "no"."""
    content = content or get_content()
    lists = _lists(content)
    norm = normalize(text, content)
    if not norm:
        return None
    words = norm.split()
    if len(words) > MAX_ANSWER_WORDS:
        return None
    squeezed = _squeezed(words, content)
    if _contains(words, lists[UNKNOWN]) or _contains(squeezed, lists[UNKNOWN]):
        return UNKNOWN if allow_unknown else None
    if lists.get("closing") and (_contains(words, lists["closing"]) or _contains(squeezed, lists["closing"])):
        return None  # "udh dulu ya nak, makasih": a goodbye, never a yes
    if _contains(words, lists["fine"]) or _contains(squeezed, lists["fine"]):
        return YES
    kept = _kept(words, squeezed, lists)
    if _acknowledges(words, kept, lists):
        return None  # "oke thanks min": thanks for the answer, no yes to the question asked
    for index, (word, short) in enumerate(kept):
        pair = " ".join(w for w, _ in kept[index:index + 2])
        for answer in (NO, YES):  # two-word phrases first: "tidak mau", "ya sudah"
            if pair in lists[answer]:
                return answer
        for answer in (YES, NO):
            if word in lists[answer] or short in lists[answer]:
                if answer == YES and _wants_something(word, short, kept[index + 1:], lists):
                    return None  # "mau ngomong sama orang": a request, not a yes
                return answer
        break  # only the first word that counts decides
    if kept and not looks_like_question(text, content):
        return None
    return None
