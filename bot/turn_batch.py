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

Three more facts are read lazily, for every owner of the batch at once, when the first turn needs
one (most batches need them, a batch of a few messages often not):

- `previous_out`: the texts of the bot's last reply to each owner (the repeat check, "never the same
  long text twice in a row", bot/turn.py); an owner created by this batch has none;
- `may_be_invited`: the owners of the batch ever sent an event invitation (flows/events.py asks
  for the latest one only for them);
- `terms_seen`: the technical words already explained to each owner (bot/legality/pathway.py),
  kept up to date by the batch's own turns.

No turn writes to another owner's message log, invitations or words seen during the batch (the
batch's message log rows are written after its last turn), so a fact read once stays true for
every turn of the batch; when a mentor writes in the batch (a mentor's turn acts on owners) the
turns ask for themselves.

The facts ride on the session (`session.info`), so the functions that use them (pipeline.lock_owner,
cases.mentor_inbound, handoff.actions.taken_cases) keep their signatures; without a batch (the
console, the web chat, `pipeline.handle`) every turn asks for itself, as before.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable

from sqlalchemy import bindparam, or_, select, text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, joinedload

from bot.clock import utcnow
from bot.handoff.delivery import WINDOW_REASON
from bot.messages import Inbound
from storage.models import InboundMessage, OutboxMessage, Owner, Ticket
from storage.models.events import Broadcast, BroadcastRecipient
from storage.models.handoff import Mentor
from storage.models.legality import TermSeen

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
# The bot's last reply to each owner: its messages after the owner's last message, at most 4 each
# (the same rows as bot/turn.py's PREVIOUS_OUT, for many owners in one statement; PostgreSQL).
PREVIOUS_OUT = text("""
    SELECT o.owner_id, m.text
    FROM unnest(CAST(:owners AS integer[])) AS o(owner_id)
    CROSS JOIN LATERAL (SELECT COALESCE(max(i.id), 0) AS last_in FROM message_log i
                        WHERE i.owner_id = o.owner_id AND i.direction = 'in') AS li
    CROSS JOIN LATERAL (SELECT l.id, l.text FROM message_log l
                        WHERE l.owner_id = o.owner_id AND l.direction = 'out' AND l.id > li.last_in
                        ORDER BY l.id DESC LIMIT 4) AS m
    ORDER BY o.owner_id, m.id DESC""")
INVITED = (select(BroadcastRecipient.owner_id).distinct()
           .join(Broadcast, Broadcast.id == BroadcastRecipient.broadcast_id)
           .where(BroadcastRecipient.owner_id.in_(bindparam("owners", expanding=True)),
                  Broadcast.event_id.is_not(None)))
TERMS_SEEN = select(TermSeen.owner_id, TermSeen.term).where(TermSeen.owner_id.in_(bindparam("owners", expanding=True)))
# Multi-row inserts as one cached statement each, run with a list of rows (SQLAlchemy's
# "insertmanyvalues": one INSERT ... VALUES (...), (...) RETURNING per batch, compiled once).
NEW_OWNERS = {name: dialect_insert(Owner.__table__).on_conflict_do_nothing(index_elements=["channel", "address"])
              .returning(Owner.__table__.c.id) for name, dialect_insert in (("postgresql", pg_insert),
                                                                            ("sqlite", sqlite_insert))}
NEW_MESSAGES = {name: dialect_insert(INBOUND).on_conflict_do_nothing(index_elements=["channel", "message_id"])
                .returning(INBOUND.c.channel, INBOUND.c.message_id) for name, dialect_insert in (("postgresql", pg_insert),
                                                                                              ("sqlite", sqlite_insert))}
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
    created: set[int] = field(default_factory=set)  # owner ids this batch inserted (first contact)
    postgres: bool = False
    _previous_out: dict[int, list[str]] | None = None
    _invited: set[int] | None = None
    _terms: dict[int, set[str]] | None = None
    _ids: frozenset[int] | None = None

    def _owner_ids(self, owner_id: int) -> list[int] | None:
        """The batch's owner ids when the lazily read facts may be used for `owner_id`, else None."""
        if self.mentors:
            return None  # a mentor's turn in this batch may act on its owners: each turn asks
        ids = sorted(o.id for o in self.owners.values())
        return ids if owner_id in ids else None

    def _known(self, owner_id: int) -> bool:
        if self._ids is None:
            self._ids = frozenset(o.id for o in self.owners.values())
        return not self.mentors and owner_id in self._ids

    def previous_out(self, session: Session, owner_id: int) -> list[str] | None:
        """The texts of the bot's last reply to this owner; None: not known here, ask."""
        if owner_id in self.created and self._known(owner_id):
            return []  # a first contact: nothing was said to them yet
        if not self.postgres:
            return None  # SQLite runs batches of one message: the turn's own query is as good
        if self._previous_out is None:
            ids = self._owner_ids(owner_id)
            if ids is None:
                return None
            self._previous_out = {i: [] for i in ids}
            old = [i for i in ids if i not in self.created]
            if old:
                for owner, text_ in session.execute(PREVIOUS_OUT, {"owners": old}):
                    self._previous_out[owner].append(text_)
        return self._previous_out.get(owner_id) if self._known(owner_id) else None

    def may_be_invited(self, session: Session, owner_id: int) -> bool | None:
        """False when the owner was never sent an event invitation; None: not known here, ask."""
        if self._invited is None:
            ids = self._owner_ids(owner_id)
            if ids is None:
                return None
            self._invited = set(session.scalars(INVITED, {"owners": ids}))
        return owner_id in self._invited if self._known(owner_id) else None

    def terms_seen(self, session: Session, owner_id: int) -> set[str] | None:
        """The technical words already explained to this owner (a copy); None: not known here, ask."""
        if self._terms is None:
            ids = self._owner_ids(owner_id)
            if ids is None:
                return None
            self._terms = {i: set() for i in ids}
            for owner, term in session.execute(TERMS_SEEN, {"owners": ids}):
                self._terms[owner].add(term)
        seen = self._terms.get(owner_id) if self._known(owner_id) else None
        return set(seen) if seen is not None else None

    def saw_terms(self, owner_id: int, terms: Iterable[str]) -> None:
        """A turn of the batch recorded these words as explained to the owner."""
        if self._terms is not None and owner_id in self._terms:
            self._terms[owner_id].update(terms)

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
    batch = BatchFacts(postgres=postgres)
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
        batch.created = set(session.scalars(
            NEW_OWNERS["postgresql" if postgres else "sqlite"],
            [{"channel": c, "address": a, "products": [], "created_at": now,
              "lang": lang.get((c, a)) if lang.get((c, a)) in ("id", "en") else "id"} for c, a in missing]))
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
            inserted = session.execute(NEW_MESSAGES["postgresql" if postgres else "sqlite"], list(rows.values()))
            batch.new_messages = {tuple(row) for row in inserted}
            batch.recorded = set(rows)

    # Owners whose case a mentor holds (their messages are relayed). Unknown when a mentor writes
    # in this batch: the mentor's turn may take a case.
    if batch.owners and not batch.mentors:
        batch.taken = set(session.scalars(TAKEN, {"owners": sorted(o.id for o in batch.owners.values())}))
    session.info[KEY] = batch
    return batch
