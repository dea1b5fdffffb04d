"""Everything an owner reads comes from content/, never from Python.

- `texts/<lang>.yaml`: short texts, nested by feature and flattened to dotted keys
  ("registration.ask_name"). Each text is a small Jinja2 template ({{ name }}).
- `templates/<lang>/<name>.j2`: longer messages.
- Other YAML files (locations, legality rules, checklists, FAQ...) are data, read with `data()`.

Rendering uses StrictUndefined: a missing variable is an error, never a blank in a message.
`check()` is what `umkm-bot content check` and the tests run.
"""
from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import jinja2
import yaml
from jinja2 import meta

LANGS = ("id", "en")
DEFAULT_LANG = "id"


class ContentError(Exception):
    pass


class _UniqueKeyLoader(yaml.SafeLoader):
    """A YAML loader that refuses duplicate keys: a duplicated key silently hides a text."""


def _construct_mapping(loader: _UniqueKeyLoader, node: yaml.MappingNode, deep: bool = False):
    seen = set()
    for key_node, _value in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if key in seen:
            raise ContentError(f"duplicate key {key!r} at line {key_node.start_mark.line + 1}")
        seen.add(key)
    return yaml.SafeLoader.construct_mapping(loader, node, deep=deep)


_UniqueKeyLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)


def load_yaml(path: Path) -> Any:
    try:
        with path.open(encoding="utf-8") as handle:
            return yaml.load(handle, Loader=_UniqueKeyLoader)
    except yaml.YAMLError as exc:
        raise ContentError(f"{path}: malformed YAML: {exc}") from exc
    except ContentError as exc:
        raise ContentError(f"{path}: {exc}") from exc


def _flatten(prefix: str, node: Any, out: dict[str, str], path: Path) -> None:
    if isinstance(node, dict):
        for key, value in node.items():
            if not isinstance(key, str):
                # YAML reads a bare yes/no/on/off key as a boolean: the text would be lost.
                raise ContentError(f"{path}: key {key!r} under {prefix or 'the top level'!r} is not a "
                                   f"string; quote it or rename it")
            _flatten(f"{prefix}.{key}" if prefix else str(key), value, out, path)
    elif isinstance(node, str):
        out[prefix] = node.rstrip("\n")
    else:
        raise ContentError(f"{path}: text {prefix!r} must be a string, got {type(node).__name__}")


@dataclass
class ContentCheckResult:
    errors: list[str] = field(default_factory=list)
    checked: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.errors


# Feature modules register checks for their own content files (see `content_check`).
_CHECKS: list[Callable[["Content"], list[str]]] = []


def content_check(func: Callable[["Content"], list[str]]) -> Callable[["Content"], list[str]]:
    """Register a check of a content area. It returns a list of error strings."""
    _CHECKS.append(func)
    return func


