"""The real service as a deployment runs it: `umkm-bot run` in a subprocess on a free port, with
WhatsApp and Telegram tokens set and the providers' APIs pointed at the local fake
(tests/channels/fake_providers.py). Used by the security tests and bench/signin_flood.py."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
from twilio.request_validator import RequestValidator

from tests.channels.fake_providers import FakeProviders

BIN = Path(sys.executable).parent / "umkm-bot"
REPO = Path(__file__).resolve().parents[2]
PUBLIC = "https://bot.example.org"
ACCOUNT_SID = "AC" + "5e" * 16
AUTH_TOKEN = "twilio-secret-auth-token-0f9e8d7c"
BOT_TOKEN = "987654321:AAH-secret-telegram-bot-token_xyz"
TG_SECRET = "tg-secret-for-security-tests"
OUR_NUMBER = "whatsapp:+14155238886"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class RunningService:
    def __init__(self, data_dir: Path, database_url: str, verbose: bool = False, extra_env: dict | None = None):
        self.data_dir = data_dir
        self.database_url = database_url
        self.verbose = verbose
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.fake = FakeProviders()
        self.log_path = data_dir / "service.log"
        self.extra_env = extra_env or {}
        self.process: subprocess.Popen | None = None

    def env(self) -> dict:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("TWILIO_", "TELEGRAM_")) and k not in ("DATABASE_URL", "SECRET_KEY")}
        env.update(DATABASE_URL=self.database_url, UMKM_DATA_DIR=str(self.data_dir), PUBLIC_BASE_URL=PUBLIC,
                   TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_AUTH_TOKEN=AUTH_TOKEN, TWILIO_WHATSAPP_FROM=OUR_NUMBER,
                   TWILIO_API_BASE=self.fake.url, TELEGRAM_BOT_TOKEN=BOT_TOKEN,
                   TELEGRAM_WEBHOOK_SECRET=TG_SECRET, TELEGRAM_API_BASE=self.fake.url,
                   SENDER_POLL_SECONDS="0.05", **self.extra_env)
        return env

    def start(self) -> "RunningService":
        self.fake.start()
        # verbose: every log line a real deployment may write, the HTTP access log included
        # (off by default since webhooks became ingest-only: it costs throughput)
        args = [str(BIN)] + (["--verbose"] if self.verbose else []) + \
            ["run", "--port", str(self.port), "--no-scheduler"] + (["--access-log"] if self.verbose else [])
        self._log = open(self.log_path, "wb")
        self.process = subprocess.Popen(args, env=self.env(), stdout=self._log, stderr=subprocess.STDOUT,
                                        cwd=self.data_dir)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"service exited: {self.log_path.read_text()[-3000:]}")
            try:
                if httpx.get(f"{self.url}/health", timeout=2).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError("service did not come up")

    def stop(self) -> str:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if getattr(self, "_log", None):
            self._log.close()
        self.fake.stop()
        return self.log_path.read_text(errors="replace")

    # --- speaking like the providers -------------------------------------------------------------
    def twilio_form(self, text: str, sender: str, sid: str, **extra) -> dict:
        form = {"SmsMessageSid": sid, "NumMedia": "0", "ProfileName": "Ibu", "MessageType": "text", "Body": text,
                "To": OUR_NUMBER, "From": sender, "AccountSid": ACCOUNT_SID, "ApiVersion": "2010-04-01",
                "MessageSid": sid}
        form.update(extra)
        return form

    @staticmethod
    def twilio_headers(path: str, form: dict) -> dict:
        return {"X-Twilio-Signature": RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}{path}", form)}

    @staticmethod
    def telegram_update(update_id: int, chat_id: int, text: str) -> dict:
        user = {"id": chat_id, "is_bot": False, "first_name": "Sari", "language_code": "id"}
        return {"update_id": update_id, "message": {
            "message_id": update_id, "date": 1795400000, "from": user, "text": text,
            "chat": {"id": chat_id, "type": "private", "first_name": "Sari"}}}
