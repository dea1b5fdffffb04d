"""What a channel is: verify and parse a provider's request, render a reply, send one outbox message.

A channel never decides what to say (flows do) and never decides when to send (the sender does).
It only knows its provider: how a request is signed, how a payload reads, which form a message
may take (free text, an approved template, buttons) and what the provider's errors mean.

Errors a channel raises while sending tell the sender what to do next:

- `TransientError`: try again later (network trouble, 5xx, the provider's rate limit). `retry_after`
  is the provider's own wait; `rate_limited` pauses the whole channel; `in_doubt` means the provider
  may have accepted the message (a read timeout), so the retry waits for a delivery callback first.
- `RecipientUnreachable`: the owner blocked us or unsubscribed; the owner is marked unreachable.
- `WindowClosed`: WhatsApp says the 24-hour window is closed (63016); the message is retried as a
  template, or recorded unsendable when the kind has none.
- `PermanentError`: the provider refuses this message for good (invalid number, bad request).

`Unsendable` is raised before sending, by policy (no template outside the 24-hour window, ...).
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from starlette.requests import Request

from bot import channels_text
from bot.messages import Reply

from storage.models import OutboxMessage, Owner


class RejectedRequest(Exception):
    """A webhook request that is not from the provider (bad signature or secret): answer 403."""


class ChannelError(Exception):
    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class TransientError(ChannelError):
    def __init__(self, message: str, code: str | None = None, retry_after: float | None = None,
                 rate_limited: bool = False, in_doubt: bool = False):
        super().__init__(message, code)
        self.retry_after = retry_after
        self.rate_limited = rate_limited
        self.in_doubt = in_doubt


class RecipientUnreachable(ChannelError):
    pass


class WindowClosed(ChannelError):
    pass


class PermanentError(ChannelError):
    pass


class Unsendable(Exception):
    """This message may not go out on this channel; the reason is recorded on the outbox row."""


@dataclass(frozen=True)
class Outgoing:
    """The form a message takes on the wire, decided in the claim transaction.

    form: "text" (free text, options numbered), "keyboard" (Telegram inline buttons),
    "quick_reply" (WhatsApp quick-reply content) or "template" (approved WhatsApp template).
    """

    form: str
    text: str = ""
    options: tuple[str, ...] = ()
    content_sid: str = ""
    variables: dict[str, str] = field(default_factory=dict)
    name: str = ""  # the template or quick reply's name, for the record


@dataclass(frozen=True)
class OutboxItem:
    """A claimed outbox row, detached from its session, with the form it will be sent in."""

    id: int
    owner_id: int | None
    channel: str
    address: str
    kind: str
    priority: int
    attempt: int  # the row's `attempts` after this claim: the fencing token of this send
    outgoing: Outgoing


@dataclass(frozen=True)
class SendResult:
    provider_ids: tuple[str, ...]

    @property
    def provider_id(self) -> str:
        # Long texts go out in parts; the first part's id is the message's id for callbacks.
        return ",".join(self.provider_ids)[:128]


@dataclass(frozen=True)
class Incoming:
    """One thing a provider told us in a webhook or a poll.

    kind "message": a message from an owner, stored in the inbox and then handed to the pipeline;
    kind "blocked": the owner blocked the bot (Telegram my_chat_member), so mark them unreachable.
    """

    kind: str
    channel: str
    address: str
    message_id: str = ""
    data: dict[str, Any] = field(default_factory=dict)  # text, payload, media, profile_name, ...


def render_numbered(text: str, options: list[str] | tuple[str, ...]) -> str:
    """A reply with options as plain text (the console's rendering): the owner answers with the
    number or the words."""
    return channels_text.render_numbered(Reply(text=text, options=list(options or ())))


def split_text(text: str, limit: int) -> list[str]:
    """Cut a long message into parts of at most `limit` characters, at paragraph or line ends
    where possible, so every part still reads as a whole."""
    text = text.strip()
    if len(text) <= limit:
        return [text]
    parts: list[str] = []
    rest = text
    while len(rest) > limit:
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"))
        if cut < limit // 2:
            cut = window.rfind(" ")
        if cut < limit // 2:
            cut = limit
        parts.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip()
    if rest:
        parts.append(rest)
    return parts


class Channel(ABC):
    """One provider. Subclasses: WhatsAppChannel (Twilio), TelegramChannel (python-telegram-bot)."""

    name: str = ""
    max_text: int = 4096
    rate: float = 1.0  # messages per second for the whole channel
    per_chat_rate: float = 0.0  # messages per second to one chat; 0 means no limit of its own
    per_chat_burst: int = 1
    max_in_flight: int = 32

    # --- inbound ------------------------------------------------------------------------------
    @abstractmethod
    async def parse_request(self, request: Request) -> list[Incoming]:
        """Verify the request came from the provider (else RejectedRequest) and parse it."""

    async def before_handle(self, incoming: dict[str, Any]) -> dict[str, Any]:
        """Work done for a stored message right before the pipeline gets it (answer a button tap,
        keep a photo as evidence). Returns the message data, possibly updated."""
        return incoming

    # --- outbound -----------------------------------------------------------------------------
    def render(self, reply: Reply) -> Outgoing:
        """A reply in this channel's form. The base has no buttons: options become a numbered list."""
        return Outgoing(form="text", text=render_numbered(reply.text, reply.options), options=tuple(reply.options))

    def prepare(self, row: OutboxMessage, owner: Owner | None, now: datetime,
                window_closed_at: datetime | None = None) -> Outgoing:
        """Decide the form of one outbox message right before sending (may raise Unsendable)."""
        return self.render(Reply(text=row.text, options=list(row.options or []), kind=row.kind))

    @abstractmethod
    async def send(self, item: OutboxItem) -> SendResult:
        """Hand one message to the provider. Raises a ChannelError subclass on failure."""

    async def close(self) -> None:
        """Release connections (called once, when the process stops)."""
