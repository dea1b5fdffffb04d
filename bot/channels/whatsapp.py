"""WhatsApp through Twilio.

Inbound: Twilio posts a form to /webhooks/twilio, signed with X-Twilio-Signature over the URL we
published (PUBLIC_BASE_URL + path) and the form fields. `From` is "whatsapp:+62..." or, for an
owner who uses a WhatsApp username, "whatsapp:<business-scoped id>" such as "whatsapp:ID.1234...";
the address we store is what follows "whatsapp:", kept exactly, and replies go back to it.

Outbound: the real twilio `Client`. Free text (options numbered) only within 24 hours of the
owner's last message; outside it the approved template of the message's kind (see
bot/channels/templates.py), or the message is recorded unsendable with the reason.
Long texts go out in parts of at most 1,600 characters (Twilio's limit for one message).

Delivery callbacks: each message asks Twilio to post its status to
/webhooks/twilio/status?outbox=<id>, so a message Twilio accepted is known as sent even when the
sender died before recording the answer (see bot/sender.py on the guarantee).
"""
from __future__ import annotations

import asyncio
import json
import logging
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any
from urllib.parse import urlsplit

import httpx
import requests
from requests.adapters import HTTPAdapter
from starlette.datastructures import FormData
from starlette.requests import Request
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.request_validator import RequestValidator, get_signature_algorithm
from twilio.rest import Client

from bot import names
from bot.channels import evidence
from bot.channels.base import (
    Channel,
    Incoming,
    OutboxItem,
    Outgoing,
    PermanentError,
    RecipientUnreachable,
    RejectedRequest,
    SendResult,
    TransientError,
    Unsendable,
    WindowClosed,
    render_numbered,
    split_text,
)
from bot.channels.config import ChannelSettings
from bot.channels.templates import TemplateBook
from bot.clock import as_utc
from bot.config import Settings
from storage.models import OutboxMessage, Owner

log = logging.getLogger(__name__)

PREFIX = "whatsapp:"
WINDOW = timedelta(hours=24)
# Do not start free text in the window's last minutes: it may close while the message is queued.
WINDOW_MARGIN = timedelta(minutes=5)
MAX_BODY = 1600

# Twilio error codes (https://www.twilio.com/docs/api/errors)
OUTSIDE_WINDOW = 63016
BLOCKED_CODES = {21610}  # the owner unsubscribed or blocked us
RATE_LIMIT_CODES = {20429, 63018, 14107, 30022}
UNREACHABLE_CODES = {63003, 63024}  # no WhatsApp account at this address / invalid recipient

STATUS_MAP = {
    "accepted": "sent", "scheduled": "sent", "queued": "sent", "sending": "sent", "sent": "sent",
    "delivered": "delivered", "read": "read",
    "undelivered": "failed", "failed": "failed", "canceled": "failed",
}


def parse_address(value: str) -> str | None:
    """"whatsapp:+6281..." -> "+6281...", "whatsapp:ID.123abc" -> "ID.123abc"; None if not WhatsApp."""
    value = (value or "").strip()
    if not value.lower().startswith(PREFIX):
        return None
    address = value[len(PREFIX):].strip()
    return address or None


def wire_address(address: str) -> str:
    return f"{PREFIX}{address}"


# --- inbound validation: what Twilio can send, and nothing else -------------------------------------
MAX_FORM_FIELDS = 100  # a message with 10 media has about 40
MAX_ADDRESS = 160  # From / To: "whatsapp:" and an E.164 number or a business-scoped id
MAX_SID = 128  # MessageSid and friends are 34 characters


async def read_form(request: Request) -> FormData:
    """Twilio posts urlencoded fields only: a file part, too many fields, or a broken multipart
    body is malformed (400), never a crash further on."""
    from starlette.exceptions import HTTPException
    from starlette.formparsers import MultiPartException

    from bot.edge import Malformed

    try:
        form = await request.form(max_files=0, max_fields=MAX_FORM_FIELDS)
    except (MultiPartException, HTTPException, ValueError, UnicodeDecodeError) as exc:
        raise Malformed(f"form not readable: {getattr(exc, 'detail', None) or exc}") from exc
    if any(not isinstance(value, str) for _key, value in form.multi_items()):
        raise Malformed("form has a file part")
    return form


