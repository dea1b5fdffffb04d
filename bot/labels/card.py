"""The label check on the mentor's case card: the owner's latest label photo, the words read and
the checklist, so a mentor confirms in one look. The photo is served only to someone who may see
the case (the dashboard's own case scope), from the owner's kept evidence file.
"""
from __future__ import annotations

from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from bot.content import Content
from bot.labels.answer import _permit_line
from bot.labels.check import ItemFinding, LabelResult, PermitFinding
from bot.labels.rules import items as rule_items
from bot.labels.service import latest_for_owner, photo_path
from bot.labels.texts import label_text
from bot.legality.rules import lang_text


def _result_of(stored: dict) -> LabelResult:
    result = LabelResult(readable=bool(stored.get("readable")), verdict=stored.get("verdict") or "unreadable",
                         items=[ItemFinding(**i) for i in stored.get("items") or []],
                         permit=PermitFinding(**(stored.get("permit") or {"found": False})),
                         warnings=list(stored.get("warnings") or []), claims=list(stored.get("claims") or []))
    return result


def label_card(session: Session, content: Content, case_id: int, owner_id: int, lang: str) -> dict | None:
    """What the case page shows, or None when the owner never sent a label photo."""
    row = latest_for_owner(session, owner_id)
    if row is None:
        return None
    result = _result_of(row.result or {})
    names = rule_items(content)
    lines = []
    for item in result.items:
        if item.key == "permit_number":
            lines.append(_permit_line(result, content, lang))
        else:
            mark = label_text(content, "found" if item.found else "missing", lang,
                              name=lang_text(names[item.key]["name"], lang))
            lines.append(mark + (f" — “{item.text}”" if item.found and item.text else ""))
    warnings = [label_text(content, f"warning.{w}", lang, claim=(result.claims or [""])[0]) for w in result.warnings]
    return {
        "title": label_text(content, "card.title", lang),
        "when": row.created_at,
        "verdict": label_text(content, f"card.verdict_{row.verdict}", lang),
        "lines": lines if result.readable else [],
        "warnings": warnings,
        "words_title": label_text(content, "card.words", lang),
        "words": row.text,
        "photo_url": f"/dash/cases/{case_id}/label-photo" if row.photo_url else "",
        "photo_alt": label_text(content, "card.photo", lang),
    }


def routes(services) -> list[Route]:
    from bot.channels.config import ChannelSettings
    from bot.dashboard.scope import can_see_case, viewer_for
    from bot.dashboard.web import db_call, page
    from storage.models import Ticket

    def _photo(user, case_id: int):
        with services.db.session() as session:
            if not can_see_case(session, viewer_for(session, user), case_id):
                return None
            ticket = session.get(Ticket, case_id)
            row = latest_for_owner(session, ticket.owner_id) if ticket else None
            if row is None:
                return None
            return photo_path(row.photo_url, ChannelSettings.from_env(services.settings).evidence_dir)

    @page()
    async def label_photo(request: Request) -> Response:
        path = await db_call(_photo, request.scope["dash_user"], request.path_params["case_id"])
        if path is None:
            raise HTTPException(404)
        return FileResponse(path, headers={"Cache-Control": "private, no-store"})

    return [Route("/cases/{case_id:int}/label-photo", label_photo)]
