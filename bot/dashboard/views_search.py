"""Search the message log and the mentor cases, within the searcher's area (bot/dashboard/search.py).
Each search is written to the audit log: message text is personal data."""
from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import casetools, locations
from bot.dashboard import auth
from bot.dashboard.scope import case_visibility, owner_visibility, viewer_for
from bot.dashboard.search import SearchQuery, search_cases, search_messages
from bot.dashboard.web import db_call, lang_of, page, render
from bot.services import Services


def routes(services: Services) -> list:
    content = services.content

    def run(user, query: SearchQuery) -> list[dict]:
        with services.db.session() as session:
            viewer = viewer_for(session, user)
            if query.what == "cases":
                rows = search_cases(session, query, case_visibility(viewer))
            else:
                rows = search_messages(session, query, owner_visibility(viewer))
            auth.audit(session, user, "search", query.what,
                       f"q={query.text!r} owner={query.owner!r} label={query.label} area={query.area} "
                       f"{query.since}..{query.until}")
            return rows

    @page()
    async def search(request: Request) -> Response:
        query = SearchQuery.from_params(request.query_params)
        rows = [] if query.empty else await db_call(run, request.scope["dash_user"], query)
        for row in rows:
            row["place"] = locations.name_of(content, row["city"])
        return render(request, "search.html", query=query, rows=rows, areas=locations.areas(content),
                      labels=casetools.label_names(content, lang_of(request)))

    return [Route("/search", search)]
