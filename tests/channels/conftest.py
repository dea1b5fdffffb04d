"""Fixtures for channel tests: the running app with both channels on, the real twilio and
python-telegram-bot clients pointed at a local fake provider, and request builders that sign
like Twilio (with the twilio library's own validator) and post real Telegram Update JSON."""
from __future__ import annotations

import itertools
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.testclient import TestClient
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.channels import runtime
from bot.config import Settings
from bot.services import build_services
from tests.channels.fake_providers import FakeProviders

REPO = Path(__file__).resolve().parents[2]
PUBLIC = "https://bot.example.org"
ACCOUNT_SID = "AC" + "a1" * 16
AUTH_TOKEN = "twilio-test-auth-token"
BOT_TOKEN = "123456:TEST-telegram-token"
TG_SECRET = "tg-webhook-secret_42"
OUR_NUMBER = "whatsapp:+14155238886"
TEMPLATE_SID = "HX" + "b2" * 16


@pytest.fixture
def fake():
    providers = FakeProviders().start()
    yield providers
    providers.stop()


def make_settings(db_url: str, fake_url: str, data_dir: Path, **changes) -> Settings:
    settings = Settings(
        database_url=db_url,
        content_dir=REPO / "content",
        data_dir=data_dir,
        public_base_url=PUBLIC,
        twilio_account_sid=ACCOUNT_SID,
        twilio_auth_token=AUTH_TOKEN,
        twilio_whatsapp_from=OUR_NUMBER,
        twilio_api_base=fake_url,
        telegram_bot_token=BOT_TOKEN,
        telegram_webhook_secret=TG_SECRET,
        telegram_api_base=fake_url,
    )
    return replace(settings, **changes)


class Harness:
    """The app under test, with helpers that speak like Twilio and Telegram."""

    def __init__(self, services, client: TestClient, fake: FakeProviders):
        self.services = services
        self.db = services.db
        self.client = client
        self.fake = fake
        self.rt = runtime(services)
        self._ids = itertools.count(1)

    # --- Twilio -------------------------------------------------------------------------------
    def twilio_form(self, text: str = "", sender: str = "whatsapp:+6281234567001", **extra) -> dict:
        form = {
            "SmsMessageSid": "", "NumMedia": "0", "ProfileName": "Bu Sari", "MessageType": "text",
            "Body": text, "To": OUR_NUMBER, "From": sender, "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01",
            "MessageSid": f"SM{next(self._ids):032d}",
        }
        form["SmsMessageSid"] = form["MessageSid"]
        form.update({k: str(v) for k, v in extra.items()})
        return form

    def twilio_post(self, form: dict, path: str = "/webhooks/twilio", signature: str | None = None,
                    signed_url: str | None = None):
        url = signed_url or f"{PUBLIC}{path}"
        headers = {}
        if signature is None:
            signature = RequestValidator(AUTH_TOKEN).compute_signature(url, form)
        if signature:
            headers["X-Twilio-Signature"] = signature
        response = self.client.post(path, data=form, headers=headers)
        self.work()
        return response

    def status_callback(self, outbox_id: int, sid: str, status: str, error_code: str = ""):
        form = {"MessageSid": sid, "MessageStatus": status, "SmsSid": sid, "SmsStatus": status,
                "AccountSid": ACCOUNT_SID, "To": "whatsapp:+6281234567001", "From": OUR_NUMBER}
        if error_code:
            form["ErrorCode"] = error_code
        return self.twilio_post(form, path=f"/webhooks/twilio/status?outbox={outbox_id}")

    # --- Telegram -----------------------------------------------------------------------------
    def telegram_message(self, text: str, chat_id: int = 70001, **message_extra) -> dict:
        update_id = 500000 + next(self._ids)
        user = {"id": chat_id, "is_bot": False, "first_name": "Sari", "language_code": "id"}
        message = {"message_id": next(self._ids), "date": 1795400000, "from": user,
                   "chat": {"id": chat_id, "type": "private", "first_name": "Sari"}}
        if text:
            message["text"] = text
        message.update(message_extra)
        return {"update_id": update_id, "message": message}

    def telegram_callback(self, data: str, chat_id: int = 70001) -> dict:
        update_id = 500000 + next(self._ids)
        user = {"id": chat_id, "is_bot": False, "first_name": "Sari", "language_code": "id"}
        return {"update_id": update_id, "callback_query": {
            "id": f"cb{update_id}", "from": user, "chat_instance": "ci-1", "data": data,
            "message": {"message_id": 9, "date": 1795400000, "chat": {"id": chat_id, "type": "private"},
                        "from": {"id": 123456, "is_bot": True, "first_name": "Asisten UMKM"}, "text": "Pilih"},
        }}

    def telegram_post(self, update: dict, secret: str | None = TG_SECRET):
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        response = self.client.post("/webhooks/telegram", json=update, headers=headers)
        self.work()
        return response

    # --- the inbox worker (a separate process in production: `umkm-bot worker`) ----------------
    def work(self) -> int:
        return self.rt.inbox.work_until_idle()

    # --- sending ------------------------------------------------------------------------------
    def send(self):
        return self.rt.sender.drain_sync()


@pytest.fixture
def make_harness(db, fake, tmp_path, monkeypatch):
    monkeypatch.setenv("SENDER_POLL_SECONDS", "0.02")
    made = []

    def build(**changes) -> Harness:
        settings = make_settings(db.url, fake.url, tmp_path, **changes)
        services = build_services(settings, db=db)
        client = TestClient(create_app(services))
        client.__enter__()
        made.append(client)
        return Harness(services, client, fake)

    yield build
    for client in made:
        client.__exit__(None, None, None)


@pytest.fixture
def harness(make_harness) -> Harness:
    return make_harness()
