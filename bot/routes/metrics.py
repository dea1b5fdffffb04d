"""GET /metrics: Prometheus metrics of this web process, plus the database gauges (bot/metrics.py).

With METRICS_TOKEN set, only `Authorization: Bearer <token>` may read them; without, only
clients on this machine (loopback). Set the token whenever a reverse proxy or another container
scrapes it.
"""
from __future__ import annotations

from prometheus_client.exposition import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response
from starlette.routing import Route

from bot import metrics
from bot.services import Services


def routes(services: Services) -> list:
    async def serve_metrics(request: Request) -> Response:
        client = request.client.host if request.client else None
        if not metrics.allowed(client, request.headers.get("authorization")):
            return PlainTextResponse("forbidden", status_code=403)
        body = await run_in_threadpool(metrics.render, services.db)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return [Route("/metrics", serve_metrics)]
