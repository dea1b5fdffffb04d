"""/metrics: counters moved by real traffic (signed webhooks through the real twilio client to the
fake provider), database gauges, who may read it, and the standalone server of sender/scheduler."""
from __future__ import annotations

import httpx
from prometheus_client.parser import text_string_to_metric_families

from bot import metrics



def samples(text: str) -> dict:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found: dict, name: str, **labels) -> float:
    return found.get((name, tuple(sorted(labels.items()))), 0.0)


TOKEN = "scrape-token-for-tests"


def scrape(harness) -> dict:
    response = harness.client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200, response.text
    return samples(response.text)


def test_metrics_count_webhooks_turns_sends_and_read_the_queues(harness, clock, monkeypatch):
    monkeypatch.setenv("METRICS_TOKEN", TOKEN)
    before = scrape(harness)
    form = harness.twilio_form("halo", sender="whatsapp:+6281234567301")
    assert harness.twilio_post(form).status_code == 200
    assert harness.twilio_post(form).status_code == 200  # redelivered
    # the turn ran, its replies wait in the outbox
    waiting = scrape(harness)
    assert value(waiting, "umkm_outbox_messages", kind="reply", status="pending") == 2
    assert ("umkm_outbox_oldest_age_seconds", (("kind", "reply"), ("status", "pending"))) in waiting
    assert value(waiting, "umkm_database_up") == 1
    stats = harness.send()
    assert stats.sent == 2 and len(harness.fake.twilio_messages()) == 2
    after = scrape(harness)

    def moved(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert moved("umkm_inbound_messages_total", channel="whatsapp", outcome="stored") == 1
    assert moved("umkm_inbound_messages_total", channel="whatsapp", outcome="duplicate") == 1
    assert moved("umkm_inbound_messages_total", channel="whatsapp", outcome="answered") == 1
    assert moved("umkm_turn_seconds_count", channel="whatsapp") == 1
    assert moved("umkm_sends_total", channel="whatsapp", result="accepted") == 2
    assert value(after, "umkm_outbox_messages", kind="reply", status="sent") == 2
    assert value(after, "umkm_outbox_messages", kind="reply", status="pending") == 0
    assert value(after, "umkm_cases_open", status="open") == 0


def test_rate_limited_sends_and_pauses_are_counted(harness, clock):
    before = samples(metrics.render().decode())
    harness.fake.twilio_errors["whatsapp:+6281234567302"].append((429, 20429, "Too Many Requests"))
    harness.twilio_post(harness.twilio_form("halo", sender="whatsapp:+6281234567302"))
    harness.send()
    after = samples(metrics.render().decode())
    assert value(after, "umkm_sends_total", channel="whatsapp", result="rate_limited") \
        - value(before, "umkm_sends_total", channel="whatsapp", result="rate_limited") == 1
    assert value(after, "umkm_rate_limit_pauses_total", channel="whatsapp") \
        - value(before, "umkm_rate_limit_pauses_total", channel="whatsapp") == 1


def test_metrics_need_the_token_or_a_loopback_client(harness, monkeypatch):
    # the test client ("testclient") is no loopback address
    assert harness.client.get("/metrics").status_code == 403
    monkeypatch.setenv("METRICS_TOKEN", "s3cret-scrape-token")
    assert harness.client.get("/metrics").status_code == 403
    assert harness.client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 403
    ok = harness.client.get("/metrics", headers={"Authorization": "Bearer s3cret-scrape-token"})
    assert ok.status_code == 200 and "umkm_inbound_messages_total" in ok.text
    monkeypatch.delenv("METRICS_TOKEN")
    assert metrics.allowed("127.0.0.1", None) and metrics.allowed("::1", None)
    assert not metrics.allowed("10.0.0.7", None) and not metrics.allowed(None, None)


def test_standalone_server_serves_process_metrics_with_the_token(monkeypatch):
    monkeypatch.setenv("METRICS_PORT", "0")
    monkeypatch.setenv("METRICS_TOKEN", "t0ken")
    server = metrics.serve_standalone("sender")
    try:
        url = f"http://127.0.0.1:{server.server_port}/metrics"
        assert httpx.get(url).status_code == 403
        response = httpx.get(url, headers={"Authorization": "Bearer t0ken"})
        assert response.status_code == 200 and "umkm_sends_total" in response.text
    finally:
        server.shutdown()
        server.server_close()
    monkeypatch.delenv("METRICS_PORT")
    assert metrics.serve_standalone("sender") is None