def inbound_form(form: FormData) -> dict[str, str]:
    """The signed form as plain strings, after the signature check: over-long addresses or
    message ids refused (`Malformed`), NUL characters removed (PostgreSQL refuses them in text)."""
    from bot.edge import Malformed

    fields = {key.replace("\x00", ""): value.replace("\x00", "") for key, value in form.items()}
    for name in ("From", "To"):
        if len(fields.get(name, "")) > MAX_ADDRESS:
            raise Malformed(f"{name} is too long")
    for name in ("MessageSid", "SmsMessageSid", "SmsSid", "AccountSid", "MessagingServiceSid"):
        if len(fields.get(name, "")) > MAX_SID:
            raise Malformed(f"{name} is too long")
    return fields


class RebasedHttpClient(TwilioHttpClient):
    """The twilio library's own HTTP client, sending every request to another base URL.

    Used when TWILIO_API_BASE is set: local fakes in tests and benchmarks, or a proxy."""

    def __init__(self, base_url: str = "", pool_size: int = 32, timeout: float | None = None):
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        if self.session is not None:
            adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size)
            self.session.mount("https://", adapter)
            self.session.mount("http://", adapter)

    def request(self, method, url, *args, **kwargs):
        if self.base_url:
            parts = urlsplit(url)
            if parts.hostname and parts.hostname.endswith("twilio.com"):
                url = self.base_url + parts.path + (f"?{parts.query}" if parts.query else "")
        response = super().request(method, url, *args, **kwargs)
        # TwilioRestException keeps no headers: remember the wait Twilio asked for on this thread
        # (each send runs in its own thread, and the exception is raised right after this answer).
        _last_answer.retry_after = retry_after_header(response.headers) if response.status_code == 429 else None
        return response


_last_answer = threading.local()


def retry_after_header(headers) -> float | None:
    """Seconds from a Retry-After header (a number of seconds or an HTTP date), None when absent."""
    value = (headers or {}).get("Retry-After") if hasattr(headers, "get") else None
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return max(0.0, (moment - datetime.now(timezone.utc)).total_seconds())


@dataclass(frozen=True)
class StatusUpdate:
    outbox_id: int | None
    message_sid: str
    status: str  # our status: sent | delivered | read | failed
    provider_status: str
    error_code: str | None


