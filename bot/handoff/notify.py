"""Messages that a case action sends to someone other than the person acting.

They are OutboxMessage rows written in the same transaction as the action; the sender delivers
them. Nothing here calls a channel.
"""
from __future__ import annotations

from datetime import datetime
from typing import Callable, Iterable

from sqlalchemy import insert
from sqlalchemy.orm import Session

from bot.clock import utcnow
from bot.content import Content
from storage.models import MessageLog, OutboxMessage, Owner
from storage.models.handoff import Mentor

MENTOR_CHANNELS = ("telegram", "whatsapp")  # the first one the mentor has is used


def mentor_address(mentor: Mentor) -> tuple[str, str] | None:
    for channel in MENTOR_CHANNELS:
        address = getattr(mentor, channel)
        if address:
            return channel, address
    return None


def to_mentor(session: Session, content: Content, mentor: Mentor, key: str, *, options: list[str] | None = None,
              kind: str = "alert", not_before: datetime | None = None, **variables) -> OutboxMessage | None:
    target = mentor_address(mentor)
    if target is None:
        return None
    channel, address = target
    message = OutboxMessage(
        owner_id=None,
        channel=channel,
        address=address,
        kind=kind,
        priority=0,
        text=content.t(key, mentor.lang or "id", **variables),
        options=list(options or []),
        template_vars={},
        status="pending",
        not_before=not_before,
        created_at=utcnow(),
    )
    session.add(message)
    return message


def to_mentors(session: Session, content: Content, mentors: Iterable[Mentor], key: str,
               variables: Callable[[str], dict], *, options: list[str] | None = None, kind: str = "alert",
               not_before: datetime | None = None) -> int:
    """The same message to many mentors, rendered once per language (a case may go to dozens)."""
    rendered: dict[str, str] = {}
    rows = []
    now = utcnow()
    for mentor in mentors:
        lang = mentor.lang or "id"
        if lang not in rendered:
            rendered[lang] = content.t(key, lang, **variables(lang))
        target = mentor_address(mentor)
        if target is None:
            continue
        rows.append({"owner_id": None, "channel": target[0], "address": target[1], "kind": kind, "priority": 0,
                     "text": rendered[lang], "options": list(options or []), "template_vars": {},
                     "dedupe_key": None, "status": "pending", "attempts": 0, "not_before": not_before,
                     "created_at": now})
    if rows:
        # One multi-row INSERT: an escalation or a reminder round can reach hundreds of mentors.
        session.execute(insert(OutboxMessage), rows)
    return len(rows)


def to_owner_text(session: Session, owner: Owner, text: str, *, options: list[str] | None = None,
                  kind: str = "relay", flow: str | None = "mentor") -> OutboxMessage:
    """A message to the owner through their own channel, also written to their message log."""
    now = utcnow()
    message = OutboxMessage(
        owner_id=owner.id,
        channel=owner.channel,
        address=owner.address,
        kind=kind,
        priority=0,
        text=text,
        options=list(options or []),
        template_vars={},
        status="pending",
        created_at=now,
    )
    session.add(message)
    session.add(MessageLog(owner_id=owner.id, direction="out", text=text, options=list(options or []),
                           media=[], flow=flow, step=None, kind=kind, created_at=now))
    return message


def to_owner(session: Session, content: Content, owner: Owner, key: str, *, options: list[str] | None = None,
             kind: str = "relay", **variables) -> OutboxMessage:
    return to_owner_text(session, owner, content.t(key, owner.lang or "id", **variables), options=options, kind=kind)
