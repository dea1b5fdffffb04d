"""Property-based fuzzing of every public endpoint, in-process through the ASGI app: both
webhooks, the status callback, sign-in and the web chat get generated requests (10,000 and
more in all: signed and unsigned, well-formed and garbage, NUL bytes, huge numbers, files,
nested JSON) and never answer 5xx. Every signed owner message is answered (a reply in the
outbox) or cleanly refused (a 4xx), and no inbound message is left failed."""
from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from urllib.parse import urlencode

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.app import create_app
from bot.channels import runtime
from bot.dashboard import auth
from bot.services import build_services
from storage.db import Database
from storage.models import OutboxMessage
from storage.models.channels import ChannelInbox
from tests.channels.conftest import ACCOUNT_SID, AUTH_TOKEN, OUR_NUMBER, PUBLIC, TG_SECRET, make_settings
from tests.channels.fake_providers import FakeProviders

PER_ENDPOINT = 2_100  # x 5 endpoints: over 10,000 requests
BATCH = 30
EXAMPLES = PER_ENDPOINT // BATCH
OWNERS = [f"+62812777{n:05d}" for n in range(12)]
FUZZ = settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=True, phases=[Phase.generate],
                suppress_health_check=list(HealthCheck))

texts = st.text(alphabet=st.characters(codec="utf-8") | st.sampled_from(["\x00", "\n", "%", "+"]), max_size=40)
numbers = st.one_of(st.integers(min_value=-10**30, max_value=10**30).map(str), st.just("9" * 25), texts)
scalars = st.one_of(st.none(), st.booleans(), st.integers(min_value=-10**20, max_value=10**20),
                    st.floats(allow_nan=False, allow_infinity=False), texts)
json_values = st.recursive(scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=20)
TWILIO_KEYS = ["From", "To", "Body", "MessageSid", "SmsMessageSid", "NumMedia", "MediaUrl0", "MediaContentType0",
               "ButtonPayload", "ButtonText", "ProfileName", "AccountSid", "MessageStatus", "ErrorCode", "SmsStatus"]


class World:
    def __init__(self, tmp_path):
        self.fake = FakeProviders().start()
        self.db = Database(f"sqlite:///{tmp_path / 'fuzz.sqlite3'}")
        self.db.migrate()
        self.services = build_services(make_settings(self.db.url, self.fake.url, tmp_path), db=self.db)
        self.app = create_app(self.services)
        self.loop = asyncio.new_event_loop()
        self.client = httpx.AsyncClient(transport=httpx.ASGITransport(app=self.app), base_url="https://bot.example.org")
        self.statuses: Counter = Counter()
        self.by_endpoint: Counter = Counter()
        self.valid_senders: set[str] = set()
        self.sid = 0
        with self.db.session() as session:
            auth.create_user(session, "staf", "kopi tubruk pagi hari", "staff")

    def send(self, endpoint: str, method: str, path: str, **kwargs) -> int:
        response = self.loop.run_until_complete(self.client.request(method, path, **kwargs))
        self.statuses[response.status_code] += 1
        self.by_endpoint[endpoint] += 1
        assert response.status_code < 500, (endpoint, path, kwargs, response.status_code, response.text[:300])
        return response.status_code

    def sign(self, path: str, form: dict) -> str:
        return RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}{path}", form)

    def next_sid(self) -> str:
        self.sid += 1
        return f"SM{self.sid:032d}"

    def sign_in(self) -> str:
        auth.throttle.configure()
        page = self.loop.run_until_complete(self.client.get("/dash/login"))
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        self.loop.run_until_complete(self.client.post("/dash/login", data={
            "username": "staf", "password": "kopi tubruk pagi hari", "csrf_token": token}))
        chat = self.loop.run_until_complete(self.client.get("/chat/"))
        return re.search(r'name="csrf_token" value="([^"]+)"', chat.text).group(1)

    def close(self):
        self.loop.run_until_complete(self.client.aclose())
        self.loop.close()
        self.fake.stop()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    world = World(tmp_path_factory.mktemp("fuzz"))
    yield world
    world.close()


def _body_kwargs(form: dict, shape: str) -> dict:
    if shape == "form":
        return {"data": form}
    if shape == "multipart":
        return {"data": form, "files": {"f": ("a.bin", b"\x00\x01" * 10, "application/octet-stream")}}
    if shape == "json":
        return {"json": form}
    return {"content": json.dumps(form).encode()[::-1], "headers": {"Content-Type": "application/x-www-form-urlencoded"}}


twilio_request = st.tuples(
    st.dictionaries(st.sampled_from(TWILIO_KEYS), numbers, max_size=8),
    st.sampled_from(["valid"] + ["signed"] * 5 + ["unsigned"] * 5 + ["forged"] * 4),
    st.sampled_from(["form", "form", "multipart", "json", "garbage"]),
    st.sampled_from(OWNERS), texts)


@FUZZ
@given(batch=st.lists(twilio_request, min_size=BATCH, max_size=BATCH))
def test_fuzz_twilio_inbound(world, batch):
    for fields, kind, shape, owner, words in batch:
        path = "/webhooks/twilio"
        if kind == "valid":  # a real owner message with fuzzed words: must be answered
            fields = {"From": f"whatsapp:{owner}", "To": OUR_NUMBER, "Body": words or "halo",
                      "MessageSid": world.next_sid(), "AccountSid": ACCOUNT_SID, "NumMedia": "0"}
            shape = "form"
        kwargs = _body_kwargs(fields, shape)
        headers = dict(kwargs.pop("headers", {}))
        if kind in ("valid", "signed"):
            headers["X-Twilio-Signature"] = world.sign(path, fields)
        elif kind == "forged":
            headers["X-Twilio-Signature"] = "Zm9yZ2Vk"
        status = world.send("twilio", "POST", path, headers=headers, **kwargs)
        if kind == "valid":
            assert status == 200
            world.valid_senders.add(owner)