class WhatsAppChannel(Channel):
    name = "whatsapp"
    max_text = MAX_BODY

    def __init__(self, settings: Settings, channel_settings: ChannelSettings, templates: TemplateBook):
        self.settings = settings
        self.cs = channel_settings
        self.templates = templates
        self.rate = settings.whatsapp_rate
        self.max_in_flight = channel_settings.sender_max_in_flight
        self._client: Client | None = None
        self._client_lock = threading.Lock()
        self.validator = RequestValidator(settings.twilio_auth_token)
        self.shared_key_validator = (
            RequestValidator(channel_settings.twilio_webhook_shared_key)
            if channel_settings.twilio_webhook_shared_key else None
        )

    # --- verification -------------------------------------------------------------------------
    def public_url(self, request: Request) -> str:
        """The URL Twilio signed: the one we published, not the one a proxy handed us."""
        base = self.settings.public_base_url or f"{request.url.scheme}://{request.url.netloc}"
        query = request.url.query
        return f"{base}{request.url.path}" + (f"?{query}" if query else "")

    def verify(self, request: Request, form: FormData) -> None:
        signature = request.headers.get("X-Twilio-Signature", "")
        if not signature:
            raise RejectedRequest("no X-Twilio-Signature header")
        settings_header = request.headers.get("X-Twilio-Webhooks-Signature-Settings", "")
        validator = self.shared_key_validator if settings_header and self.shared_key_validator else self.validator
        algorithm = get_signature_algorithm(settings_header)
        if not validator.validate(self.public_url(request), form, signature, algorithm):
            raise RejectedRequest("X-Twilio-Signature does not match")

    # --- inbound ------------------------------------------------------------------------------
    async def read_form(self, request: Request) -> FormData:
        """The signed form, read only when a signature is there to check (see `inbound_form`)."""
        if not request.headers.get("X-Twilio-Signature", ""):
            raise RejectedRequest("no X-Twilio-Signature header")
        return await read_form(request)

    async def parse_request(self, request: Request) -> list[Incoming]:
        form = await self.read_form(request)
        self.verify(request, form)
        incoming = self.parse_form(inbound_form(form))
        return [incoming] if incoming is not None else []

    def parse_form(self, form) -> Incoming | None:
        address = parse_address(form.get("From", ""))
        sid = str(form.get("MessageSid") or form.get("SmsMessageSid") or "")
        if address is None or not sid:
            log.info("twilio webhook without a WhatsApp sender or message id ignored (sid=%s)", sid or "-")
            return None
        media = []
        try:
            count = int(form.get("NumMedia") or 0)
        except ValueError:
            count = 0
        for index in range(min(count, 10)):
            url = str(form.get(f"MediaUrl{index}") or "")
            content_type = str(form.get(f"MediaContentType{index}") or "")
            if url:
                media.append({"kind": evidence.media_kind(content_type), "url": url,
                              "content_type": content_type, "provider_id": url.rstrip("/").rsplit("/", 1)[-1]})
        payload = str(form.get("ButtonPayload") or "")
        text = str(form.get("Body") or "")
        if payload and not text:
            text = str(form.get("ButtonText") or payload)
        return Incoming(kind="message", channel=self.name, address=address, message_id=sid, data={
            "text": text,
            "payload": payload,
            "media": media,
            "profile_name": str(form.get("ProfileName") or ""),
        })

    async def before_handle(self, data: dict[str, Any]) -> dict[str, Any]:
        media = data.get("media") or []
        if not any(m.get("kind") in evidence.KEPT_KINDS for m in media):
            return data
        kept = []
        async with httpx.AsyncClient(timeout=self.cs.http_timeout, follow_redirects=True) as http:
            for index, item in enumerate(media):
                item = dict(item)
                if item.get("kind") in evidence.KEPT_KINDS and self._may_fetch(item.get("url", "")):
                    try:
                        response = await http.get(item["url"], auth=(self.settings.twilio_account_sid,
                                                                     self.settings.twilio_auth_token))
                        response.raise_for_status()
                        item["url"] = evidence.save(self.cs.evidence_dir, self.name, data["message_id"], index,
                                                    item.get("content_type", ""), response.content)
                    except (httpx.HTTPError, ValueError, OSError) as exc:
                        log.warning("whatsapp evidence not kept message=%s: %s", data["message_id"], exc)
                kept.append(item)
        return {**data, "media": kept}

    def _may_fetch(self, url: str) -> bool:
        """Media links come in a signed request, but only Twilio's hosts get our credentials."""
        host = urlsplit(url).hostname or ""
        if host == "twilio.com" or host.endswith(".twilio.com"):
            return True
        base = self.settings.twilio_api_base
        return bool(base) and host == (urlsplit(base).hostname or "")

    def parse_status(self, form, outbox_param: str | None) -> StatusUpdate | None:
        provider_status = str(form.get("MessageStatus") or form.get("SmsStatus") or "").lower()
        status = STATUS_MAP.get(provider_status)
        sid = str(form.get("MessageSid") or form.get("SmsSid") or "")
        if status is None or not sid:
            return None
        try:
            outbox_id = int(outbox_param) if outbox_param else None
        except ValueError:
            outbox_id = None
        code = str(form.get("ErrorCode") or "").strip() or None
        return StatusUpdate(outbox_id, sid, status, provider_status, code)

    # --- outbound -----------------------------------------------------------------------------
    def window_open(self, row: OutboxMessage, owner: Owner | None, now: datetime,
                    window_closed_at: datetime | None) -> bool:
        last = owner.last_inbound_at if owner is not None else None
        if last is None and owner is None and row.kind == "reply":
            # The owner's data was just erased; the farewell answers their own message.
            last = row.created_at
        if last is None:
            return False
        last = as_utc(last)
        if window_closed_at is not None and as_utc(window_closed_at) >= last:
            return False  # WhatsApp told us (63016) the window is closed since that message
        return now < last + WINDOW - WINDOW_MARGIN

    def prepare(self, row: OutboxMessage, owner: Owner | None, now: datetime,
                window_closed_at: datetime | None = None) -> Outgoing:
        options = tuple(row.options or ())
        text = render_numbered(row.text, options)
        context = {"text": text, "body": row.text, "vars": dict(row.template_vars or {}), "kind": row.kind,
                   "name": names.called(owner.name) if owner is not None else ""}
        try:
            if self.window_open(row, owner, now, window_closed_at):
                quick = self.templates.quick_reply(options)
                if quick is not None:
                    return Outgoing(form="quick_reply", text=text, options=options, content_sid=quick.content_sid,
                                    variables=quick.render(context), name=quick.name)
                return Outgoing(form="text", text=text, options=options)
            template = self.templates.for_kind(row.kind)
            if template is None:
                last = owner.last_inbound_at if owner is not None else None
                since = f"last message from the owner {as_utc(last).isoformat()}" if last else "the owner never wrote"
                raise Unsendable(f"outside the WhatsApp 24-hour window ({since}) and no approved template "
                                 f"is configured for kind {row.kind!r} (content/channels/whatsapp_templates.yaml "
                                 f"or WHATSAPP_TEMPLATE_{row.kind.upper()})")
            return Outgoing(form="template", text=text, options=options, content_sid=template.content_sid,
                            variables=template.render(context), name=row.kind)
        except Unsendable:
            raise
        except Exception as exc:  # a template variable that does not render is a content error
            raise Unsendable(f"WhatsApp template for kind {row.kind!r} does not render: {exc}") from exc

    def status_callback_url(self, outbox_id: int) -> str | None:
        if not (self.cs.twilio_status_callbacks and self.settings.public_base_url):
            return None
        return f"{self.settings.public_base_url}/webhooks/twilio/status?outbox={outbox_id}"

    @property
    def client(self) -> Client:
        with self._client_lock:
            if self._client is None:
                http = RebasedHttpClient(self.settings.twilio_api_base, pool_size=max(8, self.max_in_flight),
                                         timeout=self.cs.http_timeout)
                self._client = Client(self.settings.twilio_account_sid, self.settings.twilio_auth_token,
                                      http_client=http)
            return self._client

    async def send(self, item: OutboxItem) -> SendResult:
        return await asyncio.to_thread(self.send_sync, item)

    def send_sync(self, item: OutboxItem) -> SendResult:
        out = item.outgoing
        base: dict[str, Any] = {"to": wire_address(item.address)}
        if self.cs.twilio_messaging_service_sid:
            base["messaging_service_sid"] = self.cs.twilio_messaging_service_sid
        else:
            sender = self.settings.twilio_whatsapp_from
            base["from_"] = sender if sender.startswith(PREFIX) else wire_address(sender)
        callback = self.status_callback_url(item.id)
        if callback:
            base["status_callback"] = callback
        if out.form in ("template", "quick_reply"):
            calls = [{**base, "content_sid": out.content_sid, "content_variables": json.dumps(out.variables)}]
        else:
            calls = [{**base, "body": part} for part in split_text(out.text, MAX_BODY)]
        sids = []
        for call in calls:
            sids.append(self._create(call))
        return SendResult(tuple(sids))

    def find_sent(self, address: str, text: str, since: datetime) -> str | None:
        """The sid of a message Twilio already has for this recipient since `since` whose body
        starts like `text` (a send in doubt that did reach Twilio), or None. Raises on errors."""
        start = (text or "").strip()[:60]
        if not start:
            return None  # a template send has no body of ours to compare
        for message in self.client.messages.list(to=wire_address(address), date_sent_after=since, limit=50):
            if (message.body or "").strip().startswith(start):
                return message.sid
        return None

    def _create(self, call: dict[str, Any]) -> str:
        _last_answer.retry_after = None
        try:
            return self.client.messages.create(**call).sid
        except TwilioRestException as exc:
            error = self._error(exc)
            if isinstance(error, TransientError) and error.rate_limited:
                error.retry_after = getattr(_last_answer, "retry_after", None)  # Twilio's own wait wins
            raise error from exc
        except requests.exceptions.ConnectTimeout as exc:
            raise TransientError(f"twilio connect timeout: {exc}") from exc
        except requests.exceptions.RequestException as exc:
            # The request may have reached Twilio (read timeout, connection reset): in doubt.
            raise TransientError(f"twilio request error: {type(exc).__name__}", in_doubt=True) from exc

    @staticmethod
    def _error(exc: TwilioRestException):
        code = exc.code
        text = f"twilio {exc.status} {code or ''}: {exc.msg}".strip()
        code_s = str(code) if code else None
        if code == OUTSIDE_WINDOW:
            return WindowClosed(text, code_s)
        if code in BLOCKED_CODES:
            return RecipientUnreachable(text, code_s)
        if code in RATE_LIMIT_CODES or exc.status == 429:
            return TransientError(text, code_s, rate_limited=True)
        if exc.status >= 500 or exc.status in (401, 403, 408):
            # 401/403: credentials being fixed; 5xx: Twilio trouble. Both clear up by themselves or by staff.
            return TransientError(text, code_s)
        if code in UNREACHABLE_CODES:
            return PermanentError(text, code_s)
        return PermanentError(text, code_s)
