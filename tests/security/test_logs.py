"""The real service at --verbose, with both channels' tokens set, through conversations,
provider errors, malformed requests and dashboard searches: its log holds no token and no
owner number, and its timestamps are intact."""
from __future__ import annotations

import logging
import re
import time

import httpx
import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.exc import IntegrityError

from bot import logsafety
from storage.db import Database
from tests.security.service import AUTH_TOKEN, BOT_TOKEN, RunningService

OWNERS = ["+6281234500071", "+6285712345672", "+6287812345673", "+6281398765474"]
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2},\d{3} ", re.MULTILINE)


def _digits(number: str) -> list[str]:
    """The ways a number can appear in a line: with and without +, the national 0 form, the tail."""
    bare = number.lstrip("+")
    return [number, bare, "0" + bare[2:], bare[-9:]]


def _wait_for(predicate, seconds: float = 20) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _sign_in(service: RunningService, client: httpx.Client) -> str:
    page = client.get("/dash/login")
    cookie = page.headers["set-cookie"].split(";")[0]
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    answer = client.post("/dash/login", data={"username": "admin", "password": "kopi tubruk pagi hari",
                                              "csrf_token": token}, headers={"Cookie": cookie})
    assert answer.status_code == 303, answer.text
    return answer.headers["set-cookie"].split(";")[0]


def test_the_verbose_log_of_a_real_run_has_no_token_and_no_owner_number(tmp_path):
    from bot.dashboard import auth

    url = f"sqlite:///{tmp_path / 'umkm.sqlite3'}"
    db = Database(url)
    db.migrate()
    with db.session() as session:
        auth.create_user(session, "admin", "kopi tubruk pagi hari", "admin")
    service = RunningService(tmp_path, url, verbose=True)
    # one owner's replies fail at Twilio with an error text that carries the number
    service.fake.twilio_always[f"whatsapp:{OWNERS[3]}"] = (
        400, 21211, f"The 'To' number whatsapp:{OWNERS[3]} is not a valid phone number.")
    service.start()
    try:
        with httpx.Client(base_url=service.url, timeout=30) as client:
            for n, number in enumerate(OWNERS):
                for step, words in enumerate(["halo", "1", "Bu Sari"]):
                    form = service.twilio_form(words, f"whatsapp:{number}", f"SM{n:016d}{step:016d}")
                    answer = client.post("/webhooks/twilio", data=form,
                                         headers=service.twilio_headers("/webhooks/twilio", form))
                    assert answer.status_code == 200
            # malformed and forged requests are logged with their reason
            bad = service.twilio_form("halo", f"whatsapp:{OWNERS[0]}" + "9" * 200, "SM" + "7" * 32)
            assert client.post("/webhooks/twilio", data=bad,
                               headers=service.twilio_headers("/webhooks/twilio", bad)).status_code == 400
            forged = service.twilio_form("halo", f"whatsapp:{OWNERS[1]}", "SM" + "8" * 32)
            assert client.post("/webhooks/twilio", data=forged,
                               headers={"X-Twilio-Signature": "Zm9yZ2Vk"}).status_code == 403
            # Telegram: the bot token is in every Bot API URL the sender calls
            update = service.telegram_update(900001, 4242, "halo")
            assert client.post("/webhooks/telegram", json=update,
                               headers={"X-Telegram-Bot-Api-Secret-Token": "tg-secret-for-security-tests"}
                               ).status_code == 200
            # dashboard searches for owners by number
            cookie = _sign_in(service, client)
            for number in OWNERS[:2]:
                assert client.get("/dash/owners", params={"q": number}, headers={"Cookie": cookie}).status_code == 200
                assert client.get("/dash/owners", params={"q": number.lstrip("+")},
                                  headers={"Cookie": cookie}).status_code == 200
        _wait_for(lambda: len(service.fake.telegram_messages()) >= 1
                  and len(service.fake.twilio_messages()) >= 3 * len(OWNERS))
        time.sleep(1.0)  # let the failed sends' log lines land
    finally:
        log = service.stop()
    assert "sendMessage" in log or "api.telegram" in log or "[secret]" in log  # the URL lines were there
    assert BOT_TOKEN not in log and BOT_TOKEN.split(":")[1] not in log
    assert AUTH_TOKEN not in log
    for number in OWNERS:
        for form in _digits(number):
            assert form not in log, (form, [line for line in log.splitlines() if form in line][:3])
    assert "PermanentError -> failed" in log  # the provider errors were met and logged
    assert "GET /dash/owners?q=[redacted]" in log
    stamped = TIMESTAMP.findall(log)
    assert len(stamped) > 20
    assert "Logging error" not in log
    assert "[phone]:" not in log  # no time of day was taken for a number


def test_a_traceback_with_sqlalchemy_parameters_is_redacted_at_the_handler(tmp_path):
    engine = create_engine(f"sqlite:///{tmp_path / 't.sqlite3'}")
    with engine.begin() as conn:
        conn.execute(text("CREATE TABLE t (address TEXT UNIQUE)"))
        conn.execute(text("INSERT INTO t VALUES (:a)"), {"a": "+6281234500071"})
    stream_path = tmp_path / "log.txt"
    handler = logging.FileHandler(stream_path)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger = logging.getLogger("tests.security.traceback")
    logger.addHandler(handler)
    original = logging.Handler.format
    try:
        logsafety.install()
        with pytest.raises(IntegrityError):
            try:
                with engine.begin() as conn:
                    conn.execute(text("INSERT INTO t VALUES (:a)"), {"a": "+6281234500071"})
            except IntegrityError:
                logger.exception("insert failed at 12:54:14 for owner 7")
                raise
    finally:
        logging.Handler.format = original
        logger.removeHandler(handler)
        handler.close()
    written = stream_path.read_text()
    assert "[parameters: ('[phone]',)]" in written
    assert "81234500071" not in written and "12:54:14" in written
