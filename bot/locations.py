"""Jakarta's areas and kecamatan from content/locations, matched tolerantly.

"jaktim", "Jakarta Tmur" and "kb jeruk" all find their place; owners outside Jakarta keep the
name they typed.
"""
from __future__ import annotations

from dataclasses import dataclass

from rapidfuzz import fuzz, process

from bot.content import Content, content_check
from bot.normalize import normalize

CUTOFF = 82


@dataclass(frozen=True)
class Kecamatan:
    key: str
    name: str
    area_key: str
    aliases: tuple[str, ...] = ()


@dataclass(frozen=True)
class Area:
    key: str
    name: str
    aliases: tuple[str, ...]
    kecamatan: tuple[Kecamatan, ...]


def areas(content: Content) -> list[Area]:
    raw = content.data("locations/jakarta.yaml")
    result = []
    for item in raw["areas"]:
        kecs = tuple(
            Kecamatan(k["key"], k["name"], item["key"], tuple(k.get("aliases") or ()))
            for k in item["kecamatan"]
        )
        result.append(Area(item["key"], item["name"], tuple(item.get("aliases") or ()), kecs))
    return result


def area_by_key(content: Content, key: str | None) -> Area | None:
    return next((a for a in areas(content) if a.key == key), None)


def name_of(content: Content, key: str | None) -> str | None:
    """Display name of an area or kecamatan key; free text (outside Jakarta) is returned as is."""
    if not key:
        return None
    for area in areas(content):
        if area.key == key:
            return area.name
        for kec in area.kecamatan:
            if kec.key == key:
                return kec.name
    return key


def _best(text: str, choices: dict[str, object], content: Content):
    norm = normalize(text, content)
    if not norm:
        return None
    if norm in choices:
        return choices[norm]
    found = process.extractOne(norm, list(choices), scorer=fuzz.ratio, score_cutoff=CUTOFF)
    return choices[found[0]] if found else None


def match_area(text: str, content: Content) -> Area | None:
    choices: dict[str, object] = {}
    for area in areas(content):
        for phrase in (area.name, *area.aliases):
            choices.setdefault(normalize(phrase, content), area)
    return _best(text, choices, content)  # type: ignore[return-value]


def match_kecamatan(text: str, content: Content, area: Area | None = None) -> Kecamatan | None:
    choices: dict[str, object] = {}
    for candidate in [area] if area else areas(content):
        for kec in candidate.kecamatan:
            for phrase in (kec.name, *kec.aliases):
                choices.setdefault(normalize(phrase, content), kec)
    return _best(text, choices, content)  # type: ignore[return-value]


@content_check
def _check_locations(content: Content) -> list[str]:
    errors = []
    raw = content.data("locations/jakarta.yaml")
    for field in ("source", "last_reviewed"):
        if not raw.get(field):
            errors.append(f"locations/jakarta.yaml: missing {field}")
    found = areas(content)
    count = sum(len(a.kecamatan) for a in found)
    if len(found) != 6 or count != 44:
        errors.append(f"locations/jakarta.yaml: expected 6 areas and 44 kecamatan, found {len(found)} and {count}")
    return errors
