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

Templates from Twilio (`umkm-bot templates sync`, `sync_templates` below): the Content API lists
the account's templates with their WhatsApp approval status. Each kind is matched to one of them
by, in this order, the ContentSid configured for it (environment, then the file), the file's
explicit `twilio_name`, or the naming convention (`naming_convention`, default `umkm_{kind}`,
e.g. `umkm_reminder`). The result is kept per kind (table `whatsapp_templates`); a kind with no
ContentSid configured then uses its synced template, but only an approved one whose placeholders
are the ones our `variables` fill. The dashboard's templates page shows all of it.

Which ContentSid a message uses, first found: WHATSAPP_TEMPLATE_<KIND>, the file's `content_sid`,
the approved synced template. Without any, the message is recorded unsendable outside the window.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

from bot.content import Content, ContentError, content_check, load_yaml

log = logging.getLogger(__name__)

DEFAULT_FILE = "channels/whatsapp_templates.yaml"
DEFAULT_CONVENTION = "umkm_{kind}"
SYNCED_TTL = 60.0  # seconds a sender trusts its copy of the synced templates
PLACEHOLDER = re.compile(r"\{\{\s*(\d+)\s*\}\}")
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
    def __init__(self, templates: dict[str, WhatsAppTemplate], quick_replies: list[QuickReply],
                 synced: Callable[[], dict[str, str]] | None = None):
        self.templates = templates
        self.quick_replies = {_label_key(q.labels): q for q in quick_replies if q.content_sid}
        self._synced = synced
        self._synced_cache: tuple[float, dict[str, str]] = (float("-inf"), {})
        self._synced_lock = threading.Lock()

    def synced(self) -> dict[str, str]:
        """kind -> ContentSid of the approved synced templates (re-read every SYNCED_TTL)."""
        if self._synced is None:
            return {}
        with self._synced_lock:
            loaded_at, sids = self._synced_cache
            if time.monotonic() - loaded_at > SYNCED_TTL:
                try:
                    sids = self._synced()
                except Exception:  # the database is away: keep the last copy, try again later
                    log.warning("synced WhatsApp templates could not be read", exc_info=True)
                self._synced_cache = (time.monotonic(), sids)
            return sids

    @classmethod
    def load(cls, path: Path, overrides: dict[str, str] | None = None,
             database_url: str | None = None) -> "TemplateBook":
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
        synced = None
        if database_url:
            def synced() -> dict[str, str]:
                return read_approved_synced_sids(database_url)
        return cls(templates, quick, synced)

    def for_kind(self, kind: str) -> WhatsAppTemplate | None:
        template = self.templates.get(kind)
        if template is not None and template.content_sid:
            return template
        sid = self.synced().get(kind)
        if not sid:
            return None
        if template is None:
            return WhatsAppTemplate(kind=kind, content_sid=sid, variables={"1": "{{ text }}"})
        return replace(template, content_sid=sid)

    def quick_reply(self, options) -> QuickReply | None:
        return self.quick_replies.get(_label_key(options)) if options else None


def check_template_data(raw: Any, where: str = DEFAULT_FILE) -> list[str]:
    errors: list[str] = []
    if not isinstance(raw, dict):
        return [f"{where}: top level must be a mapping with `templates:`"]
    sample = {"text": "teks", "body": "teks", "vars": {}, "kind": "reminder", "name": "Bu Sari"}
    convention = raw.get("naming_convention")
    if convention is not None and "{kind}" not in str(convention):
        errors.append(f"{where}: naming_convention {convention!r} must contain {{kind}}, e.g. umkm_{{kind}}")
    for kind, spec in (raw.get("templates") or {}).items():
        if kind not in KINDS:
            errors.append(f"{where}: templates.{kind}: unknown message kind (known: {', '.join(KINDS)})")
        if not isinstance(spec, dict):
            errors.append(f"{where}: templates.{kind}: must be a mapping")
            continue
        sid = str(spec.get("content_sid") or "")
        if sid and not CONTENT_SID.match(sid):
            errors.append(f"{where}: templates.{kind}.content_sid {sid!r} is no Twilio ContentSid (HX + 32 hex)")
        name = spec.get("twilio_name")
        if name is not None and not re.fullmatch(r"[a-z0-9_]{1,512}", str(name)):
            errors.append(f"{where}: templates.{kind}.twilio_name {name!r}: WhatsApp template names are "
                          f"lowercase letters, digits and _")
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


