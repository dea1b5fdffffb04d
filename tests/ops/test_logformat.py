"""--log-format json: one event per line, redacted like the plain log."""
from __future__ import annotations

import json
import logging
import subprocess

from bot.logformat import JsonFormatter
from tests.ops.conftest import BIN, clean_env


def test_json_lines_from_the_command_line(tmp_path):
    env = clean_env(UMKM_DATA_DIR=str(tmp_path))
    result = subprocess.run([str(BIN), "--log-format", "json", "scheduler", "--once"], env=env,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    events = [json.loads(line) for line in result.stderr.splitlines()]  # every line is one JSON event
    migrated = [e for e in events if e["logger"] == "storage.migrate"]
    assert migrated and migrated[0]["level"] == "INFO" and "database migrated" in migrated[0]["message"]
    assert all({"ts", "level", "logger", "message", "pid"} <= set(e) for e in events)


def test_json_events_are_redacted_tracebacks_included():
    formatter = JsonFormatter()
    try:
        raise ValueError("could not send to whatsapp:+6281234567890")
    except ValueError:
        record = logging.LogRecord("bot.sender", logging.ERROR, __file__, 1,
                                   "owner wrote from %s", ("+62 812-3456-7890",), exc_info=True)
        import sys
        record.exc_info = sys.exc_info()
    line = formatter.format(record)
    assert "\n" not in line
    event = json.loads(line)
    assert event["message"] == "owner wrote from [phone]"
    assert "ValueError" in event["exc"] and "[phone]" in event["exc"]
    assert "6281234567890" not in line and "3456" not in line
