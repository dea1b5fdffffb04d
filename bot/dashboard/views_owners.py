"""Owners: the searchable list (with CSV) and an owner's profile. Opening a profile, or
exporting the list, writes the audit log."""
from __future__ import annotations

from sqlalchemy import select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from bot import locations
from bot.dashboard import auth
from bot.dashboard.csvexport import csv_response
from bot.dashboard.owners import (PAGE_SIZE, SECTORS, STAGES, OwnerFilter, done_kinds_of, permits_held, search,
                                  stage_of)
from bot.owners_import import import_owners
from bot.legality import pathway as legality_pathway
from bot.legality import rules as legality_rules
from bot.dashboard.views_programme import owner_steps
from bot.dashboard.scope import can_see_owner, owner_visibility, viewer_for
from bot.dashboard.web import csv_upload, db_call, lang_of, page, render, text
from bot.services import Services
from storage.models import MessageLog, Owner, Ticket

from storage.models.gmp import GmpCheck

EXPORT_LIMIT = 100_000
MAX_UPLOAD = 5_000_000


def owner_row(content, owner: Owner, done_kinds: set[str] | None = None) -> dict:
    permits = permits_held(owner, done_kinds or set())
    return {
        "id": owner.id, "name": owner.name, "business_name": owner.business_name, "sector": owner.sector,
        "products": list(owner.products or []), "city": owner.city, "district": owner.district,
        "city_name": locations.name_of(content, owner.city), "district_name": locations.name_of(content, owner.district),
        "permits": sorted(permits), "stage": stage_of(owner, permits), "registered_at": owner.registered_at,
        "channel": owner.channel, "address": owner.address, "lang": owner.lang, "created_at": owner.created_at,
        "opted_out_at": owner.opted_out_at, "last_inbound_at": owner.last_inbound_at,
    }


def owner_profile(session, content, owner_id: int, lang: str = "id") -> dict | None:
    """Everything the profile and the case page show about one owner."""
    owner = session.get(Owner, owner_id)
    if owner is None:
        return None
    profile = owner_row(content, owner, done_kinds_of(session, [owner.id])[owner.id])
    profile["cases"] = [
        {"id": t.id, "topic": t.topic, "status": t.status, "created_at": t.created_at, "rating": t.rating}
        for t in session.scalars(select(Ticket).where(Ticket.owner_id == owner.id).order_by(Ticket.id.desc()))
    ]
    profile["gmp"] = [
        {"id": c.id, "checklist": c.checklist, "status": c.status, "level": c.level,
         "findings": c.findings_total, "counts": c.counts or {}, "at": c.completed_at or c.started_at}
        for c in session.scalars(select(GmpCheck).where(GmpCheck.owner_id == owner.id)
                                 .order_by(GmpCheck.id.desc()).limit(20))
    ]
    profile["pathway"] = pathway_of(session, content, owner, profile["permits"], lang)
    return profile


STEP_STATUS = {"belum": "todo", "sedang": "in_progress", "selesai": "done", "ditolak": "rejected"}


def pathway_of(session, content, owner: Owner, permits: list[str], lang: str = "id") -> list[dict]:
    """The legality pathway as the legality area keeps it (steps per product, NIB first, with
    numbers and expiry dates); before the owner has one, the permits they said they hold."""
    rows = legality_pathway.steps_of(session, owner)
    if not rows:
        return [{"step": p, "name": "", "status": "done" if p in permits else "todo", "product": None, "number": None,
                 "expires_on": None, "rejection": None} for p in ("nib", "pkp", "pirt", "bpom", "halal")]
    products = {p.id: p.name for p in legality_pathway.products_of(session, owner)}
    out = []
    for row in rows:
        try:
            name = legality_rules.lang_text(legality_rules.step(content, row.step).get("name"), lang)
        except Exception:  # a step removed from content since: show its key
            name = row.step
        out.append({"step": row.step, "name": name, "status": STEP_STATUS.get(row.status, "todo"),
                    "product": products.get(row.product_id), "number": row.number, "expires_on": row.expires_on,
                    "rejection": row.rejection_reason})
    return out


def recent_messages(session, owner_id: int, limit: int = 30) -> list[dict]:
    rows = session.scalars(select(MessageLog).where(MessageLog.owner_id == owner_id)
                           .order_by(MessageLog.id.desc()).limit(limit)).all()
    return [{"direction": m.direction, "text": m.text, "options": m.options or [], "at": m.created_at,
             "kind": m.kind} for m in reversed(rows)]


