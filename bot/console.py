"""The console channel: the real pipeline in a terminal, for newcomers, demos and scripts.

Interactive on a terminal; otherwise one owner message per line until EOF. With --json each bot
reply is one JSON object per line on stdout and nothing else is printed there.
"""
from __future__ import annotations

import json
import sys
from typing import TextIO

import phonenumbers

from bot.channels_text import render_numbered
from bot.messages import Inbound, Reply
from bot.pipeline import handle
from bot.services import Services


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


def run_chat(services: Services, user: str, channel: str, lang: str | None, as_json: bool,
             stdin: TextIO = sys.stdin, stdout: TextIO = sys.stdout) -> int:
    address = console_address(user, channel)

    def send(text: str) -> None:
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
                return 0
            if line.strip():
                send(line)
    for line in stdin:
        line = line.rstrip("\n")
        if line.strip():
            send(line)
    return 0
