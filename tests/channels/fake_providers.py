"""A local HTTP server standing in for Twilio's REST API and the Telegram Bot API.

The real clients (twilio's `Client` through its HttpClient with TWILIO_API_BASE, and
python-telegram-bot's `Bot` with base_url) talk to it over HTTP; it records every request and
answers like the provider would, including scripted errors per recipient, a rate limit that
answers 429 above a given rate (the benchmark's "channel limited to 80/s"), and a recipient whose
request hangs (to kill a sender mid-send). Also used by bench/channels_sender_rate.py.
"""
from __future__ import annotations

import json
import threading
import time
from collections import defaultdict, deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

TWILIO_PREFIX = "/2010-04-01/Accounts/"


@dataclass
class Captured:
    provider: str  # twilio | telegram
    method: str  # Messages | sendMessage | answerCallbackQuery | media | file | ...
    data: dict
    at: float
    auth: str = ""


@dataclass
class FakeProviders:
    rate_limit: float | None = None  # requests per second before 429 (Twilio messages only)
    captured: list[Captured] = field(default_factory=list)
    # Scripted errors per recipient, each answered once, in order; `*_always` answers every time.
    twilio_errors: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    telegram_errors: dict[str, deque] = field(default_factory=lambda: defaultdict(deque))
    twilio_always: dict[str, tuple] = field(default_factory=dict)
    telegram_always: dict[str, tuple] = field(default_factory=dict)
    hang: dict[str, float] = field(default_factory=dict)  # recipient -> seconds to hold the answer
    files: dict[str, tuple[str, bytes]] = field(default_factory=dict)  # path -> (content type, bytes)
    updates: deque = field(default_factory=deque)  # Telegram updates for getUpdates
    rejected: int = 0  # 429 answers given by the rate limit
    # Twilio Content API (content.twilio.com/v1/ContentAndApprovals): templates with WhatsApp approval.
    content_templates: list = field(default_factory=list)

    def __post_init__(self):
        self.lock = threading.Lock()
        self.counter = 0
        self.window: deque = deque()
        self.accepted_at: list[float] = []  # when the rate limit let a message through
        ThreadingHTTPServer.request_queue_size = 256  # many senders' connections at once
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)

    # --- lifecycle ------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host}:{port}"

    def start(self) -> "FakeProviders":
        self.thread.start()
        return self

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    # --- what tests read --------------------------------------------------------------------------
    def calls(self, provider: str | None = None, method: str | None = None) -> list[Captured]:
        with self.lock:
            return [c for c in self.captured
                    if (provider is None or c.provider == provider) and (method is None or c.method == method)]

    def twilio_messages(self, to: str | None = None) -> list[dict]:
        return [c.data for c in self.calls("twilio", "Messages") if to is None or c.data.get("To") == to]

    def telegram_messages(self, chat_id: str | None = None) -> list[dict]:
        return [c.data for c in self.calls("telegram", "sendMessage")
                if chat_id is None or str(c.data.get("chat_id")) == str(chat_id)]

    def serve_twilio_media(self, account_sid: str, data: bytes, content_type: str = "image/jpeg") -> str:
        """Serve a file the way Twilio serves a message's media (behind the account's credentials);
        returns the MediaUrl a webhook would carry."""
        with self.lock:
            self.counter += 1
            n = self.counter
        path = f"{TWILIO_PREFIX}{account_sid}/Messages/MM{n:032x}/Media/ME{n:032x}"
        self.files[path] = (content_type, data)
        return f"{self.url}{path}"

    def next_sid(self, prefix: str = "SM") -> str:
        with self.lock:
            self.counter += 1
            return f"{prefix}{self.counter:032x}"

    # --- the server -----------------------------------------------------------------------------
    def _handler_class(self):
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go in two writes: no 40 ms delayed-ACK stall

            def log_message(self, *args):  # keep test output quiet
                pass

            def _body(self) -> dict:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                kind = self.headers.get("Content-Type", "")
                if "json" in kind:
                    return json.loads(raw or b"{}")
                if "multipart/form-data" in kind:
                    return _parse_multipart(raw, kind)
                return {k: v[0] if len(v) == 1 else v for k, v in parse_qs(raw.decode()).items()}

            def _send(self, status: int, payload, content_type: str = "application/json",
                      headers: dict | None = None):
                data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                for name, value in (headers or {}).items():
                    self.send_header(name, str(value))
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                path = unquote(urlsplit(self.path).path)
                if path == "/_fake/stats":
                    calls = fake.calls("twilio", "Messages")
                    with fake.lock:
                        accepted = list(fake.accepted_at)
                    return self._send(200, {"messages": len(calls), "rejected": fake.rejected,
                                            "accepted": len(accepted),
                                            "first_accepted": accepted[0] if accepted else None,
                                            "last_accepted": accepted[-1] if accepted else None})
                if path.startswith("/bot"):
                    return self._telegram(path, {})
                if path == "/v1/ContentAndApprovals":
                    return self._content_and_approvals()
                if path.startswith(TWILIO_PREFIX) and path.endswith("/Messages.json"):  # the message list
                    to = (parse_qs(urlsplit(self.path).query).get("To") or [""])[0]
                    rows = [{"sid": m["_sid"], "to": m.get("To"), "from": m.get("From"), "body": m.get("Body"),
                             "status": "sent", "account_sid": "AC" + "0" * 32, "api_version": "2010-04-01"}
                            for m in fake.twilio_messages(to or None)]
                    return self._send(200, {"messages": rows[::-1], "next_page_uri": None, "page": 0,
                                            "page_size": 50, "uri": path, "first_page_uri": path})
                if path in fake.files:
                    content_type, data = fake.files[path]
                    fake._record("twilio" if path.startswith(TWILIO_PREFIX) else "telegram",
                                 "media" if path.startswith(TWILIO_PREFIX) else "file", {"path": path},
                                 self.headers.get("Authorization", ""))
                    return self._send(200, data, content_type)
                return self._send(404, {"message": "not found"})

            def do_POST(self):
                path = unquote(urlsplit(self.path).path)
                if path in fake.files:
                    return self.do_GET()
                body = self._body()
                if path.startswith(TWILIO_PREFIX) and path.endswith("/Messages.json"):
                    return self._twilio_message(body)
                if path.startswith("/bot"):
                    return self._telegram(path, body)
                return self._send(404, {"message": "not found"})

            def _content_and_approvals(self):
                """One page of the Content API's list, paged like Twilio (PageSize, Page, next_page_url)."""
                query = parse_qs(urlsplit(self.path).query)
                size = int((query.get("PageSize") or ["50"])[0])
                page = int((query.get("Page") or ["0"])[0])
                fake._record("twilio", "ContentAndApprovals", {"page": page}, self.headers.get("Authorization", ""))
                with fake.lock:
                    items = list(fake.content_templates)
                chunk = items[page * size:(page + 1) * size]
                more = (page + 1) * size < len(items)
                base = f"{fake.url}/v1/ContentAndApprovals?PageSize={size}"
                return self._send(200, {"contents": chunk, "meta": {
                    "page": page, "page_size": size, "first_page_url": f"{base}&Page=0",
                    "previous_page_url": f"{base}&Page={page - 1}" if page else None,
                    "url": f"{base}&Page={page}", "next_page_url": f"{base}&Page={page + 1}" if more else None,
                    "key": "contents"}})

            def _twilio_message(self, body: dict):
                to = body.get("To", "")
                sid = fake.next_sid()
                fake._record("twilio", "Messages", {**body, "_sid": sid}, self.headers.get("Authorization", ""))
                if to in fake.hang:
                    time.sleep(fake.hang[to])
                if fake.rate_limit and not fake._admit():
                    return self._send(429, {"code": 20429, "message": "Too Many Requests", "status": 429})
                error = fake._scripted(fake.twilio_errors, fake.twilio_always, to)
                if error:
                    # (status, code, message) or (status, code, message, headers), e.g. a 429 with
                    # {"Retry-After": "2"}
                    status, code, message, *extra = error
                    return self._send(status, {"code": code, "message": message, "status": status,
                                               "more_info": f"https://www.twilio.com/docs/errors/{code}"},
                                      headers=extra[0] if extra else None)
                return self._send(201, {"sid": sid, "status": "queued", "to": to, "from": body.get("From"),
                                        "body": body.get("Body"), "num_segments": "1",
                                        "account_sid": "AC" + "0" * 32, "api_version": "2010-04-01"})

            def _telegram(self, path: str, body: dict):
                parts = path.split("/")
                method = parts[-1]
                fake._record("telegram", method, body)
                if method == "sendMessage":
                    chat_id = str(body.get("chat_id"))
                    error = fake._scripted(fake.telegram_errors, fake.telegram_always, chat_id)
                    if error:
                        status, description, parameters = error
                        answer = {"ok": False, "error_code": status, "description": description}
                        if parameters:
                            answer["parameters"] = parameters
                        return self._send(status, answer)
                    with fake.lock:
                        fake.counter += 1
                        message_id = fake.counter
                    return self._send(200, {"ok": True, "result": {
                        "message_id": message_id, "date": int(time.time()),
                        "chat": {"id": int(chat_id), "type": "private"}, "text": body.get("text", "")}})
                if method == "getMe":
                    return self._send(200, {"ok": True, "result": {"id": 123456, "is_bot": True,
                                                                   "first_name": "Asisten UMKM",
                                                                   "username": "asisten_umkm_bot"}})
                if method == "getFile":
                    file_id = body.get("file_id", "")
                    return self._send(200, {"ok": True, "result": {"file_id": file_id, "file_unique_id": "u" + file_id,
                                                                   "file_size": 10, "file_path": f"photos/{file_id}.jpg"}})
                if method == "getUpdates":
                    with fake.lock:
                        updates = list(fake.updates)
                        fake.updates.clear()
                    if not updates:
                        time.sleep(0.2)
                    return self._send(200, {"ok": True, "result": updates})
                return self._send(200, {"ok": True, "result": True})

        return Handler

    def add_content_template(self, friendly_name: str, body: str, status: str = "approved",
                             language: str = "id", rejection_reason: str = "", sid: str | None = None,
                             category: str = "UTILITY") -> str:
        """A Content Template as the Content API lists it, with its WhatsApp approval; returns its sid."""
        import re

        sid = sid or "HX" + f"{len(self.content_templates) + 1:032x}"
        placeholders = sorted(set(re.findall(r"\{\{\s*(\d+)\s*\}\}", body)), key=int)
        with self.lock:
            self.content_templates.append({
                "sid": sid, "account_sid": "AC" + "0" * 32, "friendly_name": friendly_name, "language": language,
                "variables": {number: f"contoh {number}" for number in placeholders},
                "types": {"twilio/text": {"body": body}},
                "date_created": "2026-11-20T08:00:00Z", "date_updated": "2026-11-21T08:00:00Z",
                "url": f"https://content.twilio.com/v1/Content/{sid}",
                "approval_requests": {"whatsapp": {
                    "name": friendly_name, "category": category, "content_type": "twilio/text", "status": status,
                    "rejection_reason": rejection_reason, "allow_category_change": True}},
            })
        return sid

    def _scripted(self, once: dict, always: dict, recipient: str):
        with self.lock:
            queue = once.get(recipient)
            if queue:
                return queue.popleft()
            return always.get(recipient)

    def _record(self, provider: str, method: str, data: dict, auth: str = "") -> None:
        with self.lock:
            self.captured.append(Captured(provider, method, data, time.monotonic(), auth))

    def _admit(self) -> bool:
        """A sliding one-second window: at most `rate_limit` accepted messages per second."""
        now = time.monotonic()
        with self.lock:
            while self.window and now - self.window[0] >= 1.0:
                self.window.popleft()
            if len(self.window) >= self.rate_limit:
                self.rejected += 1
                return False
            self.window.append(now)
            self.accepted_at.append(now)
            return True


def _parse_multipart(raw: bytes, content_type: str) -> dict:
    boundary = content_type.split("boundary=", 1)[1].strip('"').encode()
    fields = {}
    for part in raw.split(b"--" + boundary):
        if b"\r\n\r\n" not in part:
            continue
        head, value = part.split(b"\r\n\r\n", 1)
        name = head.split(b'name="', 1)[1].split(b'"', 1)[0].decode() if b'name="' in head else ""
        if name:
            fields[name] = value.rstrip(b"\r\n").decode(errors="replace")
    return fields


def main() -> None:
    """Run the fake on its own (benchmarks keep it out of the measured process):
    python -m tests.channels.fake_providers [--rate-limit 80]; prints its URL, then serves; the
    parent reads counts with GET /_fake/stats."""
    import argparse
    import sys

    parser = argparse.ArgumentParser()
    parser.add_argument("--rate-limit", type=float, default=None)
    args = parser.parse_args()
    fake = FakeProviders(rate_limit=args.rate_limit)
    fake.start()
    print(fake.url, flush=True)
    try:
        sys.stdin.read()  # serve until the parent closes our stdin
    finally:
        fake.stop()


if __name__ == "__main__":
    main()
