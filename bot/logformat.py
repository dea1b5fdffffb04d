"""Log output: plain lines (the default) or one JSON object per line (`--log-format json`).

A JSON line has `ts` (UTC, ISO 8601 with milliseconds), `level`, `logger`, `message`, the process
name and id, and `exc` when a traceback is attached; uvicorn's access lines add `client`,
`method`, `path` and `status`. Every string goes through the same redaction as plain logs
(`bot.logsafety.redact`) after it is fully formatted, tracebacks included, so the JSON form never
shows what the plain form hides.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime, timezone

from bot import logsafety

FORMATS = ("plain", "json")
PLAIN = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def _redact(value: str) -> str:
    return logsafety.redact(value)


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "ts": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": _redact(record.getMessage()),
            "process": record.processName,
            "pid": record.process,
        }
        if record.name == "uvicorn.access" and isinstance(record.args, tuple) and len(record.args) == 5:
            client, method, path, _version, status = record.args
            event.update(client=str(client), method=str(method), path=_redact(str(path)), status=status)
        if record.exc_info:
            event["exc"] = _redact(self.formatException(record.exc_info))
        elif record.exc_text:
            event["exc"] = _redact(record.exc_text)
        if record.stack_info:
            event["stack"] = _redact(self.formatStack(record.stack_info))
        return json.dumps(event, ensure_ascii=False, default=str)


def configure(verbose: bool = False, log_format: str | None = None) -> str:
    """Set up the root logger and uvicorn's loggers in the chosen format; returns the format.

    The format comes from `log_format`, else UMKM_LOG_FORMAT, else plain.
    """
    log_format = (log_format or os.environ.get("UMKM_LOG_FORMAT", "") or "plain").strip().lower()
    if log_format not in FORMATS:
        raise ValueError(f"log format {log_format!r}: use one of {', '.join(FORMATS)}")
    logging.basicConfig(level=logging.DEBUG if verbose else logging.INFO, format=PLAIN)
    if log_format == "json":
        formatter = JsonFormatter()
        for handler in logging.getLogger().handlers:
            handler.setFormatter(formatter)
        # uvicorn installs its own handlers from this dict when a server starts.
        from uvicorn.config import LOGGING_CONFIG

        for name in ("default", "access"):
            LOGGING_CONFIG["formatters"][name] = {"()": "bot.logformat.JsonFormatter"}
    return log_format
