"""Case labels and canned replies on the web (bot/casetools.py): a mentor labels a case and sends a
canned reply from the case page; staff edit the canned replies at /dash/canned."""
from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot import casetools
from bot.dashboard import auth
from bot.dashboard.scope import can_see_case, viewer_for
from bot.dashboard.web import db_call, lang_of, page, render, text
from bot.handoff import actions
from bot.handoff.actions import Refused
from bot.services import Services
from storage.models import Owner, Ticket


def case_tools(session, content, viewer, ticket: Ticket, lang: str) -> dict:
    """What the case page shows of the tools: the labels, and the canned replies rendered for this
    case's owner (only for the mentor holding the case)."""
    names = casetools.label_names(content, lang)
    current = casetools.labels_of(session, [ticket.id])[ticket.id]
    me = viewer.mentor
    canned = []
    if me is not None and ticket.status == "taken" and ticket.mentor_id == me.id:
        owner = session.get(Owner, ticket.owner_id)
        owner_lang = owner.lang or "id"
        variables = casetools.variables_for(session, content, ticket, me.name, owner_lang)
        canned = [{"key": r.key, "title": r.title_in(lang), "text": casetools.render_canned(r, variables, owner_lang)}
                  for r in casetools.canned_replies(session, content)]
    may_label = me is not None and actions.may_see(session, ticket, me)
    return {"labels": [(key, names[key], key in current) for key in names], "current": [names[k] for k in current if k in names],
            "canned": canned, "may_label": may_label}


def routes(services: Services) -> list:
    content = services.content

    @page("mentor")
    async def labels(request: Request) -> Response:
        user, case_id = request.scope["dash_user"], request.path_params["case_id"]
        form = await request.form()
        chosen = [str(v) for v in form.getlist("label")]

        def run():
            with services.db.session() as session:
                viewer = viewer_for(session, user)
                ticket = session.get(Ticket, case_id)
                if ticket is None or viewer.mentor is None or not can_see_case(session, viewer, case_id) \
                        or not actions.may_see(session, ticket, viewer.mentor):
                    raise HTTPException(404)
                kept = casetools.set_labels(session, content, case_id, chosen, f"mentor:{viewer.mentor.id}")
                auth.audit(session, user, "case_labels", f"case:{case_id}", ",".join(kept))

        await db_call(run)
        request.session["flash"] = "done:labels"
        return RedirectResponse(f"/dash/cases/{case_id}#tools", status_code=303)

    @page("mentor")
    async def send_canned(request: Request) -> Response:
        user, case_id = request.scope["dash_user"], request.path_params["case_id"]
        form = await request.form()
        key = str(form.get("key") or "")
        lang = lang_of(request)

        def run() -> str:
            try:
                with services.db.session() as session:
                    viewer = viewer_for(session, user)
                    if viewer.mentor is None or not can_see_case(session, viewer, case_id):
                        raise HTTPException(404)
                    ticket = actions.get_case(session, case_id)
                    tools = case_tools(session, content, viewer, ticket, lang)
                    chosen = next((c for c in tools["canned"] if c["key"] == key), None)
                    if chosen is None:
                        return text(request, "tools.canned_unavailable")
                    actions.reply_to_owner(session, content, ticket, viewer.mentor, chosen["text"])
                    auth.audit(session, user, "case_canned", f"case:{case_id}", key)
                    return "done:reply"
            except Refused as refused:
                return content.t(refused.key, lang, **refused.variables)

        request.session["flash"] = await db_call(run)
        return RedirectResponse(f"/dash/cases/{case_id}", status_code=303)

    @page("admin", "staff")
    async def canned_page(request: Request) -> Response:
        def load():
            with services.db.session() as session:
                return casetools.canned_replies(session, content, include_inactive=True)

        replies = await db_call(load)
        return render(request, "canned.html", replies=replies, variables=casetools.VARIABLES,
                      flash=request.session.pop("canned_flash", None))

    @page("admin", "staff")
    async def canned_save(request: Request) -> Response:
        user = request.scope["dash_user"]
        form = await request.form()

        def run() -> str:
            try:
                with services.db.session() as session:
                    row = casetools.save_canned(session, str(form.get("key") or ""), str(form.get("title_id") or ""),
                                                str(form.get("text_id") or ""), str(form.get("title_en") or ""),
                                                str(form.get("text_en") or ""), form.get("active") == "1", user.username)
                    auth.audit(session, user, "canned_saved", f"canned:{row.key}")
                    return "ok"
            except casetools.ToolError as error:
                return str(error)

        outcome = await db_call(run)
        request.session["canned_flash"] = outcome
        return RedirectResponse("/dash/canned", status_code=303)

    return [
        Route("/case-tools/{case_id:int}/labels", labels, methods=["POST"]),
        Route("/case-tools/{case_id:int}/canned", send_canned, methods=["POST"]),
        Route("/canned", canned_page),
        Route("/canned", canned_save, methods=["POST"]),
    ]
