from __future__ import annotations

from sqlalchemy import text
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from bot.services import Services


def routes(services: Services) -> list:
    async def health(_request: Request) -> JSONResponse:
        try:
            with services.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception:  # the health answer must say "down", not crash
            database = "down"
        status = 200 if database == "ok" else 503
        return JSONResponse(
            {
                "status": "ok" if status == 200 else "degraded",
                "database": database,
                "channels": {
                    "whatsapp": services.settings.twilio_enabled,
                    "telegram": services.settings.telegram_enabled,
                },
            },
            status_code=status,
        )

    return [Route("/health", health)]