@FUZZ
@given(batch=st.lists(st.tuples(st.dictionaries(st.sampled_from(TWILIO_KEYS), numbers, max_size=6),
                                st.booleans(), st.sampled_from(["form", "multipart", "garbage"]), numbers),
                      min_size=BATCH, max_size=BATCH))
def test_fuzz_twilio_status(world, batch):
    for fields, signed, shape, outbox in batch:
        path = "/webhooks/twilio/status?" + urlencode({"outbox": outbox})
        kwargs = _body_kwargs(fields, shape)
        headers = dict(kwargs.pop("headers", {}))
        if signed:
            headers["X-Twilio-Signature"] = world.sign(path, fields)
        world.send("status", "POST", path, headers=headers, **kwargs)


def _telegram_update(update_id: int, chat_id: int, text: str) -> dict:
    user = {"id": chat_id, "is_bot": False, "first_name": "Sari"}
    return {"update_id": update_id, "message": {"message_id": update_id, "date": 1795400000, "from": user,
                                                "chat": {"id": chat_id, "type": "private"}, "text": text}}


telegram_request = st.tuples(st.sampled_from(["valid"] + ["json", "update-ish", "bytes", "no-secret"] * 3), json_values,
                             texts, st.integers(min_value=1, max_value=2**31), st.binary(max_size=200))


@FUZZ
@given(batch=st.lists(telegram_request, min_size=BATCH, max_size=BATCH))
def test_fuzz_telegram(world, batch):
    headers = {"X-Telegram-Bot-Api-Secret-Token": TG_SECRET}
    for kind, value, words, number, raw in batch:
        if kind == "valid":
            world.sid += 1
            chat = 880000 + number % 5
            status = world.send("telegram", "POST", "/webhooks/telegram", headers=headers,
                                json=_telegram_update(world.sid, chat, words or "halo"))
            assert status == 200
            world.valid_senders.add(str(chat))
        elif kind == "json":
            world.send("telegram", "POST", "/webhooks/telegram", headers=headers, json=value)
        elif kind == "update-ish":
            world.send("telegram", "POST", "/webhooks/telegram", headers=headers,
                       json={"update_id": number, "message": value, "callback_query": value if number % 2 else None})
        elif kind == "bytes":
            world.send("telegram", "POST", "/webhooks/telegram", headers=headers, content=raw)
        else:
            world.send("telegram", "POST", "/webhooks/telegram", json=value)


@FUZZ
@given(batch=st.lists(st.tuples(st.dictionaries(st.sampled_from(["username", "password", "csrf_token", "next"]),
                                                texts, max_size=4),
                                st.sampled_from(["form", "multipart", "json", "garbage"]), texts),
                      min_size=BATCH, max_size=BATCH))
def test_fuzz_sign_in(world, batch):
    for fields, shape, nxt in batch:
        kwargs = _body_kwargs(fields, shape)
        world.send("sign-in", "POST", "/dash/login", params={"next": nxt}, **kwargs)


chat_request = st.tuples(st.sampled_from(["valid"] + ["json", "garbage", "form", "poll"] * 3), json_values, texts,
                         st.binary(max_size=200), numbers)


@FUZZ
@given(batch=st.lists(chat_request, min_size=BATCH, max_size=BATCH))
def test_fuzz_web_chat(world, batch):
    if "chat_csrf" not in world.__dict__:
        world.chat_csrf = world.sign_in()
    headers = {"X-CSRF-Token": world.chat_csrf}
    for kind, value, words, raw, number in batch:
        if kind == "valid":
            assert world.send("chat", "POST", "/chat/send", headers=headers, json={"text": words or "halo"}) in (200, 429)
        elif kind == "json":
            world.send("chat", "POST", "/chat/send", headers=headers, json=value)
        elif kind == "garbage":
            world.send("chat", "POST", "/chat/send", headers={**headers, "Content-Type": "application/json"},
                       content=raw)
        elif kind == "form":
            world.send("chat", "POST", "/chat/send", headers=headers, data={"text": words, "payload": words})
        else:
            world.send("chat", "GET", "/chat/poll", params={"after": number})


def test_fuzz_totals_and_every_owner_answered(world):
    """Runs after the endpoint tests (file order): the counts and the answers."""
    total = sum(world.by_endpoint.values())
    if total < 10_000:
        pytest.skip("run with the whole module to get the totals")
    assert set(world.by_endpoint) == {"twilio", "status", "telegram", "sign-in", "chat"}
    assert all(count >= 2_000 for count in world.by_endpoint.values()), world.by_endpoint
    assert not any(code >= 500 for code in world.statuses)
    # the webhooks only stored the messages: run their turns as `umkm-bot worker` would
    handled = runtime(world.services).inbox.work_until_idle()
    assert handled > 0
    with world.db.session() as session:
        assert session.scalar(select(func.count()).select_from(ChannelInbox)
                              .where(ChannelInbox.status != "done")) == 0
        for owner in world.valid_senders:
            assert session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.address == owner)) > 0, owner
    print(f"fuzz: {total} requests, answers {dict(sorted(world.statuses.items()))}")
