"""Mentors' everyday tools on a case: canned replies and labels.

Canned replies: the defaults are content (content/handoff/canned.yaml, Indonesian first); staff edit
them on the dashboard (/dash/canned), which stores an override of the same key (or a new reply) in
`canned_replies`. Each is rendered for the case's owner with strict Jinja: {{ owner_name }},
{{ business }}, {{ product }}, {{ next_step }} (the owner's next legality step, in words) and
{{ mentor_name }}. A mentor sends one with `/templat N` in Telegram or the picker on the web case
page; it goes to the owner through the same path as any mentor reply.

Labels: keys from content/handoff/labels.yaml, set on a case by a mentor who may see it
(`/label 12 halal`, or the case page); staff filter and count cases by label.
"""
from __future__ import annotations

from dataclasses import dataclass

import jinja2
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.content import Content, ContentError, content_check
from storage.models import Owner, Ticket
from storage.models.casetools import CannedReply, CaseLabel

CANNED_FILE = "handoff/canned.yaml"
LABELS_FILE = "handoff/labels.yaml"
VARIABLES = ("owner_name", "business", "product", "next_step", "mentor_name")
MAX_TEXT = 400
_env = jinja2.Environment(undefined=jinja2.StrictUndefined, autoescape=False)


class ToolError(ValueError):
    pass


# --- labels --------------------------------------------------------------------------------------
def label_names(content: Content, lang: str = "id") -> dict[str, str]:
    raw = content.data(LABELS_FILE)["labels"]
    return {key: (names.get(lang) or names["id"]) for key, names in raw.items()}


def find_label(content: Content, word: str) -> str | None:
    """A label key from what a mentor typed: the key or its name, any case ("Label kemasan", "halal")."""
    from bot.csvtable import fold

    wanted = fold(word).replace("_", " ")
    for lang in ("id", "en"):
        for key, name in label_names(content, lang).items():
            if wanted in (key.replace("_", " "), fold(name)):
                return key
    return None


def labels_of(session: Session, ticket_ids: list[int]) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {i: [] for i in ticket_ids}
    if ticket_ids:
        for ticket_id, label in session.execute(select(CaseLabel.ticket_id, CaseLabel.label)
                                                .where(CaseLabel.ticket_id.in_(ticket_ids)).order_by(CaseLabel.id)):
            out[ticket_id].append(label)
    return out


def set_labels(session: Session, content: Content, ticket_id: int, labels: list[str], by: str) -> list[str]:
    """Make the case's labels exactly `labels` (known keys only); returns them."""
    known = set(label_names(content))
    wanted = [label for label in dict.fromkeys(labels) if label in known]
    session.execute(delete(CaseLabel).where(CaseLabel.ticket_id == ticket_id, CaseLabel.label.not_in(wanted or [""])))
    have = set(session.scalars(select(CaseLabel.label).where(CaseLabel.ticket_id == ticket_id)))
    for label in wanted:
        if label not in have:
            session.add(CaseLabel(ticket_id=ticket_id, label=label, created_by=by[:64], created_at=utcnow()))
    session.flush()
    return wanted


def toggle_label(session: Session, content: Content, ticket_id: int, label: str, by: str) -> bool:
    """Add the label, or remove it when the case has it; True when it is now on the case."""
    current = labels_of(session, [ticket_id])[ticket_id]
    if label in current:
        set_labels(session, content, ticket_id, [x for x in current if x != label], by)
        return False
    set_labels(session, content, ticket_id, current + [label], by)
    return True


def label_counts(session: Session, area: str = "", top: int = 5) -> list[tuple[str, str, int]]:
    """(city, label, cases) for the most used labels of each city area (or one area)."""
    query = (select(Owner.city, CaseLabel.label, func.count(CaseLabel.id))
             .join(Ticket, Ticket.id == CaseLabel.ticket_id).join(Owner, Owner.id == Ticket.owner_id)
             .group_by(Owner.city, CaseLabel.label))
    if area:
        query = query.where(Owner.city == area)
    per_city: dict[str, list[tuple[str, int]]] = {}
    for city, label, n in session.execute(query):
        per_city.setdefault(city or "", []).append((label, n))
    out = []
    for city in sorted(per_city):
        for label, n in sorted(per_city[city], key=lambda item: (-item[1], item[0]))[:top]:
            out.append((city, label, n))
    return out


# --- canned replies ------------------------------------------------------------------------------
@dataclass
class Canned:
    key: str
    title: dict[str, str]
    text: dict[str, str]
    edited: bool = False
    active: bool = True

    def title_in(self, lang: str) -> str:
        return self.title.get(lang) or self.title["id"]

    def text_in(self, lang: str) -> str:
        return self.text.get(lang) or self.text["id"]


