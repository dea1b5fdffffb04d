"""The JakPreneur seven steps (P1-P7): the funnel per area and cohort with CSV, each owner's steps,
and recording P5-P7 (marketing, financial reporting, capital access), which the bot does not run.

Staff see every owner; a mentor records steps only for owners they may see (their areas and
cases). Every recording is written to the audit log.
"""
from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot import locations, programme
from bot.clock import local, utcnow
from bot.csvtable import parse_date
from bot.dashboard import auth, charts
from bot.dashboard.csvexport import csv_response
from bot.dashboard.scope import can_see_owner, viewer_for
from bot.dashboard.web import csv_upload, db_call, page, render, text
from bot.services import Services
from storage.models import Owner

EXPORT_LIMIT = 100_000
MAX_UPLOAD = 2_000_000


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def funnel_chart(request: Request, funnel: programme.Funnel) -> object:
    items = [(text(request, f"programme.{s}"), funnel.counts.get(s, 0)) for s in programme.STEPS]
    notes = [f"{n} ({_pct(funnel.share(s))})" for s, (_, n) in zip(programme.STEPS, items)]
    return charts.hbar(items, text(request, "programme.chart"), max_value=funnel.base or 1, notes=notes,
                       color=charts.PALETTE[2])


def routes(services: Services) -> list:
    content = services.content

    def _params(request: Request) -> tuple[str, str]:
        area = request.query_params.get("area", "")
        if area and locations.area_by_key(content, area) is None:
            area = ""
        cohort = request.query_params.get("cohort", "")
        return area, cohort if programme._cohort_bounds(cohort) else ""

    def _load(area: str, cohort: str):
        with services.db.session() as session:
            return (programme.funnel(session, area, cohort), programme.funnel_by(session, "area", area, cohort),
                    programme.funnel_by(session, "cohort", area, cohort))

    @page("admin", "staff")
    async def overview(request: Request) -> Response:
        area, cohort = _params(request)
        total, by_area, by_cohort = await db_call(_load, area, cohort)
        area_rows = [(locations.name_of(content, key) or text(request, "ind.unknown_area"), counts)
                     for key, counts in by_area]
        return render(request, "programme.html", funnel=total, chart=funnel_chart(request, total),
                      by_area=area_rows, by_cohort=by_cohort, steps=programme.STEPS, area=area, cohort=cohort,
                      areas=locations.areas(content), pct=_pct,
                      report=request.session.pop("programme_report", None))

    @page("admin", "staff")
    async def funnel_csv(request: Request) -> Response:
        area, cohort = _params(request)
        total, by_area, by_cohort = await db_call(_load, area, cohort)
        group = request.query_params.get("by", "")
        header = [text(request, "programme.col_group")] + [text(request, f"programme.{s}") for s in programme.STEPS]
        if group == "area":
            rows = [[locations.name_of(content, k) or text(request, "ind.unknown_area")] + [c[s] for s in programme.STEPS]
                    for k, c in by_area]
        elif group == "cohort":
            rows = [[k] + [c[s] for s in programme.STEPS] for k, c in by_cohort]
        else:
            rows = [[text(request, "ind.col_total")] + [total.counts.get(s, 0) for s in programme.STEPS]]
        return csv_response(f"programme-funnel{'-' + group if group else ''}.csv", header, rows)

    @page("admin", "staff")
    async def owners_csv(request: Request) -> Response:
        """Each owner's seven steps with the day each was reached: one row per registered owner."""
        area, cohort = _params(request)

        def load():
            from sqlalchemy import select

            with services.db.session() as session:
                owners = session.scalars(select(Owner).where(*programme.scope(area, cohort), programme.condition("p1"))
                                         .order_by(Owner.id).limit(EXPORT_LIMIT)).all()
                steps: dict[int, programme.OwnerSteps] = {}
                for start in range(0, len(owners), 1000):
                    steps.update(programme.steps_of(session, [o.id for o in owners[start:start + 1000]]))
                auth.audit(session, request.scope["dash_user"], "export_programme", "owners",
                           f"{len(owners)} rows; area={area} cohort={cohort}")
                return [[o.id, o.name, locations.name_of(content, o.city), locations.name_of(content, o.district),
                         programme.cohort_of(o.registered_at)]
                        + [(steps[o.id].steps[s].isoformat() if steps[o.id].steps[s] else "") for s in programme.STEPS]
                        for o in owners]

        rows = await db_call(load)
        header = [text(request, k) for k in ("owners.col_id", "owners.col_name", "owners.col_area",
                                              "owners.col_district", "programme.col_cohort")]
        header += [text(request, f"programme.{s}") for s in programme.STEPS]
        return csv_response("programme-owners.csv", header, rows)

    @page()
    async def record(request: Request) -> Response:
        """Record or remove P5-P7 for one owner (staff, or a mentor who may see the owner)."""
        user = request.scope["dash_user"]
        owner_id = request.path_params["owner_id"]
        form = await request.form()
        step = str(form.get("step") or "")
        remove = form.get("remove") == "1"
        day = parse_date(str(form.get("date") or "")) or (None if form.get("date") else local(utcnow()).date())
        note = str(form.get("note") or "")

        def run() -> str:
            with services.db.session() as session:
                if not can_see_owner(session, viewer_for(session, user), owner_id):
                    return "forbidden"
                if step not in programme.RECORDED:
                    return "programme.bad_step"
                if remove:
                    if programme.unrecord(session, owner_id, step):
                        auth.audit(session, user, "programme_removed", f"owner:{owner_id}", step)
                    return "programme.removed"
                if day is None:
                    return "programme.bad_date"
                try:
                    programme.record(session, owner_id, step, day, note, user.username)
                except programme.MilestoneError:
                    return "programme.bad_date"
                auth.audit(session, user, "programme_recorded", f"owner:{owner_id}", f"{step} {day.isoformat()}")
                return "programme.recorded"

        outcome = await db_call(run)
        if outcome == "forbidden":
            raise HTTPException(404)
        request.session["programme_flash"] = outcome
        return RedirectResponse(f"/dash/owners/{owner_id}#programme", status_code=303)

    @page("admin", "staff")
    async def upload(request: Request) -> Response:
        user = request.scope["dash_user"]
        _form, data, dry_run = await csv_upload(request, MAX_UPLOAD)
        if data is None:
            request.session["programme_report"] = {"errors": [text(request, "owners.import_bad_file")], "dry_run": dry_run}
            return RedirectResponse("/dash/programme", status_code=303)

        def run():
            with services.db.session() as session:
                count, errors = programme.import_records(session, data, user.username, dry_run=dry_run)
                if not errors and not dry_run:
                    auth.audit(session, user, "programme_imported", "owners", f"{count} records")
                return count, errors

        count, errors = await db_call(run)
        request.session["programme_report"] = {"dry_run": dry_run, "errors": errors[:50], "count": count}
        return RedirectResponse("/dash/programme", status_code=303)

    return [
        Route("/programme", overview),
        Route("/programme/funnel.csv", funnel_csv),
        Route("/programme/owners.csv", owners_csv),
        Route("/programme/import", upload, methods=["POST"]),
        Route("/owners/{owner_id:int}/programme", record, methods=["POST"]),
    ]


def owner_steps(session, owner_id: int) -> list[dict]:
    """The owner page's list: each step, the day it was reached, its note, and whether people record it."""
    steps = programme.steps_of(session, [owner_id])[owner_id]
    return [{"step": s, "on": steps.steps[s], "note": steps.notes.get(s, ""), "recorded": s in programme.RECORDED}
            for s in programme.STEPS]
