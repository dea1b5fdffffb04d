"""Telegram through python-telegram-bot (v22), used as a Bot API client only.

We use `telegram.Bot` to call the Bot API and `telegram.Update` to read what Telegram posts.
We do NOT use `telegram.ext.Application` or ConversationHandler: those keep conversation state
in one process's memory, while the owner's state lives in the database (the pipeline's truth)
and several web workers may serve the same owner.

Inbound: Telegram posts Update JSON to /webhooks/telegram with the header
X-Telegram-Bot-Api-Secret-Token set to the secret we gave `setWebhook`; a request without the
right secret gets 403. For development, `umkm-bot run --telegram-polling` fetches the same
updates with getUpdates instead. The update id is the message id for duplicate detection
(Telegram's message ids count per chat; update ids are unique per bot).
- message: text or caption, photos and documents (kept as evidence), voice notes;
- callback_query: a tap on an inline keyboard button; the button's data is the option label
  (or its number when the label is too long for Telegram's 64 bytes); every tap is answered;
- my_chat_member with status "kicked": the owner blocked the bot; they are marked unreachable.
Only private chats are owners; updates from groups are ignored.

Outbound: `send_message` with options as an inline keyboard, one button per row. A 403 means
the owner blocked the bot (unreachable); RetryAfter pauses the channel for the time Telegram asks.
"""
from __future__ import annotations

import asyncio
import hmac
import re
import logging
import os
import warnings
from datetime import timedelta
from typing import Any, Awaitable, Callable

from starlette.requests import Request
from telegram import Bot, BotCommand, BotCommandScopeChat, BotCommandScopeDefault, InlineKeyboardButton, InlineKeyboardMarkup, MessageEntity, Update
from telegram.constants import ChatMemberStatus, ChatType
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    InvalidToken,
    NetworkError,
    RetryAfter,
    TelegramError,
    TimedOut,
)
from telegram.request import HTTPXRequest

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
    split_text,
)
from bot.channels.config import ChannelSettings
from bot.config import Settings
from bot.messages import Reply

log = logging.getLogger(__name__)

# Opt in to python-telegram-bot's coming behaviour (time periods as timedelta) instead of its
# deprecation warning on every RetryAfter; retry_after_seconds() reads either form.
os.environ.setdefault("PTB_TIMEDELTA", "true")

MAX_TEXT = 4096
MAX_CALLBACK_DATA = 64
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
_COMMAND = re.compile(r"^/([A-Za-z0-9_]{1,32})(?:@[A-Za-z0-9_]+)?(?=\s|$)")
ALLOWED_UPDATES = ["message", "callback_query", "my_chat_member"]
OWNER_COMMANDS = ("menu", "bantuan")
MENTOR_COMMANDS = ("list", "take", "reply", "note", "resolve", "show", "transfer", "help")


def callback_data(label: str, number: int) -> str:
    """What a button sends back: its label, so a tap reads like typing it; else its number."""
    return label if len(label.encode("utf-8")) <= MAX_CALLBACK_DATA else str(number)


def keyboard(options) -> InlineKeyboardMarkup | None:
    if not options:
        return None
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(label, callback_data=callback_data(label, n))] for n, label in enumerate(options, 1)]
    )


def leading_command(message) -> tuple[str, str] | None:
    """The bot command a message starts with, found by Telegram's own entities:
    "/balas@asisten_bot 12 Halo Bu" -> ("balas", "12 Halo Bu"); None for text that is no command."""
    entities = message.parse_entities([MessageEntity.BOT_COMMAND]) if message.text else \
        message.parse_caption_entities([MessageEntity.BOT_COMMAND])
    for entity, value in entities.items():
        if entity.offset != 0:
            continue
        word = value[1:].split("@", 1)[0]
        full = message.text or message.caption or ""
        arguments = full[len(value):].strip()  # entity offsets count UTF-16 units; the command is ASCII
        return word, arguments
    full = message.text or message.caption or ""
    plain = _COMMAND.match(full)  # a client that sent no entities (Telegram always does)
    if plain:
        return plain.group(1), full[plain.end():].strip()
    return None


