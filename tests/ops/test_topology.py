"""The compose topology as plain processes (no Docker): on an empty PostgreSQL database, the
services of compose.yaml all start at the same moment - `db upgrade`, two web processes, an inbox
worker, a sender and a scheduler - with the commands compose.yaml gives them. Signed Twilio
webhooks go to both web processes (which only store them), the worker runs the turns, the replies
reach the fake Twilio through the sender, and every process's /metrics shows its counters moved."""
from __future__ import annotations

import signal
import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from twilio.request_validator import RequestValidator

from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC
from tests.ops.conftest import BIN, clean_env, free_port, wait_for
from tests.ops.test_compose import SERVICES

TOKEN = "topology-scrape-token"
OWNERS = ["whatsapp:+6281234567401", "whatsapp:+6281234567402"]


def _command(service: str) -> list[str]:
    command = SERVICES[service]["command"]
    assert command[0] == "umkm-bot"
    return [str(BIN), *command[1:]]


def _scrape(url: str) -> dict:
    response = httpx.get(url, headers={"Authorization": f"Bearer {TOKEN}"}, timeout=10)
    assert response.status_code == 200, response.text
    found = {}
    for family in text_string_to_metric_families(response.text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def _value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


def _signed_post(base: str, text: str, sender: str, sid: str) -> httpx.Response:
    form = {"MessageSid": sid, "SmsMessageSid": sid, "AccountSid": ACCOUNT_SID, "From": sender, "To": OUR_NUMBER,
            "Body": text, "NumMedia": "0", "ProfileName": "Bu Sari"}
    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}/webhooks/twilio", form)
    return httpx.post(f"{base}/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature}, timeout=15)


@pytest.mark.timeout(240)
def test_compose_services_start_together_on_an_empty_postgres_and_serve(empty_pg_url, fake, tmp_path):
    common = clean_env(
        DATABASE_URL=empty_pg_url, UMKM_DATA_DIR=str(tmp_path), PUBLIC_BASE_URL=PUBLIC,
        TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_WHATSAPP_FROM=OUR_NUMBER,
        TWILIO_API_BASE=fake.url, TWILIO_STATUS_CALLBACKS="0", SENDER_POLL_SECONDS="0.05",
        METRICS_TOKEN=TOKEN, SECRET_KEY="topology-test-secret-key-0123456789",
    )
    web_ports = [free_port(), free_port()]
    metrics_ports = {"worker": free_port(), "sender": free_port(), "scheduler": free_port()}
    plan = [("migrate", {}),
            ("web", {"UMKM_PORT": str(web_ports[0])}),
            ("web", {"UMKM_PORT": str(web_ports[1])}),
            ("worker", {"METRICS_PORT": str(metrics_ports["worker"])}),
            ("sender", {"METRICS_PORT": str(metrics_ports["sender"])}),
            ("scheduler", {"METRICS_PORT": str(metrics_ports["scheduler"])})]
    processes = []
    try:
        for service, extra in plan:  # all at once: nobody waits for the migration to finish
            logs = open(tmp_path / f"{service}-{len(processes)}.log", "w")
            processes.append((service, logs.name, subprocess.Popen(
                _command(service), env={**common, **extra}, stdout=logs, stderr=subprocess.STDOUT, text=True)))

        def log_of(index: int) -> str:
            return open(processes[index][1]).read()

        def alive_or_fail():
            for index, (service, _, process) in enumerate(processes):
                if service != "migrate" and process.poll() is not None:
                    pytest.fail(f"{service} exited with {process.returncode}:\n{log_of(index)}")

        migrate = processes[0][2]
        assert migrate.wait(timeout=120) == 0, log_of(0)
        webs = [f"http://127.0.0.1:{port}" for port in web_ports]

        def healthy(url: str):
            alive_or_fail()
            try:
                return httpx.get(url, timeout=2).status_code == 200
            except httpx.TransportError:
                return False

        for base in webs:
            wait_for(lambda: healthy(f"{base}/health"), 90, f"{base} to come up")
        for service, port in metrics_ports.items():
            wait_for(lambda: healthy(f"http://127.0.0.1:{port}/health"), 90, f"the {service} to come up")

        # one owner writes to each web process (a proxy spreads webhooks over the replicas)
        for number, (base, owner) in enumerate(zip(webs, OWNERS)):
            assert _signed_post(base, "halo", owner, f"SM{number:032d}").status_code == 200
        assert _signed_post(webs[1], "halo", OWNERS[0], f"SM{0:032d}").status_code == 200  # redelivered

        def replies():
            alive_or_fail()
            return all(len(fake.twilio_messages(owner)) >= 2 for owner in OWNERS)

        wait_for(replies, 60, "the replies at the fake Twilio")
        for owner in OWNERS:
            bodies = [m["Body"] for m in fake.twilio_messages(owner)]
            assert len(bodies) == 2 and "1. Setuju" in bodies[1]  # the consent question, once each

        web_metrics = [_scrape(f"{base}/metrics") for base in webs]
        total = lambda name, **labels: sum(_value(m, name, **labels) for m in web_metrics)  # noqa: E731
        assert total("umkm_inbound_messages_total", channel="whatsapp", outcome="stored") == 2
        assert total("umkm_inbound_messages_total", channel="whatsapp", outcome="duplicate") == 1
        # the web processes only store: the turns ran in the worker, and are counted there
        assert total("umkm_inbound_messages_total", channel="whatsapp", outcome="answered") == 0
        worker = _scrape(f"http://127.0.0.1:{metrics_ports['worker']}/metrics")
        assert _value(worker, "umkm_inbound_messages_total", channel="whatsapp", outcome="answered") == 2
        assert _value(worker, "umkm_turn_seconds_count", channel="whatsapp") == 2
        # the database gauges, read by whichever web process answers
        assert _value(web_metrics[0], "umkm_outbox_messages", kind="reply", status="sent") == 4
        assert _value(web_metrics[1], "umkm_database_up") == 1

        def sender_counted():
            found = _scrape(f"http://127.0.0.1:{metrics_ports['sender']}/metrics")
            return _value(found, "umkm_sends_total", channel="whatsapp", result="accepted") == 4

        wait_for(sender_counted, 10, "the sender's counter")
        scheduler = _scrape(f"http://127.0.0.1:{metrics_ports['scheduler']}/metrics")
        assert _value(scheduler, "umkm_sweep_seconds_count", job="reminder_sweep") >= 1
        assert httpx.get(f"http://127.0.0.1:{metrics_ports['sender']}/metrics", timeout=5).status_code == 403
    finally:
        for _, _, process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for _, _, process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
    outputs = [open(name).read() for _, name, _ in processes]
    assert sum("database migrated: empty" in output for output in outputs) == 1
    for (service, _, process), output in zip(processes, outputs):
        assert process.returncode == 0, f"{service}:\n{output}"
        assert "Traceback" not in output, f"{service}:\n{output}"
        assert "6281234567401" not in output  # no owner number in any log