class Content:
    def __init__(self, root: Path):
        self.root = Path(root)
        self._texts: dict[str, dict[str, str]] = {}
        self._data_cache: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(self.root / "templates")),
            undefined=jinja2.StrictUndefined,
            autoescape=False,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
        )
        self._compiled: dict[tuple[str, str], jinja2.Template] = {}
        self._plain: dict[tuple[str, str], str] = {}  # texts rendered without variables
        for lang in LANGS:
            self._texts[lang] = self._load_texts(lang)

    def _load_texts(self, lang: str) -> dict[str, str]:
        path = self.root / "texts" / f"{lang}.yaml"
        if not path.exists():
            raise ContentError(f"{path}: missing")
        raw = load_yaml(path) or {}
        if not isinstance(raw, dict):
            raise ContentError(f"{path}: top level must be a mapping")
        out: dict[str, str] = {}
        _flatten("", raw, out, path)
        return out

    # --- texts -------------------------------------------------------------------------------
    def has(self, key: str, lang: str = DEFAULT_LANG) -> bool:
        return key in self._texts.get(lang, {})

    def raw(self, key: str, lang: str = DEFAULT_LANG) -> str:
        texts = self._texts.get(lang) or self._texts[DEFAULT_LANG]
        if key in texts:
            return texts[key]
        if key in self._texts[DEFAULT_LANG]:
            return self._texts[DEFAULT_LANG][key]
        raise ContentError(f"missing text key {key!r}")

    def t(self, key: str, lang: str = DEFAULT_LANG, **variables: Any) -> str:
        lang = lang if lang in LANGS else DEFAULT_LANG
        cache_key = (lang, key)
        if not variables:  # a text without variables reads the same every time: rendered once
            rendered = self._plain.get(cache_key)
            if rendered is not None:
                return rendered
        template = self._compiled.get(cache_key)
        if template is None:
            template = self.env.from_string(self.raw(key, lang))
            self._compiled[cache_key] = template
        rendered = template.render(**variables).strip()
        if not variables:
            self._plain[cache_key] = rendered
        return rendered

    def render(self, template_name: str, lang: str = DEFAULT_LANG, **variables: Any) -> str:
        lang = lang if lang in LANGS else DEFAULT_LANG
        return self.env.get_template(f"{lang}/{template_name}.j2").render(**variables).strip()

    def keys(self, lang: str = DEFAULT_LANG) -> set[str]:
        return set(self._texts[lang])

    # --- data files ---------------------------------------------------------------------------
    def data(self, relative: str) -> Any:
        """A parsed YAML file under content/, cached for the life of this Content."""
        with self._lock:
            if relative not in self._data_cache:
                path = self.root / relative
                if not path.exists():
                    raise ContentError(f"{path}: missing")
                self._data_cache[relative] = load_yaml(path)
            return self._data_cache[relative]

    def data_dir(self, relative: str) -> dict[str, Any]:
        """Every YAML file in a content folder, by file stem, sorted by name."""
        folder = self.root / relative
        return {p.stem: self.data(str(p.relative_to(self.root))) for p in sorted(folder.glob("*.yaml"))}

    # --- checking -----------------------------------------------------------------------------
    def check(self, source_roots: list[Path] | None = None) -> ContentCheckResult:
        result = ContentCheckResult()
        errors = result.errors
        # 1. Same keys in every language.
        base = self._texts[DEFAULT_LANG]
        for lang in LANGS:
            if lang == DEFAULT_LANG:
                continue
            other = self._texts[lang]
            for key in sorted(set(base) - set(other)):
                errors.append(f"texts/{lang}.yaml: missing key {key!r} (present in {DEFAULT_LANG}.yaml)")
            for key in sorted(set(other) - set(base)):
                errors.append(f"texts/{DEFAULT_LANG}.yaml: missing key {key!r} (present in {lang}.yaml)")
        # 2. Every text parses, and uses the same variables in every language.
        for key in sorted(base):
            declared: dict[str, set[str]] = {}
            for lang in LANGS:
                if key not in self._texts[lang]:
                    continue
                try:
                    ast = self.env.parse(self._texts[lang][key])
                except jinja2.TemplateSyntaxError as exc:
                    errors.append(f"texts/{lang}.yaml: {key!r}: template syntax error: {exc.message}")
                    continue
                declared[lang] = meta.find_undeclared_variables(ast)
            if len(set(map(frozenset, declared.values()))) > 1:
                detail = "; ".join(f"{lang}: {sorted(v)}" for lang, v in declared.items())
                errors.append(f"text {key!r}: languages use different variables ({detail})")
        result.checked["texts"] = len(base)
        # 3. Templates: same names in every language, parse, same variables.
        names: dict[str, dict[str, set[str]]] = {}
        for lang in LANGS:
            folder = self.root / "templates" / lang
            for path in sorted(folder.glob("*.j2")) if folder.exists() else []:
                source = path.read_text(encoding="utf-8")
                try:
                    ast = self.env.parse(source)
                except jinja2.TemplateSyntaxError as exc:
                    errors.append(f"templates/{lang}/{path.name}:{exc.lineno}: syntax error: {exc.message}")
                    continue
                names.setdefault(path.stem, {})[lang] = meta.find_undeclared_variables(ast)
        for name, per_lang in sorted(names.items()):
            for lang in LANGS:
                if lang not in per_lang:
                    errors.append(f"templates/{lang}/{name}.j2: missing (exists in another language)")
            if len(set(map(frozenset, per_lang.values()))) > 1:
                detail = "; ".join(f"{lang}: {sorted(v)}" for lang, v in per_lang.items())
                errors.append(f"template {name!r}: languages use different variables ({detail})")
        result.checked["templates"] = len(names)
        # 4. Every YAML file under content/ parses.
        yaml_files = sorted(self.root.rglob("*.yaml"))
        for path in yaml_files:
            try:
                load_yaml(path)
            except ContentError as exc:
                errors.append(str(exc))
        result.checked["yaml files"] = len(yaml_files)
        # 5. Text keys and template names referenced from the code exist.
        for ref_kind, ref, where in _code_references(source_roots or _default_source_roots()):
            if ref_kind == "text" and ref not in base:
                errors.append(f"{where}: uses text key {ref!r}, missing from texts/{DEFAULT_LANG}.yaml")
            if ref_kind == "template" and ref not in names:
                errors.append(f"{where}: uses template {ref!r}, missing from templates/")
        # 6. Feature checks (legality facts have sources, checklists are complete, ...).
        import flows  # noqa: F401  (importing the flows registers their checks)

        for check in _CHECKS:
            try:
                errors.extend(check(self))
            except ContentError as exc:
                errors.append(str(exc))
        result.checked["feature checks"] = len(_CHECKS)
        return result


# Calls such as turn.say(<key>), content.t(<key>, lang), render(<template>) in bot/ and flows/.
_TEXT_REF = re.compile(r"""\b(?:say|t|ask|text_key|key)\s*[(=]\s*["']([a-z0-9_]+(?:\.[a-z0-9_]+)+)["']""")
_TEMPLATE_REF = re.compile(r"""\b(?:render|say_template|template)\s*[(=]\s*["']([a-z0-9_]+)["']""")


def _default_source_roots() -> list[Path]:
    repo = Path(__file__).resolve().parent.parent
    return [repo / "bot", repo / "flows"]


def _code_references(roots: list[Path]):
    for root in roots:
        for path in sorted(root.rglob("*.py")):
            source = path.read_text(encoding="utf-8")
            for match in _TEXT_REF.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                yield "text", match.group(1), f"{path.relative_to(root.parent)}:{line}"
            for match in _TEMPLATE_REF.finditer(source):
                line = source.count("\n", 0, match.start()) + 1
                yield "template", match.group(1), f"{path.relative_to(root.parent)}:{line}"


_content: dict[str, Content] = {}
_by_setting: dict[str, Content] = {}  # CONTENT_DIR as set (or "") -> its content
_content_lock = threading.Lock()


def get_content(root: Path | None = None) -> Content:
    if root is None:
        # Called on every message: the content for the configured directory without rebuilding settings.
        found = _by_setting.get(os.environ.get("CONTENT_DIR", ""))
        if found is not None:
            return found
        from bot.config import load_settings

        found = get_content(load_settings().content_dir)
        _by_setting[os.environ.get("CONTENT_DIR", "")] = found
        return found
    key = str(Path(root).resolve())
    with _content_lock:
        if key not in _content:
            _content[key] = Content(Path(root))
        return _content[key]