def _seconds(value) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def retry_after_seconds(exc: RetryAfter) -> float:
    # python-telegram-bot 22 warns that the attribute turns from int into timedelta; take either.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _seconds(exc.retry_after)


class TelegramChannel(Channel):
    name = "telegram"
    max_text = MAX_TEXT

    def __init__(self, settings: Settings, channel_settings: ChannelSettings):
        self.settings = settings
        self.cs = channel_settings
        self.rate = settings.telegram_rate
        self.per_chat_rate = settings.telegram_per_chat_rate
        self.per_chat_burst = max(1, channel_settings.telegram_per_chat_burst)
        self.max_in_flight = min(channel_settings.sender_max_in_flight, 64)
        self._bots: dict[asyncio.AbstractEventLoop, Bot] = {}

    # --- the Bot API client -------------------------------------------------------------------
    def new_bot(self, pool_size: int | None = None, read_timeout: float | None = None) -> Bot:
        base = self.settings.telegram_api_base.rstrip("/")
        kwargs: dict[str, Any] = {}
        if base:
            kwargs = {"base_url": f"{base}/bot{{token}}", "base_file_url": f"{base}/file/bot{{token}}"}
        timeout = self.cs.http_timeout
        request = HTTPXRequest(connection_pool_size=pool_size or self.max_in_flight,
                               read_timeout=read_timeout or timeout, write_timeout=timeout,
                               connect_timeout=timeout, pool_timeout=timeout)
        return Bot(self.settings.telegram_bot_token, request=request, **kwargs)

    @property
    def bot(self) -> Bot:
        """One Bot per event loop: its HTTP connections belong to the loop that opened them."""
        loop = asyncio.get_running_loop()
        bot = self._bots.get(loop)
        if bot is None:
            for old_loop in [old for old in self._bots if old.is_closed()]:
                self._bots.pop(old_loop, None)
            bot = self._bots[loop] = self.new_bot()
        return bot

    async def close(self) -> None:
        loop = asyncio.get_running_loop()
        bot = self._bots.pop(loop, None)
        if bot is not None:
            await bot.shutdown()

    # --- inbound ------------------------------------------------------------------------------
    def verify(self, request: Request) -> None:
        expected = self.settings.telegram_webhook_secret
        if not expected:
            raise RejectedRequest("TELEGRAM_WEBHOOK_SECRET is not set; the webhook accepts nothing without it")
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            raise RejectedRequest("wrong or missing secret token")

    async def parse_request(self, request: Request) -> list[Incoming]:
        self.verify(request)
        try:
            data = await request.json()
        except ValueError as exc:
            raise RejectedRequest("body is not JSON") from exc
        return self.parse_update(data)

    def parse_update(self, data: dict) -> list[Incoming]:
        update = Update.de_json(data, None)
        if update is None:
            return []
        message_id = str(update.update_id)
        if update.callback_query is not None:
            query = update.callback_query
            chat = query.message.chat if query.message is not None else None
            if chat is None or chat.type != ChatType.PRIVATE:
                return [Incoming(kind="callback_only", channel=self.name, address=str(query.from_user.id),
                                 message_id=message_id, data={"callback_query_id": query.id})]
            return [Incoming(kind="message", channel=self.name, address=str(chat.id), message_id=message_id, data={
                "text": query.data or "",
                "payload": query.data or "",
                "media": [],
                "profile_name": query.from_user.first_name or "",
                "lang_hint": (query.from_user.language_code or "")[:2],
                "callback_query_id": query.id,
            })]
        if update.my_chat_member is not None:
            member = update.my_chat_member
            if member.chat.type == ChatType.PRIVATE and member.new_chat_member.status == ChatMemberStatus.BANNED:
                return [Incoming(kind="blocked", channel=self.name, address=str(member.chat.id),
                                 message_id=message_id)]
            return []
        message = update.message
        if message is None or message.chat.type != ChatType.PRIVATE:
            return []
        text = message.text or message.caption or ""
        payload = ""
        command = leading_command(message)
        if command is not None:
            # "/selesai@asisten_bot 12 catatan" keeps its command and arguments ("/selesai 12 catatan")
            # for the mentor chat; an owner's /start or /menu reads as the plain word the pipeline
            # knows (the turn reads the payload first, the mentor chat the text).
            word, arguments = command
            text = f"/{word} {arguments}".rstrip()
            payload = word
        media = []
        if message.photo:
            largest = max(message.photo, key=lambda p: (p.width or 0) * (p.height or 0))
            media.append({"kind": "image", "url": "", "content_type": "image/jpeg", "provider_id": largest.file_id})
        if message.document is not None:
            content_type = message.document.mime_type or "application/octet-stream"
            media.append({"kind": evidence.media_kind(content_type), "url": "", "content_type": content_type,
                          "provider_id": message.document.file_id})
        if message.voice is not None:
            media.append({"kind": "audio", "url": "", "content_type": message.voice.mime_type or "audio/ogg",
                          "provider_id": message.voice.file_id})
        if message.audio is not None:
            media.append({"kind": "audio", "url": "", "content_type": message.audio.mime_type or "audio/mpeg",
                          "provider_id": message.audio.file_id})
        if message.video is not None or message.video_note is not None:
            video = message.video or message.video_note
            media.append({"kind": "video", "url": "", "content_type": "video/mp4", "provider_id": video.file_id})
        user = message.from_user
        return [Incoming(kind="message", channel=self.name, address=str(message.chat.id), message_id=message_id, data={
            "text": text,
            "payload": payload,
            "media": media,
            "profile_name": (user.first_name if user else "") or "",
            "lang_hint": ((user.language_code if user else "") or "")[:2],
        })]

    async def answer_callback(self, callback_query_id: str) -> None:
        try:
            await self.bot.answer_callback_query(callback_query_id)
        except TelegramError as exc:  # too late or already answered: the tap itself still counts
            log.info("telegram callback not answered: %s", exc)

    async def before_handle(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("callback_query_id"):
            await self.answer_callback(data["callback_query_id"])
        media = data.get("media") or []
        if not any(m.get("kind") in evidence.KEPT_KINDS for m in media):
            return data
        kept = []
        for index, item in enumerate(media):
            item = dict(item)
            if item.get("kind") in evidence.KEPT_KINDS and item.get("provider_id"):
                try:
                    file = await self.bot.get_file(item["provider_id"])
                    content = bytes(await file.download_as_bytearray())
                    item["url"] = evidence.save(self.cs.evidence_dir, self.name, data["message_id"], index,
                                                item.get("content_type", ""), content)
                except (TelegramError, ValueError, OSError) as exc:
                    log.warning("telegram evidence not kept update=%s: %s", data["message_id"], exc)
            kept.append(item)
        return {**data, "media": kept}

    # --- outbound -----------------------------------------------------------------------------
    def render(self, reply: Reply) -> Outgoing:
        """Options as an inline keyboard under the text, not as a numbered list."""
        options = tuple(reply.options)
        return Outgoing(form="keyboard" if options else "text", text=reply.text, options=options)

    async def send(self, item: OutboxItem) -> SendResult:
        out = item.outgoing
        chat_id: int | str = int(item.address) if item.address.lstrip("-").isdecimal() else item.address
        parts = split_text(out.text, MAX_TEXT) if out.text.strip() else ["-"]
        ids = []
        for number, part in enumerate(parts, 1):
            markup = keyboard(out.options) if number == len(parts) else None
            try:
                message = await self.bot.send_message(chat_id=chat_id, text=part, reply_markup=markup)
            except RetryAfter as exc:
                raise TransientError(f"telegram flood control: {exc}", "429",
                                     retry_after=retry_after_seconds(exc), rate_limited=True) from exc
            except Forbidden as exc:
                raise RecipientUnreachable(f"telegram 403: {exc}", "403") from exc
            except ChatMigrated as exc:
                raise PermanentError(f"telegram chat migrated to {exc.new_chat_id}", "400") from exc
            except BadRequest as exc:
                if "chat not found" in str(exc).lower():
                    raise RecipientUnreachable(f"telegram 400: {exc}", "400") from exc
                raise PermanentError(f"telegram 400: {exc}", "400") from exc
            except TimedOut as exc:
                raise TransientError(f"telegram timeout: {exc}", in_doubt=True) from exc
            except (NetworkError, InvalidToken) as exc:
                raise TransientError(f"telegram {type(exc).__name__}: {exc}") from exc
            ids.append(str(message.message_id))
        return SendResult(tuple(ids))

    # --- the command menu -----------------------------------------------------------------------
    async def publish_commands(self, db, content) -> int:
        """setMyCommands: owners see MENU and BANTUAN; each mentor's chat (scope chat) sees the mentor
        commands of content/handoff/commands.yaml, so Telegram offers /kasus, /ambil, ... as they type.
        Returns how many mentor chats got the mentor list."""
        from sqlalchemy import select

        from storage.models.handoff import Mentor

        owner = [BotCommand(word, content.t(f"handoff.owner_command_{word}"))
                 for word in OWNER_COMMANDS if content.has(f"handoff.owner_command_{word}")]
        words = content.data("handoff/commands.yaml")["commands"]
        def read_mentors():
            with db.session() as session:
                return session.execute(select(Mentor.telegram, Mentor.lang).where(
                    Mentor.active.is_(True), Mentor.telegram.is_not(None))).all()

        mentors = await asyncio.to_thread(read_mentors)
        try:
            if owner:
                await self.bot.set_my_commands(owner, scope=BotCommandScopeDefault())
            done = 0
            for chat, lang in mentors:
                if not str(chat).lstrip("-").isdigit():
                    continue
                listed = [BotCommand(words[name][0], content.t(f"handoff.command_{name}", lang or "id"))
                          for name in MENTOR_COMMANDS]
                await self.bot.set_my_commands(listed, scope=BotCommandScopeChat(int(chat)))
                done += 1
            return done
        except TelegramError as exc:  # the bot works without the menu; the operator sees why
            log.warning("telegram commands not published: %s", exc)
            return 0

    # --- webhook and polling ------------------------------------------------------------------
    async def set_webhook(self, url: str) -> bool:
        return await self.bot.set_webhook(url=url, secret_token=self.settings.telegram_webhook_secret or None,
                                          allowed_updates=ALLOWED_UPDATES)

    async def poll(self, on_update: Callable[[dict], Awaitable[None]], stop: asyncio.Event,
                   timeout: int = 25) -> None:
        """Long polling for development: the same updates as the webhook, fetched with getUpdates."""
        bot = self.new_bot(pool_size=2, read_timeout=10)
        offset = None
        try:
            await bot.delete_webhook()
            while not stop.is_set():
                fetch = asyncio.ensure_future(
                    bot.get_updates(offset=offset, timeout=timeout, allowed_updates=ALLOWED_UPDATES))
                stopping = asyncio.ensure_future(stop.wait())
                await asyncio.wait({fetch, stopping}, return_when=asyncio.FIRST_COMPLETED)
                stopping.cancel()
                if not fetch.done():  # stopping: do not sit out a long poll
                    fetch.cancel()
                    break
                try:
                    updates = fetch.result()
                except RetryAfter as exc:
                    await _sleep_or_stop(stop, retry_after_seconds(exc))
                    continue
                except (NetworkError, TimedOut) as exc:
                    log.warning("telegram polling: %s", exc)
                    await _sleep_or_stop(stop, 3)
                    continue
                for update in updates:
                    offset = update.update_id + 1
                    try:
                        await on_update(update.to_dict())
                    except Exception:  # one bad update must not stop polling
                        log.exception("telegram update %s not handled", update.update_id)
        finally:
            await bot.shutdown()


async def _sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    try:
        await asyncio.wait_for(stop.wait(), timeout=seconds)
    except asyncio.TimeoutError:
        pass
