"""Owners' names as people say them: the honorific kept apart from the name.

An owner who registers as "Bu Sumarni" (or "ibu sumarni", "Hj. Siti Aminah") has the honorific
"Bu" and the name "Sumarni"; the bot addresses her "Bu Sumarni" and never calls her "Bu" as if it
were her first name. The honorifics are content (content/names.yaml).

    >>> split("Bu Hj. Siti Aminah")   # with the default content
    Name(honorific='Bu Hj.', given='Siti Aminah')
"""
from __future__ import annotations

import weakref
from dataclasses import dataclass

from bot.content import Content, get_content


@dataclass(frozen=True)
class Name:
    honorific: str  # "Bu", "Pak", "Hj." ... or ""
    given: str  # the name without the honorific

    @property
    def first(self) -> str:
        return self.given.split(" ")[0] if self.given else ""

    @property
    def called(self) -> str:
        """How to address the owner: "Bu Sumarni", or "Sari" when no honorific was given."""
        return " ".join(part for part in (self.honorific, self.first) if part)

    @property
    def full(self) -> str:
        return " ".join(part for part in (self.honorific, self.given) if part)


_HONORIFICS: "weakref.WeakKeyDictionary[Content, dict[str, str]]" = weakref.WeakKeyDictionary()


def honorifics(content: Content | None = None) -> dict[str, str]:
    """spelling -> written form, read once per Content (a broadcast renders 100,000 names)."""
    content = content or get_content()
    found = _HONORIFICS.get(content)
    if found is None:
        data = content.data("names.yaml") or {}
        found = _HONORIFICS[content] = {str(k).lower(): str(v) for k, v in (data.get("honorifics") or {}).items()}
    return found


def split(name: str | None, content: Content | None = None) -> Name:
    words = " ".join((name or "").split()).split(" ") if name and name.strip() else []
    known = honorifics(content)
    titles: list[str] = []
    # Leading honorifics, but never the whole name: "Mas" alone stays a name.
    while len(words) > 1 and words[0].lower().rstrip(".,") in known:
        titles.append(known[words.pop(0).lower().rstrip(".,")])
    return Name(" ".join(titles), " ".join(words))


def called(name: str | None, content: Content | None = None) -> str:
    return split(name, content).called


def first_name(name: str | None, content: Content | None = None) -> str:
    return split(name, content).first
