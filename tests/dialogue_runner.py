"""Dialogue tests as data: tests/dialogues/*.yaml, fed through the real pipeline.

Format (one conversation per file; `dialogues:` may hold several):

    name: registration happy path
    user: "6281234567890"          # owner address (default 6281100000001)
    channel: whatsapp               # default whatsapp
    lang: id                        # language for a new owner (default id)
    start: "2026-11-23 09:00"       # frozen clock start, Asia/Jakarta (default Monday 09:00)
    setup: {owner: {name: Siti, consent: true, registered: true, ...}}   # see SETUP
    turns:
      - owner: halo                 # what the owner types ("media: audio|image" for attachments)
        bot:                        # the replies, in order; each item checks one reply
          - key: registration.welcome         # equals that text (vars: {...} for variables)
          - contains: ["setuju"]              # case-insensitive substrings
            options: ["Setuju", "Tidak setuju"]  # exact option labels (options_contain: [...])
      - wait: 1d                    # move the clock (30m, 2h, 1d)
      - owner: "1"
        bot_count: 1                # only count the replies
      # `includes: [key, {key: ..., vars: ...}]` checks texts joined into one message
      - expect: {owner: {name: Siti Aminah}, case: {topic: asked}}   # see EXPECT
      - mentor: "/ambil 1"          # a message from a mentor's own chat, through the same pipeline
        by: "900000001"             # entry (channel telegram unless `channel:` says otherwise)
        bot: [{contains: ["#1"]}]

Areas add their own setup and expectation kinds to SETUP and EXPECT.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Callable
from zoneinfo import ZoneInfo

import time_machine
import yaml
from sqlalchemy import select

from bot.channels_text import render_numbered
from bot.clock import utcnow
from bot.content import Content
from bot.messages import Inbound, Media, Reply
from bot.pipeline import handle
from storage.db import Database
from storage.models import Owner, Ticket

DIALOGUES = Path(__file__).resolve().parent / "dialogues"
JAKARTA = ZoneInfo("Asia/Jakarta")
DEFAULT_START = "2026-11-23 09:00"
_DURATION = re.compile(r"^(\d+)\s*([smhd])$")


@dataclass
class Conversation:
    db: Database
    content: Content
    channel: str
    user: str
    lang: str
    counter: int = 0

    def send(self, text: str = "", media: list[str] | None = None, message_id: str | None = None,
             channel: str | None = None, user: str | None = None) -> list[Reply]:
        self.counter += 1
        channel, user = channel or self.channel, user or self.user
        inbound = Inbound(
            channel=channel, address=user, text=text,
            media=tuple(Media(kind=kind, url=f"https://media.example.test/{self.counter}", content_type=f"{kind}/x")
                        for kind in media or []),
            message_id=message_id if message_id is not None else f"dlg-{user}-{self.counter}",
            received_at=utcnow(), lang_hint=self.lang, synchronous=True,
        )
        return handle(inbound, db=self.db, content=self.content)

    def owner(self, session) -> Owner | None:
        return session.scalars(select(Owner).where(Owner.channel == self.channel, Owner.address == self.user)).first()


def parse_duration(value: str) -> timedelta:
    match = _DURATION.match(str(value).strip())
    if not match:
        raise ValueError(f"bad duration {value!r} (use 30m, 2h, 1d)")
    amount, unit = int(match.group(1)), match.group(2)
    return timedelta(**{{"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}[unit]: amount})


# --- setup ---------------------------------------------------------------------------------------
def _setup_owner(conv: Conversation, spec: dict) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session) or Owner(channel=conv.channel, address=conv.user, lang=conv.lang, products=[])
        now = utcnow()
        for key, value in spec.items():
            if key == "consent":
                owner.consent_at = now if value else None
            elif key == "registered":
                owner.registered_at = now if value else None
            else:
                setattr(owner, key, value)
        session.add(owner)


SETUP: dict[str, Callable[[Conversation, Any], None]] = {"owner": _setup_owner}


# --- expectations --------------------------------------------------------------------------------
def _expect_owner(conv: Conversation, spec: dict | None) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session)
        if spec is None:
            assert owner is None, "expected the owner to be deleted"
            return
        assert owner is not None, "owner not found"
        for key, expected in spec.items():
            if key == "registered":
                actual = owner.registered_at is not None
            elif key == "consent":
                actual = owner.consent_at is not None
            elif key == "opted_out":
                actual = owner.opted_out_at is not None
            else:
                actual = getattr(owner, key)
            assert actual == expected, f"owner.{key}: expected {expected!r}, got {actual!r}"


def _expect_case(conv: Conversation, spec: dict | None) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session)
        tickets = session.scalars(select(Ticket).where(Ticket.owner_id == owner.id)).all() if owner else []
        if spec is None:
            assert not tickets, f"expected no case, found {[t.topic for t in tickets]}"
            return
        matching = [t for t in tickets if all(getattr(t, k) == v for k, v in spec.items() if k != "count")]
        assert matching, f"no case matching {spec}; cases: {[(t.topic, t.status) for t in tickets]}"
        if "count" in spec:
            assert len(matching) == spec["count"], f"expected {spec['count']} cases, found {len(matching)}"


EXPECT: dict[str, Callable[[Conversation, Any], None]] = {"owner": _expect_owner, "case": _expect_case}


# --- replies -------------------------------------------------------------------------------------
def check_reply(conv: Conversation, reply: Reply, spec: dict, where: str) -> None:
    lang_text = reply.text
    if "key" in spec:
        expected = conv.content.t(spec["key"], spec.get("lang", _owner_lang(conv)), **(spec.get("vars") or {}))
        assert lang_text == expected, f"{where}: expected text of {spec['key']!r}:\n{expected}\ngot:\n{lang_text}"
    for item in spec.get("includes", []):  # texts said together in one message (the message budget)
        item = {"key": item} if isinstance(item, str) else item
        part = conv.content.t(item["key"], item.get("lang", _owner_lang(conv)), **(item.get("vars") or {}))
        assert part in lang_text, f"{where}: text of {item['key']!r} not in reply:\n{part}\ngot:\n{lang_text}"
    if "text" in spec:
        assert lang_text == spec["text"], f"{where}: expected {spec['text']!r}, got {lang_text!r}"
    contains = spec.get("contains", [])
    for needle in [contains] if isinstance(contains, str) else contains:
        assert str(needle).lower() in lang_text.lower(), f"{where}: {needle!r} not in reply:\n{lang_text}"
    not_contains = spec.get("not_contains", [])
    for needle in [not_contains] if isinstance(not_contains, str) else not_contains:
        assert str(needle).lower() not in lang_text.lower(), f"{where}: {needle!r} unexpectedly in:\n{lang_text}"
    if "options" in spec:
        assert reply.options == spec["options"], f"{where}: options {reply.options!r} != {spec['options']!r}"
    for option in spec.get("options_contain", []):
        assert any(option.lower() in o.lower() for o in reply.options), f"{where}: no option like {option!r} in {reply.options!r}"
    if "max_chars" in spec:
        assert len(lang_text) <= spec["max_chars"], f"{where}: reply is {len(lang_text)} chars"


def _owner_lang(conv: Conversation) -> str:
    with conv.db.session() as session:
        owner = conv.owner(session)
        return owner.lang if owner else conv.lang


# --- the message budget ---------------------------------------------------------------------------
# Every reply in every dialogue is checked as a person on a phone would meet it: each message at
# most about 400 characters, at most 2 messages per reply, and never the same long text twice in
# a row (the second time a short reminder of what to answer is enough). The median over all
# dialogues is checked by tests/test_message_budget.py from what is collected here.
MAX_MESSAGE_CHARS = 400
MAX_MESSAGES_PER_REPLY = 2
LONG_TEXT = 250
SEEN: list[tuple[str, list[str]]] = []  # (where, texts of one reply), in the order sent


def check_budget(where: str, replies: list[Reply], previous: list[str]) -> None:
    texts = [r.text for r in replies]
    SEEN.append((where, [render_numbered(r) for r in replies]))
    shown = "\n---\n".join(texts)
    assert len(texts) <= MAX_MESSAGES_PER_REPLY, f"{where}: {len(texts)} messages in one reply:\n{shown}"
    for reply in replies:
        text = render_numbered(reply)  # as WhatsApp shows it: the options written out under the text
        assert len(text) <= MAX_MESSAGE_CHARS, f"{where}: a message of {len(text)} characters:\n{text}"
        assert not (len(reply.text) > LONG_TEXT and reply.text in previous), (
            f"{where}: the same long text twice in a row:\n{reply.text}")


def load_dialogues() -> list[tuple[str, dict]]:
    cases = []
    for path in sorted(DIALOGUES.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        for index, dialogue in enumerate(raw.get("dialogues", [raw])):
            cases.append((f"{path.stem}[{index}]" if "dialogues" in raw else path.stem, dialogue))
    return cases


def run_dialogue(dialogue: dict, db: Database, content: Content) -> None:
    start = datetime.strptime(str(dialogue.get("start", DEFAULT_START)), "%Y-%m-%d %H:%M").replace(tzinfo=JAKARTA)
    conv = Conversation(db=db, content=content, channel=dialogue.get("channel", "whatsapp"),
                        user=str(dialogue.get("user", "+6281100000001")), lang=dialogue.get("lang", "id"))
    previous: list[str] = []
    with time_machine.travel(start, tick=False) as traveller:
        for kind, spec in (dialogue.get("setup") or {}).items():
            SETUP[kind](conv, spec)
        for number, turn in enumerate(dialogue["turns"], 1):
            where = f"{dialogue.get('name', '?')} turn {number}"
            if "wait" in turn:
                traveller.shift(parse_duration(turn["wait"]))
            if "owner" in turn or "media" in turn or "mentor" in turn:
                if "mentor" in turn:
                    replies = conv.send(str(turn["mentor"]), channel=turn.get("channel", "telegram"),
                                        user=str(turn["by"]), message_id=turn.get("message_id"))
                else:
                    replies = conv.send(str(turn.get("owner", "")), media=turn.get("media") and [turn["media"]],
                                        message_id=turn.get("message_id"))
                    if replies:
                        check_budget(where, replies, previous)
                        previous = [r.text for r in replies]
                if "bot" in turn:
                    expected = turn["bot"] or []
                    shown = "\n---\n".join(r.text for r in replies)
                    assert len(replies) >= len(expected), (
                        f"{where}: expected {len(expected)} replies, got {len(replies)}:\n{shown}")
                    if turn.get("exact_count", True):
                        assert len(replies) == len(expected), (
                            f"{where}: expected {len(expected)} replies, got {len(replies)}:\n{shown}")
                    for index, (reply, spec) in enumerate(zip(replies, expected), 1):
                        check_reply(conv, reply, spec or {}, f"{where} reply {index}")
                if "bot_count" in turn:
                    assert len(replies) == turn["bot_count"], f"{where}: got {len(replies)} replies"
            for kind, spec in (turn.get("expect") or {}).items():
                EXPECT[kind](conv, spec)


# Areas' own setup and expectation kinds (imported last: they register into the tables above).
import tests.handoff.dialogue_kinds  # noqa: E402,F401
import tests.broadcasts.dialogue_kinds  # noqa: E402,F401
import tests.wiring.dialogue_kinds  # noqa: E402,F401
from tests.gmp.dialogue_kinds import register as _register_gmp  # noqa: E402

_register_gmp(SETUP, EXPECT)
