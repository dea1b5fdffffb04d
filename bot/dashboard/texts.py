"""The dashboard's words, from content/web/<lang>.yaml (staff-facing, still not in Python).

Templates call `_('owners.title')` or `_('owners.count', n=3)`; Python calls `texts.text(...)`.
Indonesian is the default, English is available; a key missing in English falls back to Indonesian,
and `umkm-bot content check` reports it (see `check_web_texts`).
"""
from __future__ import annotations

import re
import threading
from pathlib import Path
from typing import Any

import jinja2
from jinja2 import meta

from bot.content import LANGS, Content, ContentError, _flatten, content_check, load_yaml

DEFAULT = "id"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
# _(<key>) in templates, text(request, <key>) or texts.text(<key>) in Python. A key built from
# pieces (_('stage.' ~ s)) is not a literal and is left to the page tests.
_TEMPLATE_KEY = re.compile(r"""\b_\(\s*['"]([a-z0-9_]+(?:\.[a-z0-9_]+)+)['"]\s*[,)]""")
_PY_KEY = re.compile(r"""\btext\((?:\s*request\s*,)?\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']\s*[,)]""")


class WebTexts:
    def __init__(self, content_root: Path):
        self.root = Path(content_root) / "web"
        self.env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)
        self._texts = {lang: self._load(lang) for lang in LANGS}
        self._compiled: dict[tuple[str, str], jinja2.Template] = {}
        self._lock = threading.Lock()

    def _load(self, lang: str) -> dict[str, str]:
        path = self.root / f"{lang}.yaml"
        if not path.exists():
            raise ContentError(f"{path}: missing")
        out: dict[str, str] = {}
        _flatten("", load_yaml(path) or {}, out, path)
        return out

    def keys(self, lang: str = DEFAULT) -> set[str]:
        return set(self._texts[lang])

    def raw(self, key: str, lang: str = DEFAULT) -> str:
        for source in (self._texts.get(lang, {}), self._texts[DEFAULT]):
            if key in source:
                return source[key]
        raise ContentError(f"content/web: missing text key {key!r}")

    def text(self, key: str, lang: str = DEFAULT, **variables: Any) -> str:
        lang = lang if lang in LANGS else DEFAULT
        with self._lock:
            template = self._compiled.get((lang, key))
            if template is None:
                template = self._compiled[(lang, key)] = self.env.from_string(self.raw(key, lang))
        return template.render(**variables).strip()

    def has(self, key: str) -> bool:
        return key in self._texts[DEFAULT]


_cache: dict[str, WebTexts] = {}
_cache_lock = threading.Lock()


def web_texts(content: Content) -> WebTexts:
    key = str(content.root.resolve())
    with _cache_lock:
        if key not in _cache:
            _cache[key] = WebTexts(content.root)
        return _cache[key]


@content_check
def check_web_texts(content: Content) -> list[str]:
    """content/web: same keys and variables in every language; every key the pages use exists."""
    errors: list[str] = []
    try:
        texts = WebTexts(content.root)
    except ContentError as exc:
        return [str(exc)]
    base = texts._texts[DEFAULT]
    for lang in LANGS:
        other = texts._texts[lang]
        for key in sorted(set(base) - set(other)):
            errors.append(f"web/{lang}.yaml: missing key {key!r}")
        for key in sorted(set(other) - set(base)):
            errors.append(f"web/{DEFAULT}.yaml: missing key {key!r} (present in {lang}.yaml)")
    for key in sorted(base):
        found = {}
        for lang in LANGS:
            if key in texts._texts[lang]:
                try:
                    found[lang] = meta.find_undeclared_variables(texts.env.parse(texts._texts[lang][key]))
                except jinja2.TemplateSyntaxError as exc:
                    errors.append(f"web/{lang}.yaml: {key!r}: {exc.message}")
        if len(set(map(frozenset, found.values()))) > 1:
            errors.append(f"web text {key!r}: languages use different variables")
    sources = [(p, _TEMPLATE_KEY) for p in sorted(TEMPLATES_DIR.glob("*.html"))]
    sources += [(p, _PY_KEY) for p in sorted(Path(__file__).resolve().parent.glob("*.py"))]
    for path, pattern in sources:
        source = path.read_text(encoding="utf-8")
        for match in pattern.finditer(source):
            if match.group(1) not in base:
                line = source.count("\n", 0, match.start()) + 1
                errors.append(f"bot/dashboard/{path.relative_to(path.parent.parent) if path.suffix == '.html' else path.name}:{line}: "
                              f"uses web text {match.group(1)!r}, missing from content/web/{DEFAULT}.yaml")
    return errors
