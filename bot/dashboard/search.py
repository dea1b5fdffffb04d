"""Search across the message log and mentor cases, by text, owner, area and date, always within
what the searcher may see (a mentor: their areas and their cases; staff: everything).

Text is matched as a case-insensitive substring (what staff type is a fragment of what owners
wrote, typos and all). On PostgreSQL the trigram indexes of the search migration
(`pg_trgm`, GIN on message_log.text, tickets.reason, owners.name and business_name) serve these
`ILIKE '%…%'` scans; `bench/search_bench.py` measures them on 100k owners and 1M messages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from bot.clock import JAKARTA
from bot.csvtable import parse_date
from storage.models import MessageLog, Owner, Ticket
from storage.models.casetools import CaseLabel

LIMIT = 50


def _like(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _day_start(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=JAKARTA)


@dataclass
class SearchQuery:
    text: str = ""
    owner: str = ""
    area: str = ""
    since: date | None = None
    until: date | None = None
    what: str = "messages"  # messages | cases
    label: str = ""  # a case label key: cases with it, or messages of owners with such a case

    @classmethod
    def from_params(cls, params) -> "SearchQuery":
        what = params.get("what") or "messages"
        return cls(text=" ".join((params.get("q") or "").split())[:100].replace("\x00", ""),
                   owner=" ".join((params.get("owner") or "").split())[:80].replace("\x00", ""),
                   area=(params.get("area") or "").strip()[:64],
                   since=parse_date(params.get("since") or ""), until=parse_date(params.get("until") or ""),
                   what=what if what in ("messages", "cases") else "messages",
                   label="".join(ch for ch in (params.get("label") or "") if ch.isalnum() or ch == "_")[:32])

    @property
    def empty(self) -> bool:
        return not (self.text or self.owner or self.label)

    def owner_conditions(self) -> list[ColumnElement[bool]]:
        out = []
        if self.owner:
            like = _like(self.owner)
            out.append(or_(Owner.name.ilike(like, escape="\\"), Owner.business_name.ilike(like, escape="\\")))
        if self.area:
            out.append(Owner.city == self.area)
        return out

    def period(self, column) -> list[ColumnElement[bool]]:
        out = []
        if self.since:
            out.append(column >= _day_start(self.since))
        if self.until:
            out.append(column < _day_start(self.until + timedelta(days=1)))
        return out


def search_messages(session: Session, query: SearchQuery, visible: ColumnElement[bool] | None,
                    limit: int = LIMIT) -> list[dict]:
    where = query.owner_conditions() + query.period(MessageLog.created_at)
    if query.text:
        where.append(MessageLog.text.ilike(_like(query.text), escape="\\"))
    if query.label:
        labelled = select(Ticket.owner_id).join(CaseLabel, CaseLabel.ticket_id == Ticket.id).where(CaseLabel.label == query.label)
        where.append(Owner.id.in_(labelled))
    if visible is not None:
        where.append(visible)
    rows = session.execute(select(MessageLog, Owner).join(Owner, Owner.id == MessageLog.owner_id).where(*where)
                           .order_by(MessageLog.id.desc()).limit(limit))
    return [{"id": m.id, "owner_id": o.id, "owner": o.name, "business": o.business_name, "city": o.city,
             "direction": m.direction, "text": m.text, "at": m.created_at} for m, o in rows]


def search_cases(session: Session, query: SearchQuery, visible: ColumnElement[bool] | None,
                 limit: int = LIMIT) -> list[dict]:
    where = query.owner_conditions() + query.period(Ticket.created_at)
    if query.text:
        like = _like(query.text)
        where.append(or_(Ticket.reason.ilike(like, escape="\\"), Ticket.resolution_note.ilike(like, escape="\\"),
                         Ticket.topic.ilike(like, escape="\\")))
    if query.label:
        where.append(Ticket.id.in_(select(CaseLabel.ticket_id).where(CaseLabel.label == query.label)))
    if visible is not None:
        where.append(visible)
    rows = session.execute(select(Ticket, Owner).join(Owner, Owner.id == Ticket.owner_id).where(*where)
                           .order_by(Ticket.id.desc()).limit(limit))
    return [{"id": t.id, "owner_id": o.id, "owner": o.name, "business": o.business_name, "city": o.city,
             "topic": t.topic, "status": t.status, "reason": t.reason, "at": t.created_at} for t, o in rows]
