"""The console channel: the real pipeline in a terminal, for newcomers, demos and scripts.

Interactive on a terminal; otherwise one owner message per line until EOF. With --json each bot
reply is one JSON object per line on stdout and nothing else is printed there.

Messages that reach the owner later, not as a reply (a mentor's answer relayed, a broadcast, a
reminder), wait in the outbox. When the console's channel has no real provider configured, the
console is their delivery, as the web chat is for its channel: they are shown before the next
reply (and at the end) and marked sent. With a provider configured the real sender delivers them.
"""
from __future__ import annotations

import json
import sys
from typing import TextIO

import phonenumbers
from sqlalchemy import or_, select, update

from bot import broadcasts, reminders
from bot.channels_text import render_numbered
from bot.clock import utcnow
from bot.messages import Inbound, Reply
from bot.pipeline import handle
from bot.services import Services
from storage.models import OutboxMessage


def console_address(user: str, channel: str) -> str:
    """WhatsApp owners are known by an E.164 number; a console user id that is a phone becomes one."""
    if channel != "whatsapp":
        return user
    try:
        number = phonenumbers.parse(user if user.startswith("+") else f"+{user}", None)
    except phonenumbers.NumberParseException:
        return user
    if not phonenumbers.is_possible_number(number):
        return user
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def _emit(replies: list[Reply], as_json: bool, out: TextIO) -> None:
    for reply in replies:
        if as_json:
            out.write(json.dumps(reply.as_json(), ensure_ascii=False) + "\n")
        else:
            out.write(render_numbered(reply) + "\n\n")
    out.flush()


def _provider_configured(services: Services, channel: str) -> bool:
    settings = services.settings
    return settings.twilio_enabled if channel == "whatsapp" else settings.telegram_enabled


def deliver_waiting(services: Services, channel: str, address: str) -> list[Reply]:
    """Outbox messages for this console owner that no provider will send: returned and marked sent."""
    if _provider_configured(services, channel):
        return []
    now = utcnow()
    with services.db.session() as session:
        reminders.feed_outbox(session, services.content, now, channel=channel, address=address)  # swept ones
        broadcasts.feed_outbox(session, services.content, now, channel=channel, address=address)  # queued ones
        rows = session.scalars(select(OutboxMessage).where(
            OutboxMessage.channel == channel, OutboxMessage.address == address,
            OutboxMessage.status == "pending",
            or_(OutboxMessage.not_before.is_(None), OutboxMessage.not_before <= now))
            .order_by(OutboxMessage.id)).all()
        rows = broadcasts.write_texts(session, rows)  # a broadcast's words are written when delivered
        if not rows:
            return []
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_([r.id for r in rows]))
                        .values(status="sent", sent_at=now, updated_at=now))
        return [Reply(text=r.text, options=list(r.options or []), kind=r.kind) for r in rows]


def run_chat(services: Services, user: str, channel: str, lang: str | None, as_json: bool,
             stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    address = console_address(user, channel)

    def show_waiting() -> None:
        _emit(deliver_waiting(services, channel, address), as_json, stdout)

    def send(text: str) -> None:
        show_waiting()  # e.g. the mentor answered since the last message
        inbound = Inbound(channel=channel, address=address, text=text, lang_hint=lang or "",
                          synchronous=True)
        _emit(handle(inbound, db=services.db, content=services.content), as_json, stdout)

    if stdin.isatty() and not as_json:
        stdout.write("Asisten UMKM - ketik pesan Anda (Ctrl-D untuk keluar).\n\n")
        while True:
            try:
                line = input("anda> ")
            except EOFError:
                stdout.write("\n")
                show_waiting()
                return 0
            if line.strip():
                send(line)
    for line in stdin:
        line = line.rstrip("\n")
        if line.strip():
            send(line)
    show_waiting()
    return 0
