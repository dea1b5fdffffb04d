"""While the database is away, webhooks get a fast 503 (Twilio retries or uses its fallback URL,
Telegram redelivers), never a 500 or a dropped connection."""
from __future__ import annotations

from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.services import build_services
from storage.db import Database
from tests.channels.conftest import AUTH_TOKEN, PUBLIC, TG_SECRET, make_settings
from tests.security.service import free_port

DEAD = f"postgresql+psycopg://nobody:nothing@127.0.0.1:{free_port()}/gone?connect_timeout=2"


def test_webhooks_answer_503_while_the_database_is_away(fake, tmp_path):
    settings = make_settings(DEAD, fake.url, tmp_path)
    services = build_services(settings, db=Database(DEAD))
    with TestClient(create_app(services), raise_server_exceptions=False) as client:
        form = {"MessageSid": "SM" + "4" * 32, "From": "whatsapp:+6281234500001", "To": "whatsapp:+14155238886",
                "Body": "halo", "NumMedia": "0"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}/webhooks/twilio", form)
        answer = client.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature})
        assert answer.status_code == 503 and answer.headers["retry-after"]
        status = {"MessageSid": "SM" + "5" * 32, "MessageStatus": "delivered"}
        signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}/webhooks/twilio/status?outbox=3",
                                                                   status)
        assert client.post("/webhooks/twilio/status?outbox=3", data=status,
                           headers={"X-Twilio-Signature": signature}).status_code == 503
        update = {"update_id": 91, "message": {"message_id": 1, "date": 1795400000,
                                               "chat": {"id": 5, "type": "private"}, "text": "halo",
                                               "from": {"id": 5, "is_bot": False, "first_name": "A"}}}
        assert client.post("/webhooks/telegram", json=update,
                           headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}).status_code == 503
        assert client.get("/health").status_code == 503
        assert client.get("/dash/login").status_code == 200  # no database needed for the form
        assert client.get("/dash/owners", follow_redirects=False).status_code in (303, 503)
