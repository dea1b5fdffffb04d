"""Approved WhatsApp templates and quick-reply content, configured per message kind.

WhatsApp lets a business send free text only within 24 hours of the owner's last message.
Outside that window only a template approved by WhatsApp may go out: on Twilio, a Content
Template (ContentSid "HX...") plus its variables. Which template serves which message kind
(reminder, broadcast, relay, alert, reply) is data in content/channels/whatsapp_templates.yaml;
the ContentSids differ per Twilio account, so each may also come from the environment
(`WHATSAPP_TEMPLATE_<KIND>=HX...`, which wins over the file).

Variables are small Jinja2 expressions over the message:
  text   - the message with its options numbered, as it would go out as free text
  body   - the message text alone
  vars   - the outbox row's template_vars (set by the feature that wrote the message)
  kind   - the message kind
  name   - the owner's first name, or "" when unknown
WhatsApp refuses template variables with line breaks, tabs or long runs of spaces, so every
rendered value is flattened to one line and cut to `max_chars`.

Quick replies (buttons inside the window) are optional: a reply whose option labels equal a
configured quick reply's labels goes out as that content, else as numbered text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from bot.content import Content, ContentError, content_check, load_yaml

DEFAULT_FILE = "channels/whatsapp_templates.yaml"
CONTENT_SID = re.compile(r"^HX[0-9a-fA-F]{32}$")
KINDS = ("reply", "relay", "alert", "reminder", "broadcast")
_SPACES = re.compile(r"[ \t\u00a0]{2,}")


def oneline(value: Any) -> str:
    """Join a multi-line text into one line that WhatsApp accepts as a template variable."""
    lines = [line.strip() for line in str(value).splitlines()]
    return _SPACES.sub(" ", " / ".join(line for line in lines if line))


_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False)
_ENV.filters["oneline"] = oneline


@dataclass(frozen=True)
class WhatsAppTemplate:
    kind: str
    content_sid: str
    variables: dict[str, str]
    max_chars: int = 900
    description: str = ""

    def render(self, context: dict[str, Any]) -> dict[str, str]:
        rendered = {}
        for key, source in self.variables.items():
            value = oneline(_ENV.from_string(source).render(**context))
            rendered[str(key)] = value[: self.max_chars] or "-"  # WhatsApp refuses empty variables
        return rendered


@dataclass(frozen=True)
class QuickReply:
    name: str
    content_sid: str
    labels: tuple[str, ...]
    variables: dict[str, str] = field(default_factory=dict)

    def render(self, context: dict[str, Any]) -> dict[str, str]:
        return WhatsAppTemplate(kind=self.name, content_sid=self.content_sid,
                                variables=self.variables, max_chars=1000).render(context)


def _label_key(labels) -> tuple[str, ...]:
    return tuple(" ".join(str(label).lower().split()) for label in labels)


class TemplateBook:
    def __init__(self, templates: dict[str, WhatsAppTemplate], quick_replies: list[QuickReply]):
        self.templates = templates
        self.quick_replies = {_label_key(q.labels): q for q in quick_replies if q.content_sid}

    @classmethod
    def load(cls, path: Path, overrides: dict[str, str] | None = None) -> "TemplateBook":
        raw = load_yaml(path) if path.exists() else {}
        raw = raw or {}
        overrides = overrides or {}
        templates = {}
        for kind, spec in (raw.get("templates") or {}).items():
            spec = spec or {}
            templates[kind] = WhatsAppTemplate(
                kind=kind,
                content_sid=overrides.get(kind) or str(spec.get("content_sid") or ""),
                variables={str(k): str(v) for k, v in (spec.get("variables") or {}).items()},
                max_chars=int(spec.get("max_chars") or 900),
                description=str(spec.get("description") or ""),
            )
        for kind, sid in overrides.items():
            if kind not in templates:
                templates[kind] = WhatsAppTemplate(kind=kind, content_sid=sid, variables={"1": "{{ text }}"})
        quick = [
            QuickReply(name=str(q.get("name") or ""), content_sid=str(q.get("content_sid") or ""),
                       labels=tuple(q.get("labels") or ()),
                       variables={str(k): str(v) for k, v in (q.get("variables") or {}).items()})
            for q in raw.get("quick_replies") or []
        ]
        return cls(templates, quick)

    def for_kind(self, kind: str) -> WhatsAppTemplate | None:
        template = self.templates.get(kind)
        return template if template is not None and template.content_sid else None

    def quick_reply(self, options) -> QuickReply | None:
        return self.quick_replies.get(_label_key(options)) if options else None


def check_template_data(raw: Any, where: str = DEFAULT_FILE) -> list[str]:
    errors: list[str] = []
    if not isinstance(raw, dict):
        return [f"{where}: top level must be a mapping with `templates:`"]
    sample = {"text": "teks", "body": "teks", "vars": {}, "kind": "reminder", "name": "Bu Sari"}
    for kind, spec in (raw.get("templates") or {}).items():
        if kind not in KINDS:
            errors.append(f"{where}: templates.{kind}: unknown message kind (known: {', '.join(KINDS)})")
        if not isinstance(spec, dict):
            errors.append(f"{where}: templates.{kind}: must be a mapping")
            continue
        sid = str(spec.get("content_sid") or "")
        if sid and not CONTENT_SID.match(sid):
            errors.append(f"{where}: templates.{kind}.content_sid {sid!r} is no Twilio ContentSid (HX + 32 hex)")
        variables = spec.get("variables")
        if not isinstance(variables, dict) or not variables:
            errors.append(f"{where}: templates.{kind}.variables: give at least one variable, e.g. \"1\": \"{{{{ text }}}}\"")
            continue
        for key, source in variables.items():
            if not str(key).isdigit():
                errors.append(f"{where}: templates.{kind}.variables: key {key!r} must be the placeholder number")
            try:
                # `vars` may hold anything a feature sets; render with a lenient sample of it.
                _ENV.from_string(str(source)).render(**{**sample, "vars": _AnyVars()})
            except TemplateError as exc:
                errors.append(f"{where}: templates.{kind}.variables.{key}: {exc}")
    for number, quick in enumerate(raw.get("quick_replies") or [], 1):
        if not isinstance(quick, dict) or not quick.get("labels"):
            errors.append(f"{where}: quick_replies #{number}: needs `labels`")
            continue
        sid = str(quick.get("content_sid") or "")
        if sid and not CONTENT_SID.match(sid):
            errors.append(f"{where}: quick_replies #{number}.content_sid {sid!r} is no Twilio ContentSid")
    return errors


class _AnyVars(dict):
    """Stands in for template_vars when checking: any key reads as a sample word."""

    def __getattr__(self, name: str) -> str:
        return "contoh"

    def __getitem__(self, name: str) -> str:
        return "contoh"

    def get(self, name, default=None):
        return "contoh"


@content_check
def check_whatsapp_templates(content: Content) -> list[str]:
    path = content.root / DEFAULT_FILE
    if not path.exists():
        return [f"{path}: missing (WhatsApp templates per message kind)"]
    try:
        return check_template_data(content.data(DEFAULT_FILE))
    except ContentError as exc:
        return [str(exc)]