def canned_replies(session: Session, content: Content, include_inactive: bool = False) -> list[Canned]:
    """The content defaults with staff edits applied, in content order, then staff additions."""
    replies = {r["key"]: Canned(r["key"], dict(r["title"]), dict(r["text"]))
               for r in content.data(CANNED_FILE)["replies"]}
    for row in session.scalars(select(CannedReply).order_by(CannedReply.id)):
        replies[row.key] = Canned(row.key, {"id": row.title_id, "en": row.title_en or row.title_id},
                                  {"id": row.text_id, "en": row.text_en or row.text_id}, edited=True,
                                  active=row.active)
    return [r for r in replies.values() if r.active or include_inactive]


def _check_text(text: str) -> None:
    if not text.strip():
        raise ToolError("the text is empty")
    if len(text) > MAX_TEXT:
        raise ToolError(f"the text is longer than {MAX_TEXT} characters; owners read on small phones")
    try:
        template = _env.from_string(text)
        template.render({v: "x" for v in VARIABLES})
    except jinja2.TemplateError as exc:
        raise ToolError(f"the text has a template error: {exc}; variables: {', '.join(VARIABLES)}") from None


def save_canned(session: Session, key: str, title_id: str, text_id: str, title_en: str, text_en: str,
                active: bool, by: str) -> CannedReply:
    key = "".join(ch for ch in (key or "").strip().lower() if ch.isalnum() or ch == "_")[:32]
    if not key:
        raise ToolError("the key is empty (letters, digits and _)")
    if not title_id.strip():
        raise ToolError("the title is empty")
    for text in (text_id, text_en):
        if text:
            _check_text(text)
    if not text_id:
        raise ToolError("the Indonesian text is empty")
    row = session.scalars(select(CannedReply).where(CannedReply.key == key)).first()
    if row is None:
        row = CannedReply(key=key)
        session.add(row)
    row.title_id, row.title_en = title_id.strip()[:80], title_en.strip()[:80]
    row.text_id, row.text_en, row.active = text_id.strip(), text_en.strip(), active
    row.updated_by, row.updated_at = by[:64], utcnow()
    session.flush()
    return row


def variables_for(session: Session, content: Content, ticket: Ticket, mentor_name: str, lang: str) -> dict[str, str]:
    from bot.legality import pathway
    from bot.legality.rules import lang_text, step

    owner = session.get(Owner, ticket.owner_id)
    none = content.t("handoff.unknown_name", lang)
    next_text = content.t("casetools.next_step_unknown", lang)
    try:
        upcoming = pathway.next_step(session, owner, content)
        if upcoming.state == "todo" and upcoming.step is not None:
            next_text = lang_text(step(content, upcoming.step.step).get("name"), lang) or next_text
    except Exception:  # a content step removed since: the sentence still reads well
        pass
    return {"owner_name": owner.name or none, "business": owner.business_name or "",
            "product": (owner.products or [""])[0] or content.t("casetools.your_product", lang),
            "next_step": next_text, "mentor_name": mentor_name}


def render_canned(reply: Canned, variables: dict[str, str], lang: str) -> str:
    return _env.from_string(reply.text_in(lang)).render(variables).strip()


@content_check
def check_casetools_content(content: Content) -> list[str]:
    errors = []
    try:
        labels = content.data(LABELS_FILE)
        canned = content.data(CANNED_FILE)
    except ContentError as exc:
        return [str(exc)]
    for name, raw in ((LABELS_FILE, labels), (CANNED_FILE, canned)):
        if not raw.get("last_reviewed"):
            errors.append(f"{name}: missing last_reviewed")
    for key, names in (labels.get("labels") or {}).items():
        if not (names or {}).get("id") or not names.get("en"):
            errors.append(f"{LABELS_FILE}: {key}: needs an id and an en name")
    sources = set((content.data("legality/sources.yaml").get("sources") or {}))
    seen = set()
    for reply in canned.get("replies") or []:
        key = reply.get("key")
        if not key or key in seen:
            errors.append(f"{CANNED_FILE}: a reply has no key or a repeated key ({key!r})")
        seen.add(key)
        for lang in ("id", "en"):
            if not (reply.get("title") or {}).get(lang) or not (reply.get("text") or {}).get(lang):
                errors.append(f"{CANNED_FILE}: {key}: needs a title and a text in {lang}")
                continue
            try:
                _check_text(reply["text"][lang])
            except ToolError as exc:
                errors.append(f"{CANNED_FILE}: {key} ({lang}): {exc}")
        for source in reply.get("sources") or []:
            if source not in sources:
                errors.append(f"{CANNED_FILE}: {key}: unknown source {source!r}")
    return errors
