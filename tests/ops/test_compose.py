"""compose.yaml and the Dockerfile, checked without Docker (CI has no daemon): every service runs
a real `umkm-bot` command, every variable compose or the code reads is documented in
.env.example, healthchecks follow the configured ports, data and evidence are on named volumes."""
from __future__ import annotations

import re

import pytest
import yaml

from tests.ops.conftest import REPO, clean_env

COMPOSE = yaml.safe_load((REPO / "compose.yaml").read_text())
SERVICES = COMPOSE["services"]
APP_SERVICES = {name: spec for name, spec in SERVICES.items() if "command" in spec}
INTERPOLATED = re.compile(r"\$\{([A-Z][A-Z0-9_]*)")
# Settings the code reads: _env("X"), _int("X"), _float("X"), _flag("X"), _env_int(...), os.environ.get("X")
READ_IN_CODE = re.compile(r"""(?:\b_env(?:_int|_float)?|\b_int|\b_float|\b_flag|os\.environ\.get|os\.getenv)\(\s*["']([A-Z][A-Z0-9_]*)["']""")
NOT_OURS = {"PTB_TIMEDELTA"}  # python-telegram-bot's own switch, set by the code itself


def documented() -> set[str]:
    names = set()
    for line in (REPO / ".env.example").read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=", line)
        if match:
            names.add(match.group(1))
    return names


def test_every_service_runs_a_real_umkm_bot_command():
    assert set(APP_SERVICES) >= {"migrate", "web", "worker", "sender", "scheduler"}
    from click.testing import CliRunner

    from bot.cli import main  # the `umkm-bot` entry point (pyproject.toml [project.scripts])

    for name, spec in APP_SERVICES.items():
        command = spec["command"]
        assert isinstance(command, list) and command[0] == "umkm-bot", name
        result = CliRunner().invoke(main, [*command[1:], "--help"], env=clean_env())
        assert result.exit_code == 0, (name, result.output)
        assert "Usage:" in result.output
        options = [arg for arg in command[1:] if arg.startswith("--")]
        assert all(option in result.output for option in options), (name, options)
    unknown = CliRunner().invoke(main, ["no-such-command", "--help"])
    assert unknown.exit_code != 0  # the check can fail
    assert SERVICES["migrate"]["command"] == ["umkm-bot", "db", "upgrade"]


def test_every_variable_used_is_documented_in_env_example():
    known = documented()
    text = (REPO / "compose.yaml").read_text()
    used = set(INTERPOLATED.findall(text))
    for spec in APP_SERVICES.values():
        used |= set(spec.get("environment") or {})
    missing_compose = sorted(used - known)
    assert not missing_compose, f"compose.yaml uses variables missing in .env.example: {missing_compose}"
    in_code = set()
    for path in [*(REPO / "bot").rglob("*.py"), *(REPO / "storage").rglob("*.py")]:
        in_code |= set(READ_IN_CODE.findall(path.read_text()))
    assert {"DATABASE_URL", "TWILIO_AUTH_TOKEN", "METRICS_TOKEN", "SENDER_LEASE_SECONDS"} <= in_code  # the scan works
    missing_code = sorted(in_code - NOT_OURS - known)
    assert not missing_code, f"the code reads variables missing in .env.example: {missing_code}"


def test_startup_order_follows_health_and_data_sits_on_named_volumes():
    assert SERVICES["db"]["healthcheck"]["test"]
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert SERVICES["migrate"]["restart"] == "no"
    for name in ("web", "worker", "sender", "scheduler"):
        assert SERVICES[name]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        assert SERVICES[name]["healthcheck"]["test"][:4] == ["CMD", "python", "-m", "bot.healthcheck"]
        assert SERVICES[name]["env_file"] == ".env"  # secrets from the env file, none in compose.yaml
        assert {"data:/data", "evidence:/data/evidence"} <= set(SERVICES[name]["volumes"])
    assert set(COMPOSE["volumes"]) >= {"pgdata", "data", "evidence"}
    web_env = SERVICES["web"]["environment"]
    # the healthcheck (bot/healthcheck.py) asks UMKM_PORT, the same port the web process listens on
    assert web_env["UMKM_PORT"] == "${UMKM_PORT:-8000}"
    assert SERVICES["web"]["ports"] == ["${UMKM_BIND:-127.0.0.1}:${UMKM_PORT:-8000}:${UMKM_PORT:-8000}"]
    for name in ("worker", "sender", "scheduler"):
        assert SERVICES[name]["healthcheck"]["test"][-1] == "--metrics"
        assert SERVICES[name]["environment"]["METRICS_PORT"]
    for spec in SERVICES.values():  # no secret is written into compose.yaml itself
        for key, value in (spec.get("environment") or {}).items():
            if re.search(r"PASSWORD|TOKEN|SECRET", key):
                assert re.fullmatch(r"\$\{[A-Z_]+(:\?[^}]*)?\}", str(value)), key


def test_dockerfile_runs_as_non_root_with_a_data_volume_and_a_port_following_healthcheck():
    text = (REPO / "Dockerfile").read_text()
    assert re.search(r"^USER umkm$", text, re.M)
    assert re.search(r"^VOLUME /data$", text, re.M)
    assert "UMKM_DATA_DIR=/data" in text
    healthcheck = re.search(r"^HEALTHCHECK .*?CMD (.+)$", text, re.M | re.S).group(1)
    assert "bot.healthcheck" in healthcheck and "8000" not in healthcheck


@pytest.mark.parametrize("metrics", [False, True])
def test_healthcheck_follows_the_configured_port(metrics, monkeypatch):
    from bot import healthcheck

    monkeypatch.setenv("UMKM_PORT", "8123")
    monkeypatch.setenv("METRICS_PORT", "9177")
    assert healthcheck.url(metrics) == ("http://127.0.0.1:9177/health" if metrics else "http://127.0.0.1:8123/health")
    monkeypatch.delenv("UMKM_PORT")
    assert healthcheck.url(False) == "http://127.0.0.1:8000/health"
