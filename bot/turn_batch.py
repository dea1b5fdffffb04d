"""What every turn of an inbox batch needs to know, read for the whole batch at once.

An inbox worker (bot/channels/inbox.py) handles up to N messages of N different addresses in one
transaction. Each turn would otherwise ask the database the same few questions on its own: is
this address a mentor? (and, for an owner on WhatsApp, release mentor replies held by the closed
window), lock the owner row with its conversation state (creating the owner on first contact),
is this provider message id new?, does a mentor hold one of the owner's cases? Here each of those
is one statement for the whole batch, in the batch's transaction, before the first turn:

- `mentors`: the batch's addresses that belong to a mentor (only those take the per-turn path);
- `release_held`: one UPDATE for every owner address on WhatsApp;
- `owners`: every owner of the batch, locked (`FOR UPDATE` on PostgreSQL) with its state, the
  missing ones inserted with one multi-row `INSERT ... ON CONFLICT DO NOTHING`;
- `new_messages`: one multi-row `INSERT ... ON CONFLICT DO NOTHING RETURNING` into
  `inbound_messages` (only when the batch runs without a savepoint per turn: a turn rolled back to
  its savepoint must leave its message id unrecorded, so the careful mode records ids per turn);
- `taken`: the owners of the batch with a case a mentor holds; a turn of an owner not in it skips
  the relay query. Not read when a mentor writes in the same batch (a mentor's turn may take a
  case of an owner later in the batch; those turns then ask for themselves).

The facts ride on the session (`session.info`), so the functions that use them (pipeline.lock_owner,
cases.mentor_inbound, handoff.actions.taken_cases) keep their signatures; without a batch (the
console, the web chat, `pipeline.handle`) every turn asks for itself, as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import bindparam, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from bot.clock import utcnow
from bot.handoff.delivery import WINDOW_REASON
from bot.messages import Inbound
from storage.models import InboundMessage, OutboxMessage, Owner, Ticket
from storage.models.handoff import Mentor

KEY = "turn_batch"
INBOUND = InboundMessage.__table__
OUTBOX = OutboxMessage.__table__
MENTORS = Mentor.__table__
TICKETS = Ticket.__table__

# Built once: a statement built per batch costs more CPU than running it (SQLAlchemy).
MENTORS_WRITING = select(MENTORS.c.telegram, MENTORS.c.whatsapp).where(or_(
    MENTORS.c.telegram.in_(bindparam("telegram", expanding=True)),
    MENTORS.c.whatsapp.in_(bindparam("whatsapp", expanding=True))))
RELEASE_HELD = (
    update(OUTBOX)
    .where(OUTBOX.c.channel == "whatsapp", OUTBOX.c.address.in_(bindparam("addresses", expanding=True)),
           OUTBOX.c.kind == "relay", OUTBOX.c.status == "unsendable", OUTBOX.c.error.like(WINDOW_REASON))
    .values(status="pending", error=None, not_before=None, updated_at=bindparam("now", type_=OUTBOX.c.updated_at.type))
)
OWNERS = (select(Owner).where(Owner.channel == bindparam("channel"),
                              Owner.address.in_(bindparam("addresses", expanding=True)))
          .options(joinedload(Owner.conversation)).order_by(Owner.id))
OWNERS_LOCKED = OWNERS.with_for_update(of=Owner)
TAKEN = (select(TICKETS.c.owner_id).distinct()
         .where(TICKETS.c.owner_id.in_(bindparam("owners", expanding=True)), TICKETS.c.status == "taken"))


@dataclass
class BatchFacts:
    mentors: set[tuple[str, str]] = field(default_factory=set)  # (channel, address) of mentors
    owners: dict[tuple[str, str], Owner] = field(default_factory=dict)  # locked, with .conversation loaded
    new_messages: set[tuple[str, str]] | None = None  # (channel, message_id) recorded as first deliveries
    recorded: set[tuple[str, str]] = field(default_factory=set)  # every id the batch recorded
    taken: set[int] | None = None  # owner ids with a taken case; None: not known, ask
    released: set[tuple[str, str]] = field(default_factory=set)  # addresses whose held replies were released

    def is_mentor(self, channel: str, address: str) -> bool:
        return (channel, address) in self.mentors

    def first_delivery(self, inbound: Inbound) -> bool | None:
        """True/False when the batch recorded this message id; None: ask `dedupe.first_delivery`."""
        if not inbound.message_id or self.new_messages is None:
            return None
        key = (inbound.channel, inbound.message_id)
        if key not in self.recorded:
            return None
        first = key in self.new_messages
        self.new_messages.discard(key)  # the same id twice in a batch: the second is a duplicate
        return first


def facts(session: Session) -> BatchFacts | None:
    return session.info.get(KEY)


def forget(session: Session) -> None:
    session.info.pop(KEY, None)


def load(session: Session, inbounds: Iterable[Inbound], record_messages: bool) -> BatchFacts:
    """Read the batch's facts in the session's transaction and attach them to the session."""
    inbounds = list(inbounds)
    postgres = session.get_bind().dialect.name == "postgresql"
    now = utcnow()
    batch = BatchFacts()
    by_channel: dict[str, set[str]] = {}
    for inbound in inbounds:
        by_channel.setdefault(inbound.channel, set()).add(inbound.address)

    # Mentors writing from one of these addresses (an inactive mentor still counts).
    if by_channel.keys() & {"telegram", "whatsapp"}:
        for telegram, whatsapp in session.execute(MENTORS_WRITING, {
                "telegram": sorted(by_channel.get("telegram", ())), "whatsapp": sorted(by_channel.get("whatsapp", ()))}):
            if telegram and telegram in by_channel.get("telegram", ()):
                batch.mentors.add(("telegram", telegram))
            if whatsapp and whatsapp in by_channel.get("whatsapp", ()):
                batch.mentors.add(("whatsapp", whatsapp))
    owners = {c: sorted(a for a in addresses if (c, a) not in batch.mentors) for c, addresses in by_channel.items()}
    owners = {c: a for c, a in owners.items() if a}

    # An owner writing opens their WhatsApp window: mentor replies held by it go back in the queue.
    if owners.get("whatsapp"):
        session.execute(RELEASE_HELD, {"addresses": owners["whatsapp"], "now": now})
        batch.released.update(("whatsapp", a) for a in owners["whatsapp"])

    # The owners, locked, with their conversation state; first contacts are created.
    query = OWNERS_LOCKED if postgres else OWNERS
    found: dict[tuple[str, str], Owner] = {}

    def read(channel: str, addresses: list[str]) -> None:
        for owner in session.scalars(query, {"channel": channel, "addresses": addresses}).unique():
            found[(owner.channel, owner.address)] = owner

    for channel, addresses in owners.items():
        read(channel, addresses)
    missing = [(c, a) for c, addresses in owners.items() for a in addresses if (c, a) not in found]
    if missing:
        lang = {(i.channel, i.address): i.lang_hint for i in inbounds}
        dialect_insert = pg_insert if postgres else sqlite_insert
        session.execute(
            dialect_insert(Owner.__table__)
            .values([{"channel": c, "address": a, "products": [], "created_at": now,
                      "lang": lang.get((c, a)) if lang.get((c, a)) in ("id", "en") else "id"}
                     for c, a in missing])
            .on_conflict_do_nothing(index_elements=["channel", "address"])
        )
        for channel in sorted({c for c, _ in missing}):
            read(channel, sorted(a for c, a in missing if c == channel))
    batch.owners = found

    # Provider message ids: one insert for the batch.
    if record_messages:
        rows = {}
        for inbound in inbounds:
            if inbound.message_id:
                rows.setdefault((inbound.channel, inbound.message_id), {
                    "channel": inbound.channel, "message_id": inbound.message_id,
                    "received_at": inbound.received_at or now})
        batch.new_messages = set()
        if rows:
            dialect_insert = pg_insert if postgres else sqlite_insert
            inserted = session.execute(
                dialect_insert(INBOUND).values(list(rows.values()))
                .on_conflict_do_nothing(index_elements=["channel", "message_id"])
                .returning(INBOUND.c.channel, INBOUND.c.message_id)
            )
            batch.new_messages = {tuple(row) for row in inserted}
            batch.recorded = set(rows)

    # Owners whose case a mentor holds (their messages are relayed). Unknown when a mentor writes
    # in this batch: the mentor's turn may take a case.
    if batch.owners and not batch.mentors:
        batch.taken = set(session.scalars(TAKEN, {"owners": sorted(o.id for o in batch.owners.values())}))
    session.info[KEY] = batch
    return batch