# --- templates from Twilio (umkm-bot templates sync) -----------------------------------------
@dataclass(frozen=True)
class RemoteTemplate:
    """One Content Template of the Twilio account, with its WhatsApp approval."""

    sid: str
    friendly_name: str
    language: str
    status: str  # approved | pending | received | rejected | paused | disabled | unsubmitted | ...
    category: str
    rejection_reason: str
    body: str
    variables: dict[str, str]
    updated: str = ""

    @property
    def placeholders(self) -> set[str]:
        found = set(PLACEHOLDER.findall(self.body))
        return found or {str(k) for k in self.variables}

    @classmethod
    def from_api(cls, item: Any) -> "RemoteTemplate":
        approvals = getattr(item, "approval_requests", None) or {}
        whatsapp = approvals.get("whatsapp") if isinstance(approvals.get("whatsapp"), dict) else approvals
        types = getattr(item, "types", None) or {}
        body = ""
        for spec in types.values():  # twilio/text, twilio/quick-reply, twilio/card...: each has a body
            if isinstance(spec, dict) and spec.get("body"):
                body = str(spec["body"])
                break
        return cls(
            sid=str(item.sid or ""), friendly_name=str(item.friendly_name or ""),
            language=str(item.language or ""),
            status=str(whatsapp.get("status") or "unsubmitted").lower(),
            category=str(whatsapp.get("category") or ""),
            rejection_reason=str(whatsapp.get("rejection_reason") or ""),
            body=body, variables={str(k): str(v) for k, v in (getattr(item, "variables", None) or {}).items()},
            updated=str(getattr(item, "date_updated", "") or ""),
        )


def fetch_remote_templates(client) -> list[RemoteTemplate]:
    """Every Content Template of the account, with approval status (all pages)."""
    return [RemoteTemplate.from_api(item) for item in client.content.v1.content_and_approvals.stream(page_size=200)]


@dataclass(frozen=True)
class KindTemplate:
    """What `sync_templates` found for one message kind."""

    kind: str
    remote: RemoteTemplate | None
    matched_by: str  # env | file | table | convention | "" (nothing matched)
    wanted: str  # the sid or name looked for
    problem: str = ""

    @property
    def usable(self) -> bool:
        return self.remote is not None and self.remote.status == "approved" and not self.problem


def _best(candidates: list[RemoteTemplate], lang: str) -> RemoteTemplate | None:
    if not candidates:
        return None
    newest_first = sorted(candidates, key=lambda t: t.updated, reverse=True)
    return sorted(newest_first, key=lambda t: (t.language.split("_")[0].lower() != lang, t.status != "approved"))[0]


def match_templates(raw: dict, remote: list[RemoteTemplate], overrides: dict[str, str] | None = None,
                    lang: str = "id") -> list[KindTemplate]:
    """Each message kind's template among the account's, by configured sid, table, or convention."""
    overrides = overrides or {}
    specs = (raw or {}).get("templates") or {}
    convention = str((raw or {}).get("naming_convention") or DEFAULT_CONVENTION)
    by_sid = {t.sid: t for t in remote}
    results = []
    for kind in KINDS:
        spec = specs.get(kind) or {}
        ours = {str(k) for k in (spec.get("variables") or {"1": ""})}
        if overrides.get(kind):
            how, wanted = "env", overrides[kind]
        elif spec.get("content_sid"):
            how, wanted = "file", str(spec["content_sid"])
        elif spec.get("twilio_name"):
            how, wanted = "table", str(spec["twilio_name"])
        else:
            how, wanted = "convention", convention.format(kind=kind)
        if how in ("env", "file"):
            found = by_sid.get(wanted)
            problem = "" if found else f"ContentSid {wanted} is not in this Twilio account"
        else:
            found = _best([t for t in remote if t.friendly_name == wanted], lang)
            problem = "" if found else f"no template named {wanted!r} in this Twilio account"
        if found is not None:
            if found.status != "approved":
                problem = f"WhatsApp approval: {found.status}" + (
                    f" ({found.rejection_reason})" if found.rejection_reason else "")
            elif found.placeholders != ours:
                problem = (f"its placeholders {sorted(found.placeholders, key=int)} differ from the variables "
                           f"we fill {sorted(ours, key=int)} in {DEFAULT_FILE}")
        results.append(KindTemplate(kind, found, how if found else "", wanted, problem))
    return results


