"""The owner's words for label checks, from content/labels/texts.yaml (`id:` then `en:`).

`text(content, key, lang, **vars)` renders one (Jinja2, strict: a missing variable is an error).
Indonesian is the fallback. `umkm-bot content check` runs `check_label_texts`: the same keys and
variables in both languages, and every key the code names (`lt(turn, "...")`, `text(..., "...")`)
exists.
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from bot.content import LANGS, Content, ContentError, _flatten, content_check

TEXTS_FILE = "labels/texts.yaml"
DEFAULT = "id"
_env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
_compiled: dict[tuple[str, str], jinja2.Template] = {}
_lock = threading.Lock()
# lt(turn, "key") in flows/labels.py, text(content, "key", ...) in bot/labels/.
_KEY_REF = re.compile(r"""\b(?:lt|label_text)\(\s*[a-z_.]+\s*,\s*["']([a-z0-9_.]+)["']""")


def _texts(content: Content) -> dict[str, dict[str, str]]:
    data = content.data(TEXTS_FILE)
    if not isinstance(data, dict):
        raise ContentError(f"content/{TEXTS_FILE}: top level must be a mapping")
    out: dict[str, dict[str, str]] = {}
    for lang in LANGS:
        flat: dict[str, str] = {}
        _flatten("", data.get(lang) or {}, flat, content.root / TEXTS_FILE)
        out[lang] = flat
    return out


def has(content: Content, key: str) -> bool:
    return key in _texts(content)[DEFAULT]


def label_text(content: Content, key: str, lang: str = DEFAULT, **variables: Any) -> str:
    texts = _texts(content)
    lang = lang if lang in LANGS else DEFAULT
    source = texts[lang] if key in texts[lang] else texts[DEFAULT]
    if key not in source:
        raise ContentError(f"content/{TEXTS_FILE}: missing text key {key!r}")
    cache = (f"{content.root}:{lang}", key)
    with _lock:
        template = _compiled.get(cache)
        if template is None:
            template = _compiled[cache] = _env.from_string(source[key])
    return template.render(**variables).strip()


def lt(turn, key: str, **variables: Any) -> str:
    """The text in the owner's language (for flows)."""
    return label_text(turn.content, key, turn.lang, **variables)


def word_list(content: Content, name: str) -> list[str]:
    return [str(w).lower() for w in (content.data(TEXTS_FILE).get(name) or [])]


@content_check
def check_label_texts(content: Content) -> list[str]:
    where = f"content/{TEXTS_FILE}"
    try:
        texts = _texts(content)
    except ContentError as exc:
        return [str(exc)]
    errors: list[str] = []
    data = content.data(TEXTS_FILE)
    if not data.get("last_reviewed"):
        errors.append(f"{where}: missing last_reviewed")
    for name in ("entry_phrases", "caption_words"):
        if not data.get(name):
            errors.append(f"{where}: {name} is empty")
    base = texts[DEFAULT]
    for lang in LANGS:
        for key in sorted(set(base) - set(texts[lang])):
            errors.append(f"{where}: {lang}: missing key {key!r}")
        for key in sorted(set(texts[lang]) - set(base)):
            errors.append(f"{where}: {DEFAULT}: missing key {key!r} (present in {lang})")
    for key in sorted(base):
        found = {}
        for lang in LANGS:
            if key in texts[lang]:
                try:
                    found[lang] = frozenset(meta.find_undeclared_variables(_env.parse(texts[lang][key])))
                except jinja2.TemplateSyntaxError as exc:
                    errors.append(f"{where}: {lang}: {key!r}: {exc.message}")
        if len(set(found.values())) > 1:
            errors.append(f"{where}: {key!r}: languages use different variables")
    repo = Path(__file__).resolve().parent.parent.parent
    sources = [p for p in sorted((repo / "bot" / "labels").glob("*.py")) if p.name != "texts.py"]
    sources.append(repo / "flows" / "labels.py")
    for path in sources:
        if not path.exists():
            continue
        source = path.read_text(encoding="utf-8")
        for match in _KEY_REF.finditer(source):
            if match.group(1) not in base:
                line = source.count("\n", 0, match.start()) + 1
                errors.append(f"{path.relative_to(repo)}:{line}: uses label text {match.group(1)!r}, missing from {where}")
    return errors