def routes(services: Services) -> list:
    content = services.content

    def _list(user, flt: OwnerFilter):
        with services.db.session() as session:
            viewer = viewer_for(session, user)
            rows, total = search(session, flt, owner_visibility(viewer))
            done = done_kinds_of(session, [o.id for o in rows])
            return [owner_row(content, o, done[o.id]) for o in rows], total

    @page()
    async def owners(request: Request) -> Response:
        flt = OwnerFilter.from_params(request.query_params)
        rows, total = await db_call(_list, request.scope["dash_user"], flt)
        pages = max(1, -(-total // PAGE_SIZE))
        return render(request, "owners.html", owners=rows, total=total, flt=flt, pages=pages,
                      areas=locations.areas(content), sectors=SECTORS, stages=STAGES,
                      report=request.session.pop("owner_import_report", None))

    @page("admin", "staff")
    async def upload(request: Request) -> Response:
        """The office's owner list: checked whole, then imported whole or not at all."""
        user = request.scope["dash_user"]
        form, data, dry_run = await csv_upload(request, MAX_UPLOAD)
        source = str(form.get("source") or "")
        if data is None:
            request.session["owner_import_report"] = {"errors": [text(request, "owners.import_bad_file")],
                                                      "dry_run": dry_run}
            return RedirectResponse("/dash/owners", status_code=303)

        def run():
            with services.db.session() as session:
                report = import_owners(session, data, content, source, dry_run=dry_run)
                if report.ok and not dry_run:
                    auth.audit(session, user, "import_owners", "owners",
                               f"source={source[:120]!r}: created {len(report.created)}, updated {len(report.updated)}")
                return report

        report = await db_call(run)
        request.session["owner_import_report"] = {
            "dry_run": dry_run, "errors": report.errors[:50], "created": len(report.created),
            "updated": len(report.updated), "unchanged": len(report.unchanged)}
        return RedirectResponse("/dash/owners", status_code=303)

    @page()
    async def owners_csv(request: Request) -> Response:
        user = request.scope["dash_user"]
        flt = OwnerFilter.from_params(request.query_params)

        def load():
            with services.db.session() as session:
                viewer = viewer_for(session, user)
                condition = owner_visibility(viewer)
                query = select(Owner).where(*flt.conditions()).order_by(Owner.id).limit(EXPORT_LIMIT)
                if condition is not None:
                    query = query.where(condition)
                owners = list(session.scalars(query))
                done: dict[int, set[str]] = {}
                for start in range(0, len(owners), 1000):
                    done.update(done_kinds_of(session, [o.id for o in owners[start:start + 1000]]))
                rows = [owner_row(content, o, done[o.id]) for o in owners]
                auth.audit(session, user, "export_owners", "owners",
                           f"{len(rows)} rows; q={flt.q!r} area={flt.area} sector={flt.sector} stage={flt.stage}")
                return rows

        rows = await db_call(load)
        header = [text(request, k) for k in ("owners.col_id", "owners.col_name", "owners.col_business",
                                              "owners.col_sector", "owners.col_products", "owners.col_area",
                                              "owners.col_district", "owners.col_stage", "owners.col_permits",
                                              "owners.col_registered", "owners.col_channel")]
        return csv_response("owners.csv", header, (
            [r["id"], r["name"], r["business_name"], r["sector"], ", ".join(r["products"]), r["city_name"],
             r["district_name"], r["stage"], " ".join(r["permits"]),
             r["registered_at"].isoformat() if r["registered_at"] else "", r["channel"]] for r in rows))

    @page()
    async def owner_detail(request: Request) -> Response:
        user = request.scope["dash_user"]
        owner_id = request.path_params["owner_id"]
        lang = lang_of(request)

        def load():
            with services.db.session() as session:
                viewer = viewer_for(session, user)
                if not can_see_owner(session, viewer, owner_id):
                    auth.audit(session, user, "view_owner_refused", f"owner:{owner_id}")
                    return None
                profile = owner_profile(session, content, owner_id, lang)
                profile["messages"] = recent_messages(session, owner_id)
                profile["programme"] = owner_steps(session, owner_id)
                auth.audit(session, user, "view_owner", f"owner:{owner_id}")
                return profile

        profile = await db_call(load)
        if profile is None:
            raise HTTPException(404)
        return render(request, "owner.html", owner=profile,
                      programme_flash=request.session.pop("programme_flash", None))

    return [
        Route("/owners", owners),
        Route("/owners.csv", owners_csv),
        Route("/owners/import", upload, methods=["POST"]),
        Route("/owners/{owner_id:int}", owner_detail),
    ]