def sync_templates(db, client, content_dir: Path, overrides: dict[str, str] | None = None,
                   lang: str = "id", templates_file: str = DEFAULT_FILE) -> list[KindTemplate]:
    """Read the account's templates and keep each kind's match (table whatsapp_templates)."""
    from storage.models.ops import WhatsAppTemplateSync
    from bot.clock import utcnow

    path = Path(content_dir) / templates_file
    raw = load_yaml(path) if path.exists() else {}
    results = match_templates(raw or {}, fetch_remote_templates(client), overrides, lang)
    now = utcnow()
    with db.session() as session:
        for result in results:
            row = session.get(WhatsAppTemplateSync, result.kind) or WhatsAppTemplateSync(kind=result.kind)
            remote = result.remote
            row.content_sid = remote.sid if remote else ""
            row.friendly_name = remote.friendly_name if remote else ""
            row.language = remote.language if remote else ""
            row.status = remote.status if remote else "missing"
            row.category = remote.category if remote else ""
            row.rejection_reason = remote.rejection_reason if remote else ""
            row.body = remote.body if remote else ""
            row.variables = dict(remote.variables) if remote else {}
            row.matched_by = result.matched_by
            row.problem = result.problem
            row.synced_at = now
            session.add(row)
    return results


def approved_synced_sids(db) -> dict[str, str]:
    """kind -> ContentSid of each synced template that is approved and fits our variables."""
    from sqlalchemy import select

    from storage.models.ops import WhatsAppTemplateSync as T

    with db.session() as session:
        rows = session.execute(
            select(T.kind, T.content_sid).where(T.status == "approved", T.problem == "", T.content_sid != "")
        ).all()
    return {kind: sid for kind, sid in rows}


def read_approved_synced_sids(database_url: str) -> dict[str, str]:
    """The same, on a connection of its own that takes no lock: the sender asks while its claim's
    transaction holds SQLite's write lock, which the process's own engine would wait for."""
    from sqlalchemy import create_engine, select
    from sqlalchemy.pool import NullPool

    from storage.models.ops import WhatsAppTemplateSync as T

    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            rows = conn.execute(
                select(T.kind, T.content_sid).where(T.status == "approved", T.problem == "", T.content_sid != "")
            ).all()
    finally:
        engine.dispose()
    return {kind: sid for kind, sid in rows}


def template_overview(db, book: "TemplateBook | None", raw: dict) -> list[dict]:
    """Per kind, for the dashboard: the template in use, its variables and approval status."""
    from sqlalchemy import select

    from storage.models.ops import WhatsAppTemplateSync as T

    with db.session() as session:
        synced = {row.kind: row for row in session.scalars(select(T))}
    specs = (raw or {}).get("templates") or {}
    rows = []
    for kind in KINDS:
        spec = specs.get(kind) or {}
        row = synced.get(kind)
        in_use = book.for_kind(kind) if book is not None else None
        # What Twilio said about the very template in use (None: not synced, status unknown)
        known = row.status if row is not None and in_use is not None and row.content_sid == in_use.content_sid else None
        rows.append({
            "kind": kind,
            "description": str(spec.get("description") or ""),
            "variables": {str(k): str(v) for k, v in (spec.get("variables") or {}).items()},
            "suggested_body": str(spec.get("suggested_body") or ""),
            "content_sid": in_use.content_sid if in_use else (row.content_sid if row else ""),
            "name": row.friendly_name if row else "",
            "body": row.body if row else "",
            "language": row.language if row else "",
            "status": row.status if row else ("not synced" if in_use else "missing"),
            "problem": row.problem if row else "",
            "matched_by": row.matched_by if row else "",
            "synced_at": row.synced_at if row else None,
            "in_use": bool(in_use),
            "sendable": in_use is not None and known in (None, "approved"),
        })
    return rows
