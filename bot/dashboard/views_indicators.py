"""The programme's indicators as charts, with every table downloadable as CSV."""
from __future__ import annotations

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bot import casetools, locations, programme
from bot.content import ContentError
from bot.dashboard import charts
from bot.dashboard.csvexport import csv_response
from bot.dashboard.indicators import Indicators, compute
from bot.dashboard.owners import SECTORS
from bot.dashboard.views_programme import funnel_chart
from bot.dashboard.web import db_call, lang_of, page, render, text
from bot.services import Services

from bot import gmp as gmp_rules


def _short(label: str, limit: int = 46) -> str:
    return label if len(label) <= limit else label[:limit].rstrip() + "…"


def _pct(value, lang: str = "id") -> str:
    if value is None:
        return "–"
    shown = f"{value * 100:.1f}%"
    return shown.replace(".", ",") if lang == "id" else shown


def labelled(request: Request, services: Services, ind: Indicators) -> dict[str, list[list]]:
    """Each table's rows with keys turned into words in the viewer's language."""
    content = services.content
    lang = lang_of(request)

    def area(key):
        return locations.name_of(content, key) or text(request, "ind.unknown_area")

    def finding(item_id, checklist):
        try:
            question = gmp_rules.load_checklist(content, checklist).item(item_id).text("question", lang)
        except (KeyError, LookupError, ContentError):  # an item removed from the checklist since
            return item_id
        return f"{item_id} · {question}"

    out: dict[str, list[list]] = {}
    for slug, table in ind.tables.items():
        rows = []
        for row in table.rows:
            row = list(row)
            if slug == "registrations_by_area":
                row[0] = area(row[0])
            elif slug == "registrations_by_sector":
                row[0] = text(request, f"sector.{row[0]}")
            elif slug == "legality_funnel":
                row[0], row[2] = text(request, f"stage.{row[0]}"), _pct(row[2], lang)
            elif slug == "permits_by_type":
                row[0] = text(request, f"permit.{row[0]}")
            elif slug == "gmp_compliance":
                row[2] = _pct(row[2], lang)
            elif slug == "gmp_findings":
                row[0] = finding(row[0], row[1])
                row[2] = text(request, f"severity.{row[2]}") if row[2] in ("critical", "serious", "major", "minor") else row[2]
            elif slug == "mentor_performance":
                row[0] = row[0] or text(request, "ind.unassigned")
            rows.append(row)
        out[slug] = rows
    return out


def draw(request: Request, ind: Indicators, rows: dict[str, list[list]]) -> dict:
    over_time = ind.tables["registrations_over_time"].rows
    labels = [r[0] for r in over_time]
    by_sector = [(text(request, f"sector.{s}"), [r[2 + i] for r in over_time]) for i, s in enumerate(SECTORS)]
    running, cumulative = ind.figures.get("registered_before", 0), []
    for r in over_time:
        running += r[1]
        cumulative.append(running)
    funnel = ind.tables["legality_funnel"].rows
    first = funnel[0][1] if funnel else 0
    return {
        "registrations": charts.stacked(labels, by_sector, text(request, "ind.chart_registrations")),
        "cumulative": charts.line(labels, [(text(request, "ind.col_total"), cumulative)], text(request, "ind.chart_cumulative")),
        "by_area": charts.hbar([(r[0], r[1]) for r in rows["registrations_by_area"]], text(request, "ind.chart_by_area")),
        "by_sector": charts.hbar([(r[0], r[1]) for r in rows["registrations_by_sector"]], text(request, "ind.chart_by_sector"),
                                 color=charts.PALETTE[1]),
        "funnel": charts.hbar([(r[0], r[1]) for r in rows["legality_funnel"]], text(request, "ind.chart_funnel"),
                              max_value=first or 1, notes=[f"{r[1]} ({r[2]})" for r in rows["legality_funnel"]]),
        "permits": charts.hbar([(r[0], r[1]) for r in rows["permits_by_type"]], text(request, "ind.chart_permits"),
                               color=charts.PALETTE[2]),
        "gmp_share": charts.gauge(ind.figures.get("gmp_share"), text(request, "ind.gmp_share")),
        "gmp_levels": charts.vbar([(r[0], r[1]) for r in rows["gmp_levels"]], text(request, "ind.chart_gmp_levels"),
                                  color=charts.PALETTE[0]),
        "gmp_findings": charts.hbar([(_short(str(r[0])), r[3]) for r in rows["gmp_findings"]],
                                    text(request, "ind.chart_gmp_findings"), color=charts.PALETTE[3]),
        "mentor_take": charts.hbar([(r[0], r[3] or 0) for r in rows["mentor_performance"] if r[1]],
                                   text(request, "ind.chart_hours_to_take"), unit=text(request, "unit.hours_short"), color=charts.PALETTE[4]),
        "satisfaction": charts.gauge(ind.figures.get("satisfaction_index"), text(request, "ind.satisfaction_index")),
        "ratings": charts.vbar([(str(r[0]), r[1]) for r in rows["satisfaction"]], text(request, "ind.chart_ratings"),
                               color=charts.PALETTE[1]),
    }


def routes(services: Services) -> list:
    content = services.content

    def _params(request: Request) -> tuple[str, str]:
        area = request.query_params.get("area", "")
        if area and locations.area_by_key(content, area) is None:
            area = ""
        period = request.query_params.get("period", "week")
        return area, period if period in ("week", "month") else "week"

    def _compute(area: str, period: str) -> Indicators:
        with services.db.session() as session:
            return compute(session, content, area=area, period=period)

    def _programme(area: str) -> tuple[programme.Funnel, list[tuple[str, str, int]]]:
        with services.db.session() as session:
            return programme.funnel(session, area), casetools.label_counts(session, area)

    @page("admin", "staff")
    async def indicators(request: Request) -> Response:
        area, period = _params(request)
        ind = await db_call(_compute, area, period)
        rows = labelled(request, services, ind)
        funnel, top_labels = await db_call(_programme, area)
        names = casetools.label_names(content, lang_of(request))
        return render(request, "indicators.html", ind=ind, rows=rows, charts=draw(request, ind, rows),
                      programme_chart=funnel_chart(request, funnel),
                      top_labels=[(locations.name_of(content, city) or text(request, "ind.unknown_area"),
                                   names.get(label, label), n) for city, label, n in top_labels],
                      areas=locations.areas(content),
                      pct=lambda value: _pct(value, lang_of(request)))

    @page("admin", "staff")
    async def indicators_csv(request: Request) -> Response:
        area, period = _params(request)
        ind = await db_call(_compute, area, period)
        slug = request.path_params["slug"]
        if slug not in ind.tables:
            raise HTTPException(404)
        header = [text(request, key) for key in ind.tables[slug].columns]
        suffix = f"-{area}" if area else ""
        return csv_response(f"{slug}{suffix}.csv", header, labelled(request, services, ind)[slug])

    return [
        Route("/indicators", indicators),
        Route("/indicators/{slug}.csv", indicators_csv),
    ]
