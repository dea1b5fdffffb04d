"""The mentor roster: who covers which kecamatan and sectors, how busy each is, active or not.

Staff and admins may switch a mentor on or off and import the roster CSV here (the same checks
as `umkm-bot mentors import`: every row is checked first and a file with any bad row changes
nothing; a dry run shows what would change). Mentors do not see this page.
"""
from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import selectinload
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot import locations
from bot.clock import utcnow
from bot.dashboard import auth
from bot.dashboard.csvexport import csv_response
from bot.dashboard.web import csv_upload, db_call, page, render, text
from bot.handoff.roster import import_roster
from bot.services import Services
from storage.models import Ticket
from storage.models.handoff import Mentor

MAX_UPLOAD = 2_000_000


def routes(services: Services) -> list:
    content = services.content

    def _roster(area: str):
        with services.db.session() as session:
            mentors = session.scalars(select(Mentor).options(selectinload(Mentor.areas))
                                      .order_by(Mentor.active.desc(), Mentor.name)).all()
            load = dict(session.execute(select(Ticket.mentor_id, func.count(Ticket.id))
                                        .where(Ticket.status == "taken").group_by(Ticket.mentor_id)).all())
            resolved = dict(session.execute(select(Ticket.mentor_id, func.count(Ticket.id))
                                            .where(Ticket.status == "resolved").group_by(Ticket.mentor_id)).all())
            rows = []
            for m in mentors:
                if area and not any(a.city == area for a in m.areas):
                    continue
                places = [locations.name_of(content, a.kecamatan) if a.kecamatan
                          else locations.name_of(content, a.city) for a in m.areas]
                rows.append({"id": m.id, "code": m.code, "name": m.name, "role": m.role, "active": m.active,
                             "sectors": list(m.sectors or []), "places": places,
                             "telegram": bool(m.telegram), "whatsapp": bool(m.whatsapp),
                             "taken": load.get(m.id, 0), "resolved": resolved.get(m.id, 0)})
            return rows

    @page("admin", "staff")
    async def roster(request: Request) -> Response:
        area = request.query_params.get("area", "")
        rows = await db_call(_roster, area)
        return render(request, "mentors.html", mentors=rows, area=area, areas=locations.areas(content),
                      report=request.session.pop("roster_report", None))

    @page("admin", "staff")
    async def roster_csv(request: Request) -> Response:
        rows = await db_call(_roster, request.query_params.get("area", ""))
        header = [text(request, k) for k in ("mentors.col_code", "mentors.col_name", "mentors.col_role",
                                              "mentors.col_areas", "mentors.col_sectors", "mentors.col_active",
                                              "mentors.col_taken", "mentors.col_resolved")]
        return csv_response("mentors.csv", header, ([r["code"], r["name"], r["role"], " | ".join(r["places"]),
                                                     " ".join(r["sectors"]), "ya" if r["active"] else "tidak",
                                                     r["taken"], r["resolved"]] for r in rows))

    @page("admin", "staff")
    async def toggle(request: Request) -> Response:
        user = request.scope["dash_user"]
        mentor_id = request.path_params["mentor_id"]

        def flip():
            with services.db.session() as session:
                mentor = session.get(Mentor, mentor_id)
                if mentor is None:
                    raise HTTPException(404)
                mentor.active = not mentor.active
                mentor.updated_at = utcnow()
                auth.audit(session, user, "mentor_activated" if mentor.active else "mentor_deactivated",
                           f"mentor:{mentor.id}", mentor.code)

        await db_call(flip)
        return RedirectResponse("/dash/mentors", status_code=303)

    @page("admin", "staff")
    async def upload(request: Request) -> Response:
        user = request.scope["dash_user"]
        _form, data, dry_run = await csv_upload(request, MAX_UPLOAD)
        if data is None:
            request.session["roster_report"] = {"errors": [text(request, "mentors.bad_file")], "dry_run": dry_run}
            return RedirectResponse("/dash/mentors", status_code=303)

        def run():
            with services.db.session() as session:
                report = import_roster(session, data, content, dry_run=dry_run)
                if report.ok and not dry_run:
                    auth.audit(session, user, "roster_imported", "mentors",
                               f"created {len(report.created)}, updated {len(report.updated)}")
                return report

        report = await db_call(run)
        request.session["roster_report"] = {
            "dry_run": dry_run, "errors": report.errors[:50], "created": report.created[:200],
            "updated": report.updated[:200], "unchanged": len(report.unchanged)}
        return RedirectResponse("/dash/mentors", status_code=303)

    return [
        Route("/mentors", roster),
        Route("/mentors.csv", roster_csv),
        Route("/mentors/import", upload, methods=["POST"]),
        Route("/mentors/{mentor_id:int}/toggle", toggle, methods=["POST"]),
    ]
