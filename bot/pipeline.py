"""The one entry point for every owner message: channels, the console, the web chat and tests.

`handle(inbound)` runs one turn inside ONE database transaction:

1. Take the owner's lock (PostgreSQL: the owner row FOR UPDATE; SQLite: the database write lock),
   creating the owner on first contact, so an owner's messages are handled one at a time.
2. Drop a duplicate provider message id (a redelivered webhook) without answering.
3. Load the conversation state and route the message (`route`):
   a. inbound hooks (e.g. a mentor writing from the mentor chat) - see `INBOUND_HOOKS`;
   b. media without text: to the mentor holding the owner's case, else to a step that takes
      photos, else a mentor case (owners who agreed to data storage) or a kind answer;
   c-g. ONE understanding step (bot/nlu/): every interpretation is scored on one scale and the
      best acted on. The table with each interpretation's priority, score and handler is
      bot/nlu/rules.py; in order of score: global words (MENU, KEMBALI/0, BATAL, BANTUAN, BAHASA,
      DATA SAYA, HAPUS DATA, MULAI) 1.00 -> a request to stop messaging, any wording 0.97 -> the
      answer to a short question a global word or a clarification asked 0.95 -> an open human
      handoff (the mentor has the owner) 0.94 -> an answer to what the bot sent on its own (an
      event invitation) 0.93 -> a clear question over a step that takes free text 0.92 -> the
      active flow's step 0.90 -> exact feature phrases 0.89 -> the free-text interpretations
      (FAQ, product question, permit report, reminder, flows, thanks, greetings, out of scope),
      taken when clear, with one clarifying question when two are close. An owner without
      consent gets answers at once (plus one line inviting DAFTAR); a request that stores data is
      acknowledged, consent is asked, and the request resumes after "setuju";
   h. a new owner whose message means nothing known starts registration;
   i. the fallback: say so kindly and re-ask; the second miss in a row opens a mentor case.
4. Save the new state, the message log (both directions) and the outgoing messages (the outbox),
   then commit, and return the replies.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Callable

from sqlalchemy import bindparam, insert, inspect as sa_inspect, select, text as sql_text, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.orm import Session, joinedload
from sqlalchemy.orm.attributes import set_committed_value

from bot import cases
from bot import metrics
from bot import turn_batch
from bot.cases import open_case
from bot.clock import utcnow
from bot.dedupe import first_delivery
from bot.erasure import erase_owner
from bot.content import Content, get_content
from bot.messages import Inbound, Reply
from bot.turn import Turn
from bot.nlu.understand import act, understand
from flows import NOT_UNDERSTOOD, get_flow
from storage.db import Database, get_database
from storage.models import ConversationState, MessageLog, OutboxMessage, Owner

log = logging.getLogger(__name__)

MISSES_BEFORE_MENTOR = 2
STATE_FIELDS = ("flow", "step", "interrupt", "misses")
OWNERS = Owner.__table__
# An owner's message: their last message time, and they are reachable again (executemany for a batch).
OWNER_SEEN = (update(OWNERS).where(OWNERS.c.id == bindparam("owner"))
              .values(last_inbound_at=bindparam("at"), unreachable_at=None))
# The same for PostgreSQL in one statement whatever the batch size (an executemany is one UPDATE
# per owner, each with its own parameters to send).
OWNERS_SEEN_PG = sql_text(
    "UPDATE owners SET last_inbound_at = seen.at, unreachable_at = NULL "
    "FROM unnest(CAST(:owners AS integer[]), CAST(:ats AS timestamptz[])) AS seen(id, at) "
    "WHERE owners.id = seen.id")
LOG_ROWS = insert(MessageLog.__table__)
OUTBOX_ROWS = insert(OutboxMessage.__table__)
PRIORITY = {"reply": 0, "relay": 0, "alert": 1, "reminder": 10, "broadcast": 20}

# Hooks that may take a message before the owner dialogue (mentor chat, ...). Each gets the
# session and the inbound message and returns replies to the sender, or None to pass.
InboundHook = Callable[[Session, Inbound, Content], "list[Reply] | None"]
INBOUND_HOOKS: list[InboundHook] = [cases.mentor_inbound]

# Hook for an open human handoff: returns True when a mentor has the owner (message relayed).
RelayHook = Callable[[Turn], bool]
RELAY_HOOKS: list[RelayHook] = [cases.relay]


@metrics.observe_turn
def handle(inbound: Inbound, db: Database | None = None, content: Content | None = None) -> list[Reply]:
    """Handle one message in its own transaction and return the replies (console, web chat, tests;
    the channels' inbox workers run many turns per transaction with `handle_turn`)."""
    db = db or get_database()
    content = content or get_content()
    writes = TurnWrites()
    with db.session() as session:
        result = handle_turn(session, db, inbound, content, writes)
        writes.flush(session)
    if result.erased_media:
        _erase_evidence(result.erased_media)
    return result.replies


@dataclass
class TurnResult:
    replies: list[Reply]
    erased_media: list[str] = field(default_factory=list)  # files to erase once the transaction commits


class TurnWrites:
    """The message log and outbox rows of one or more turns, written with one multi-row insert per
    table when the caller is done (an inbox batch writes all of its turns' rows at once)."""

    def __init__(self) -> None:
        self.logs: list[dict] = []
        self.outbox: list[dict] = []
        self.seen: list[dict] = []  # {"owner", "at"}: owners who wrote, and their last message time

    def mark(self) -> tuple[int, int, int]:
        return len(self.logs), len(self.outbox), len(self.seen)

    def rollback_to(self, mark: tuple[int, int, int]) -> None:
        """Forget what a turn that failed (and was rolled back to its savepoint) wanted to write."""
        del self.logs[mark[0]:]
        del self.outbox[mark[1]:]
        del self.seen[mark[2]:]

    def flush(self, session: Session) -> None:
        if self.seen and session.get_bind().dialect.name == "postgresql":
            session.execute(OWNERS_SEEN_PG, {"owners": [row["owner"] for row in self.seen],
                                             "ats": [row["at"] for row in self.seen]})
        elif self.seen:
            session.execute(OWNER_SEEN, self.seen)
        if self.logs:
            session.execute(LOG_ROWS, self.logs)
        if self.outbox:
            session.execute(OUTBOX_ROWS, self.outbox)
        self.logs, self.outbox, self.seen = [], [], []


def handle_turn(session: Session, db: Database, inbound: Inbound, content: Content,
                writes: TurnWrites) -> TurnResult:
    """One turn inside the caller's transaction; the log and outbox rows go to `writes`."""
    for hook in INBOUND_HOOKS:
        replies = hook(session, inbound, content)
        if replies is not None:
            return TurnResult(replies)
    batch = turn_batch.facts(session)
    owner = batch.owners.get((inbound.channel, inbound.address)) if batch is not None else None
    if owner is None:
        owner = lock_owner(session, db, inbound)
    first = batch.first_delivery(inbound) if batch is not None else None
    if not (first if first is not None else first_delivery(session, inbound)):
        log.info("duplicate message dropped owner=%s channel=%s", owner.id, inbound.channel)
        return TurnResult([])
    state = owner.conversation
    if state is None:
        state = ConversationState(owner=owner, data={}, history=[], misses=0)
        session.add(state)
    turn = Turn(session, owner, state, inbound, content)
    # The owner wrote: written with the turn's other rows (`TurnWrites.seen`), one UPDATE for a batch;
    # the loaded owner shows the new values without the ORM writing them once more.
    set_committed_value(owner, "last_inbound_at", max(filter(None, [owner.last_inbound_at, inbound.received_at])))
    set_committed_value(owner, "unreachable_at", None)
    route(turn)
    erased_media = _save(session, turn, writes)
    return TurnResult(turn.replies, erased_media)


def lock_owner(session: Session, db: Database, inbound: Inbound) -> Owner:
    """Fetch the owner for this channel address, creating it, with the owner's lock held.

    One round trip for a known owner: the owner row (locked) and its conversation state together."""
    where = (Owner.channel == inbound.channel, Owner.address == inbound.address)
    lang = inbound.lang_hint if inbound.lang_hint in ("id", "en") else "id"
    query = select(Owner).where(*where).options(joinedload(Owner.conversation))
    if db.is_postgres:
        locked = query.with_for_update(of=Owner)
        owner = session.scalars(locked).first()
        if owner is not None:
            return owner
        session.execute(
            pg_insert(Owner)
            .values(channel=inbound.channel, address=inbound.address, lang=lang, products=[],
                    created_at=utcnow())
            .on_conflict_do_nothing(index_elements=["channel", "address"])
        )
        return session.scalars(locked).one()
    # SQLite: the transaction began with BEGIN IMMEDIATE, which already serialises writers.
    owner = session.scalars(query).first()
    if owner is None:
        owner = Owner(channel=inbound.channel, address=inbound.address, lang=lang, products=[])
        session.add(owner)
        session.flush()
    return owner


def route(turn: Turn) -> None:
    """Route one message; the order is the module docstring's, step 3."""
    state = turn.state
    flow = get_flow(state.flow)
    step = flow.steps.get(state.step) if flow and state.step else None

    # b. media without text (a mentor holding the owner's case sees it first)
    if turn.inbound.media and not turn.text:
        if any(hook(turn) for hook in RELAY_HOOKS):
            return
        if step is not None and step.accepts_media:
            _run_step(turn, step)
        elif not cases.open_for_media(turn):
            _answer_media(turn)
        return
    if not turn.norm:
        turn.say("common.empty_message")
        return

    # c-g. one understanding step: every interpretation scored, the best acted on (bot/nlu/rules.py)
    understanding = understand(turn)
    if act(turn, understanding):
        return

    # h. first contact: a new owner's message that means nothing we know starts registration
    if turn.owner.consent_at is None and turn.owner.consent_declined_at is None and step is None:
        turn.start_flow("registration")
        return

    # i. fallback
    _fallback(turn, step, question=understanding.reading.act == "question")


def _run_step(turn: Turn, step) -> bool:
    """Run the step; True when it took the message as an answer."""
    result = step.handle(turn)
    if result is NOT_UNDERSTOOD:
        return False
    turn.state.misses = 0
    return True


def _answer_media(turn: Turn) -> None:
    kinds = {m.kind for m in turn.inbound.media}
    if "audio" in kinds:
        turn.say("common.voice_note")
    elif "image" in kinds:
        turn.say("common.photo_received")
    else:
        turn.say("common.file_received")
    if turn.flow_name and turn.flow_name != "menu":
        turn.reprompt()


def _fallback(turn: Turn, step, question: bool = False) -> None:
    state = turn.state
    state.misses = (state.misses or 0) + 1
    in_flow = step is not None
    if in_flow and not question and step.on_miss is not None and step.on_miss(turn, state.misses):
        return
    if state.misses >= MISSES_BEFORE_MENTOR and turn.owner.consent_at is not None:
        state.misses = 0
        open_case(turn.session, turn.owner, topic="misunderstood",
                  reason=f"The bot did not understand twice in a row; last message: {turn.text[:300]}",
                  content=turn.content)
        turn.say("common.misunderstood_twice")
        return
    turn.say("common.question_unknown" if question or turn.looks_like_question() else "common.not_understood")
    if in_flow:
        turn.reprompt()
    else:
        turn.say("common.not_understood_hint")


def _save(session: Session, turn: Turn, writes: TurnWrites | None = None) -> list[str]:
    """Write the turn; returns the owner's kept media files to erase once this commits."""
    own_writes = writes is None
    writes = writes if writes is not None else TurnWrites()
    inbound, owner, now = turn.inbound, turn.owner, utcnow()
    if turn.owner_deleted:
        # Erase the owner and everything keyed to them (the database cascades); the farewell
        # still goes out, addressed but no longer tied to anyone.
        files = erase_owner(session, owner)  # bot/erasure.py: the copies the cascade does not reach
        session.delete(owner)
        session.flush()
        _enqueue(session, turn, owner_id=None, now=now, writes=writes)
        if own_writes:
            writes.flush(session)
        return files
    state = turn.state
    writes.seen.append({"owner": owner.id, "at": owner.last_inbound_at})
    # The state row is written only when something in it changed (most messages change nothing but
    # the owner's last message time, which lives on the owner).
    fields = sa_inspect(state).attrs
    if (state.data != turn.data or state.history != turn.history or sa_inspect(state).pending
            or any(fields[name].history.has_changes() for name in STATE_FIELDS)):
        state.data = turn.data
        state.history = turn.history
        state.updated_at = now
    media = [{"kind": m.kind, "url": m.url, "content_type": m.content_type} for m in inbound.media]
    writes.logs.append(_log_row(owner.id, "in", turn.text, [], media, state, "reply", inbound.received_at))
    for reply in turn.replies:
        writes.logs.append(_log_row(owner.id, "out", reply.text, reply.options, [], state, reply.kind, now))
    _enqueue(session, turn, owner_id=owner.id, now=now, writes=writes)
    if own_writes:
        writes.flush(session)
    return []


def _log_row(owner_id: int, direction: str, text: str, options: list, media: list, state, kind: str, at) -> dict:
    return {"owner_id": owner_id, "direction": direction, "text": text, "options": list(options or []),
            "media": media, "flow": state.flow, "step": state.step, "kind": kind, "created_at": at}


def _erase_evidence(urls: list[str]) -> None:
    from bot.channels.config import ChannelSettings
    from bot.channels.evidence import erase
    from bot.config import load_settings

    root = ChannelSettings.from_env(load_settings()).evidence_dir
    log.info("erased %d evidence files of a deleted owner", erase(root, urls))


def _enqueue(session: Session, turn: Turn, owner_id: int | None, now, writes: TurnWrites | None = None) -> None:
    inbound = turn.inbound
    rows = [{
        "owner_id": owner_id, "channel": inbound.channel, "address": inbound.address, "kind": reply.kind,
        "priority": PRIORITY.get(reply.kind, 0), "text": reply.text, "options": list(reply.options or []),
        "template_vars": dict(reply.template_vars or {}), "dedupe_key": None,
        "status": "sent" if inbound.synchronous else "pending", "attempts": 0,
        "sent_at": now if inbound.synchronous else None, "created_at": now,
    } for reply in turn.replies]
    if writes is None:
        if rows:
            session.execute(insert(OutboxMessage.__table__), rows)
        return
    writes.outbox.extend(rows)
