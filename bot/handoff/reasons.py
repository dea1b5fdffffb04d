"""Why a case was opened, in plain words for mentors (texts `handoff.reason_<topic>`).

Flows record a case's reason for the log (often in English, sometimes only the menu option the
owner tapped, "7" or "Lainnya"); mentors read this instead: the topic's text from content/,
filled from the case's structured context (the product, the question the owner could not answer,
the rejected permit and its reason, the hygiene findings with their item text). The recorded
reason stays on the case for staff.
"""
from __future__ import annotations

import re
from types import SimpleNamespace

from bot.content import Content, ContentError
from bot.normalize import normalize
from storage.models import Ticket

SAID_LIMIT = 200
_MISUNDERSTOOD = re.compile(r"last message:\s*(.*)$", re.S)


def _menu_words(content: Content) -> set[str]:
    """Menu option labels and numbers: a request made by tapping one says nothing by itself."""
    words = set()
    menu = content.data("menu.yaml") or {}
    for item in menu.get("items") or menu.get("menu") or []:
        label = item.get("label") if isinstance(item, dict) else None
        for lang in ("id", "en"):
            if label and content.has(label, lang):
                words.add(normalize(content.t(label, lang), content))
    return words


def _meaningful(text: str, content: Content) -> bool:
    text = (text or "").strip()
    if len(text) < 3 or text.isdigit() or not re.search(r"[^\W\d_]{3,}", text):
        return False
    if len(re.findall(r"[^\W\d_]{2,}", text)) < 2:
        return False  # one word (MENU, PENDAMPING, tolong) says what was tapped, not what is needed
    return normalize(text, content) not in _menu_words(content)


def _owner_said(ticket: Ticket, content: Content) -> str:
    """What the owner wrote when asking, if it says anything ("7" or "MENU" does not; the case
    card's last messages show the rest)."""
    return ticket.reason.strip()[:SAID_LIMIT] if _meaningful(ticket.reason, content) else ""


def _step_name(content: Content, key: str | None, lang: str) -> str:
    from bot.legality import rules as legality_rules

    if not key:
        return "-"
    try:
        name = legality_rules.lang_text(legality_rules.step(content, key).get("name"), lang)
    except ContentError:
        return key
    return str(name or key).split(" (")[0]


def _question_text(content: Content, fact: str | None, lang: str) -> str:
    from bot.legality import rules as legality_rules

    questions = (legality_rules.products(content).get("questions") or {}) if fact else {}
    spec = questions.get(fact) or {}
    return str(legality_rules.lang_text(spec.get("ask"), lang) or "")


def _findings(context: dict) -> list[str]:
    items = context.get("critical_items") or []
    return [str(item.get("question") or item.get("id")) for item in items if isinstance(item, dict)]


def held_permits(session, content: Content, owner, lang: str = "id") -> list[str]:
    """What the owner holds, one list: the permits said at registration and every permit step
    done on the pathway since (so the card never says "-" while the pathway lists the NIB)."""
    from sqlalchemy import select

    from bot.legality.pathway import REGISTRATION_PERMITS, is_expired
    from storage.models.legality import PathwayStep

    held: list[str] = []
    steps_said = set()
    for permit in owner.has_permits or []:
        steps_said.update(REGISTRATION_PERMITS.get(permit, ()))
        if content.has(f"registration.permit_{permit}", lang):
            held.append(content.t(f"registration.permit_{permit}", lang).split(" (")[0])
    rows = session.scalars(select(PathwayStep).where(PathwayStep.owner_id == owner.id,
                                                     PathwayStep.status == "selesai",
                                                     PathwayStep.permit_kind.is_not(None))
                           .order_by(PathwayStep.position, PathwayStep.id)).all()
    for row in rows:
        if row.step in steps_said and not row.number:
            continue  # the registration answer already names it
        name = _step_name(content, row.step, lang)
        if row.number:
            name += f" {row.number}"
        if is_expired(row):
            name += " " + content.t("handoff.permit_expired_mark", lang)
        held.append(name)
    return list(dict.fromkeys(held))


def plain_reason(content: Content, ticket: Ticket, lang: str = "id") -> str:
    """The case's reason, and the reason of every topic that joined it (one line each)."""
    parts = [_one_reason(content, ticket, lang)]
    for joined in (ticket.context or {}).get("also") or []:
        other = SimpleNamespace(topic=joined.get("topic"), reason=joined.get("reason") or "",
                                context={**(joined.get("context") or {}),
                                         "last_messages": joined.get("last_messages") or []})
        parts.append(_one_reason(content, other, lang))
    return "\n+ ".join(dict.fromkeys(parts))


def _one_reason(content: Content, ticket, lang: str) -> str:
    context = ticket.context or {}
    topic = (ticket.topic or "other").split(":", 1)
    base, detail = topic[0], (topic[1] if len(topic) > 1 else "")
    key = f"handoff.reason_{base}"
    if base in ("asked", "complaint"):
        return content.t(key, lang, said=_owner_said(ticket, content))
    if base == "misunderstood":
        found = _MISUNDERSTOOD.search(ticket.reason or "")
        return content.t(key, lang, said=(found.group(1).strip() if found else "")[:SAID_LIMIT])
    if base == "media":
        urls = context.get("media") or []
        return content.t(key, lang, count=len(urls) or 1)
    if base == "legality_classify":
        return content.t(key, lang, product=context.get("product") or "-",
                         question=_question_text(content, context.get("question"), lang))
    if base == "permit_mismatch":
        return content.t(key, lang, product=context.get("product") or "-",
                         permit=_step_name(content, detail or context.get("kind"), lang),
                         number=context.get("number") or "")
    if base == "permit_rejected":
        return content.t(key, lang, permit=_step_name(content, context.get("step") or detail, lang),
                         product=context.get("product") or "",
                         reason=(context.get("rejection_reason") or "")[:SAID_LIMIT])
    if base == "gmp_critical":
        checklist = str(context.get("checklist") or "").replace("_", "-").upper()
        return content.t(key, lang, checklist=checklist, level=context.get("level") or "-",
                         findings=_findings(context))
    if content.has(key, lang):
        return content.t(key, lang)
    return content.t("handoff.reason_other", lang)
