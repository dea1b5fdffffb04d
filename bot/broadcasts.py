"""Broadcasts: one staff-written message to a segment of owners, queued in bulk, written by the sender.

The life of a broadcast:
1. `plan()` checks everything before anything is stored: the segment spec (bot/segment.py), the
   Jinja2 message (syntax, unknown variables, and a real render for *every* recipient), and
   returns the recipient count and one rendered sample: that is the preview.
2. `create()` stores it as `scheduled` (for now, or a later `scheduled_at`).
3. `enqueue()` (at once for "send now", or from `sweep_due()` when the time comes) records the
   recipients: one `INSERT ... SELECT` from the segment per chunk of `CHUNK` owners into the lean
   `broadcast_queue` table (broadcast, channel, owner), each chunk one transaction; no outbox row
   and no text yet. The segment is fixed here: an owner who joins it later (a new registration, a
   changed sector or city) does not get this broadcast; one who leaves it still does, unless they
   opted out or became unreachable. An enqueue interrupted and run again skips the recipients
   already recorded (or already written), so nobody is recorded twice.
4. The sender (bot/sender.py) writes the messages as it sends them: each claim first takes about a
   claim's worth of the channel's queued recipients (`feed_outbox`, oldest broadcast first, never
   between 20:00 and 07:00 while quiet hours hold broadcasts), renders each message in its owner's
   words and language, and writes the outbox row (dedupe_key "bc:<broadcast>:<owner>", ON CONFLICT
   DO NOTHING) and the `broadcast_recipients` row that links the two, deleting the queue row, all in
   the claim's transaction: each recipient becomes exactly one message, whatever crashes where. A
   message that cannot be written for an owner (their details break the template) is an
   `unsendable` outbox row with the reason. From there the outbox's rules apply: opt-out and
   unreachability at send time, quiet hours, priorities, per-owner order, exactly-once sending.
5. `cancel()` stops it: recipients not yet written stay in the queue as the record of who it was
   withdrawn from (the sender skips cancelled broadcasts), and the outbox rows the sender has not
   claimed are withdrawn (status "cancelled").
6. `progress()` counts the recipients by state: queued (in the queue, or in the outbox not yet
   sent), sent/delivered/read (the provider accepted it), failed (or unsendable), cancelled.

Only reachable owners are selected (consent given, not opted out, not unreachable). WhatsApp owners
outside the 24-hour window get the approved template the sender has configured for kind
"broadcast"; `template_vars` carries what that template needs.

The template is staff-written text, so it runs in Jinja2's sandbox with StrictUndefined: a typo in a
variable is an error shown to staff, never a blank in 100,000 messages.
"""
from __future__ import annotations

import difflib
import functools
import json
import logging
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Callable, Iterator

import jinja2
from jinja2 import meta
from jinja2.sandbox import SandboxedEnvironment
from sqlalchemy import Integer, bindparam, delete, exists, func, literal, literal_column, or_, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot import segment as segments
from bot.clock import utcnow
from bot import names
from bot.content import Content, get_content
from bot.events import event_variables
from storage.db import Database
from storage.models import OutboxMessage, Owner
from storage.models.events import Broadcast, BroadcastQueued, BroadcastRecipient, TrainingEvent
from storage.types import UTCDateTime

log = logging.getLogger(__name__)

KIND = "broadcast"  # the sender's priority and WhatsApp template key (bot.pipeline.PRIORITY)
CHUNK = 10_000
MAX_LENGTH = 1600  # a WhatsApp message body through Twilio; Telegram allows more

OWNER_VARIABLES = ("name", "first_name", "honorific", "greeting_name", "business_name", "city", "district",
                   "sector", "products")
EVENT_VARIABLES = ("event_title", "event_kind", "event_when", "event_place", "event_link", "event_where",
                   "event_quota")

OWNER_COLUMNS = (Owner.id, Owner.channel, Owner.address, Owner.lang, Owner.name, Owner.business_name,
                 Owner.city, Owner.district, Owner.sector, Owner.products)


class BroadcastError(ValueError):
    """Something staff must fix; `problems` lists every reason found, each a full sentence."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("; ".join(problems))


# --- the message -------------------------------------------------------------------------------

_ENV = SandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)


def compile_message(source: str, *, has_event: bool, label: str = "message") -> jinja2.Template:
    """Parse a staff message; raises BroadcastError for syntax errors and unknown variables. A
    message compiled before is taken from a small cache: the sender makes a renderer per claim."""
    return _compile_message(source, has_event, label)


@functools.lru_cache(maxsize=64)
def _compile_message(source: str, has_event: bool, label: str) -> jinja2.Template:
    if not (source or "").strip():
        raise BroadcastError([f"The {label} is empty."])
    try:
        ast = _ENV.parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise BroadcastError([f"The {label} has a template error on line {exc.lineno}: {exc.message}."]) from exc
    allowed = set(OWNER_VARIABLES) | (set(EVENT_VARIABLES) if has_event else set())
    problems = []
    for name in sorted(meta.find_undeclared_variables(ast) - allowed):
        if name in EVENT_VARIABLES:
            problems.append(f"The {label} uses `{name}`, but this broadcast is not linked to an event (use --event).")
            continue
        hint = difflib.get_close_matches(name, sorted(allowed), n=1)
        suggestion = f" Did you mean `{hint[0]}`?" if hint else ""
        problems.append(f"The {label} uses an unknown variable `{name}`.{suggestion} "
                        f"Available: {', '.join(sorted(allowed))}.")
    if problems:
        raise BroadcastError(problems)
    return _ENV.from_string(source)


def owner_variables(row, content: Content | None = None, lang: str | None = None) -> dict[str, Any]:
    """What a message may say about its owner, as the owner would write it: "Bu Sumarni" (the
    honorific apart: first_name "Sumarni", honorific "Bu", greeting_name "Bu Sumarni"), places
    and sector by their names ("Duren Sawit", "Jakarta Timur", "makanan"), never internal keys.
    A missing value is an empty string, never "None"."""
    content = content or get_content()
    lang = lang or getattr(row, "lang", None) or "id"
    name = names.split(row.name, content)
    products = row.products if isinstance(row.products, list) else []
    sector = row.sector or ""
    return {
        "name": name.full,
        "first_name": name.first,
        "honorific": name.honorific,
        "greeting_name": name.called,
        "business_name": row.business_name or "",
        "city": _place(content, row.city),
        "district": _place(content, row.district),
        "sector": content.t(f"variables.sector_{sector}", lang) if content.has(f"variables.sector_{sector}") else "",
        "products": ", ".join(str(p) for p in products),
    }


def _place(content: Content, key: str | None) -> str:
    """A city or kecamatan key as its name ("duren-sawit" -> "Duren Sawit"); free text (outside
    Jakarta) as typed."""
    from bot.handoff.routing import place_name

    return place_name(content, key) or ""


@dataclass
class BlankOwner:
    """An owner with nothing filled in: every template must still render for them."""

    id: int = 0
    channel: str = "whatsapp"
    address: str = ""
    lang: str = "id"
    name: str | None = None
    business_name: str | None = None
    city: str | None = None
    district: str | None = None
    sector: str | None = None
    products: list = field(default_factory=list)


class Renderer:
    """Renders one broadcast for any owner: the message in the owner's language, the invitation
    footer and option when the broadcast is for an event, and the WhatsApp template variables."""

    def __init__(self, content: Content, template: str, template_en: str | None, event: TrainingEvent | None):
        has_event = event is not None
        self.content = content
        self.templates = {"id": compile_message(template, has_event=has_event)}
        self.templates["en"] = (
            compile_message(template_en, has_event=has_event, label="English message") if template_en
            else self.templates["id"]
        )
        self.event = event
        self.base = dict(_ENV.globals)
        self.extra: dict[str, dict[str, Any]] = {}
        self.footer: dict[str, str] = {}
        self.options: dict[str, list[str]] = {}
        for lang in ("id", "en"):
            self.extra[lang] = event_variables(content, event, lang) if event is not None else {}
            if event is not None:
                self.footer[lang] = content.t("events.invite_footer", lang, **self.extra[lang])
                self.options[lang] = [content.t("events.option_register", lang)]
            else:
                self.footer[lang] = ""
                self.options[lang] = []

    def render(self, row) -> tuple[str, list[str], dict[str, Any]]:
        """(text, options, template_vars) for one owner; BroadcastError when it cannot be written."""
        try:
            return self._render(row)
        except BroadcastError:
            raise
        except jinja2.TemplateError as exc:  # UndefinedError, SecurityError, ...
            who = f"owner {row.id}" if row.id else "an owner with no details filled in"
            raise BroadcastError([f"The message cannot be written for {who}: {exc}."]) from exc
        except (TypeError, ValueError, AttributeError, IndexError, KeyError) as exc:
            raise BroadcastError([f"The message cannot be written for owner {row.id}: {exc}."]) from exc


    def _render(self, row) -> tuple[str, list[str], dict[str, Any]]:
        lang = row.lang if row.lang in self.templates else "id"
        variables = owner_variables(row, self.content, lang)
        variables.update(self.extra[lang])
        template = self.templates[lang]
        # Template.render() merges Jinja's globals into every context; with 100,000 owners that
        # merge costs more than the message itself, so merge once (self.base) and share.
        context = template.new_context({**self.base, **variables}, shared=True)
        body = "".join(template.root_render_func(context)).strip()
        if not body:
            raise BroadcastError([f"The message renders empty for owner {row.id}."])
        text = f"{body}\n\n{self.footer[lang]}" if self.footer[lang] else body
        if len(text) > MAX_LENGTH:
            raise BroadcastError([f"The message is {len(text)} characters for owner {row.id}; "
                                  f"WhatsApp takes at most {MAX_LENGTH}. Shorten it."])
        # The sender's approved WhatsApp template gets the text itself; these are extras for it.
        template_vars = {"first_name": variables["first_name"], "greeting_name": variables["greeting_name"]}
        if self.event is not None:
            template_vars.update(event_title=self.event.title, event_when=self.extra[lang]["event_when"])
        return text, self.options[lang], template_vars


# --- planning and preview ------------------------------------------------------------------------

@dataclass
class Plan:
    segment: segments.Segment
    recipients: int
    sample: str | None  # one rendered message, as the first recipient will read it
    sample_owner_id: int | None
    by_channel: dict[str, int]
    renderer: Renderer


def _recipient_rows(session: Session, segment: segments.Segment, after_id: int = 0, limit: int | None = None,
                    skip_written_of: int | None = None):
    query = select(*OWNER_COLUMNS).where(*segment.conditions(), Owner.id > after_id).order_by(Owner.id)
    if skip_written_of is not None:  # resuming: owners who already have their row are done
        query = query.where(~exists().where(BroadcastRecipient.broadcast_id == skip_written_of,
                                            BroadcastRecipient.owner_id == Owner.id))
    if limit is not None:
        query = query.limit(limit)
    return session.execute(query).all()


def _load_event(session: Session, event_id: int | None) -> TrainingEvent | None:
    if event_id is None:
        return None
    event = session.get(TrainingEvent, event_id)
    if event is None:
        raise BroadcastError([f"There is no event {event_id} (see `umkm-bot events list`)."])
    return event


def resolve_templates(content: Content, template: str | None, template_en: str | None,
                      event: TrainingEvent | None) -> tuple[str, str | None]:
    """An event broadcast without a message uses the standard invitation from content."""
    if (template or "").strip() or event is None:
        return template or "", template_en
    return content.raw("events.invite_default", "id"), template_en or content.raw("events.invite_default", "en")


def plan(session: Session, content: Content, *, segment: str | None, template: str | None,
         template_en: str | None = None, event_id: int | None = None, now: datetime | None = None) -> Plan:
    """Validate a broadcast completely and describe it. Raises BroadcastError; writes nothing."""
    now = now or utcnow()
    problems: list[str] = []
    event = None
    try:
        event = _load_event(session, event_id)
    except BroadcastError as exc:
        problems.extend(exc.problems)
    if event is not None and event.status != "scheduled":
        problems.append(f"Event {event.id} is cancelled.")
    elif event is not None and event.starts_at <= now:
        problems.append(f"Event {event.id} has already started.")
    spec = segment if segment is not None and segment.strip() else (event.segment if event is not None else "")
    parsed = None
    if not spec.strip() and event is not None:
        problems.append(f"Event {event.id} has no target segment: give --segment (`all` for every owner).")
    else:
        try:
            parsed = segments.parse(spec)
        except segments.SegmentError as exc:
            problems.extend(f"Segment: {p}" for p in exc.problems)
    template, template_en = resolve_templates(content, template, template_en, event)
    renderer = None
    try:
        renderer = Renderer(content, template or "", template_en, event if event_id is not None else None)
        renderer.render(BlankOwner())
    except BroadcastError as exc:
        problems.extend(exc.problems)
    if problems or parsed is None or renderer is None:
        raise BroadcastError(problems)
    by_channel: dict[str, int] = {}
    sample = sample_owner = None
    count = 0
    # Render every recipient now, so a message that breaks for one owner is refused before
    # anything is queued, not discovered halfway through 100,000.
    for rows in _chunks(session, parsed):
        for row in rows:
            text = renderer.render(row)[0]
            by_channel[row.channel] = by_channel.get(row.channel, 0) + 1
            count += 1
            if sample is None:
                sample, sample_owner = text, row.id
    return Plan(parsed, count, sample, sample_owner, by_channel, renderer)


def _chunks(session: Session, segment: segments.Segment, size: int = CHUNK,
            skip_written_of: int | None = None) -> Iterator[list]:
    after = 0
    while True:
        rows = _recipient_rows(session, segment, after, size, skip_written_of)
        if not rows:
            return
        yield rows
        after = rows[-1].id


# --- storing, queueing, cancelling ---------------------------------------------------------------

def create(session: Session, content: Content, *, segment: str | None, template: str | None,
           template_en: str | None = None, event_id: int | None = None, scheduled_at: datetime | None = None,
           created_by: str = "staff", now: datetime | None = None,
           checked: Plan | None = None) -> tuple[Broadcast, Plan]:
    """Validate (as `plan`, unless given the plan of these same arguments just made for the
    preview) and store a broadcast, scheduled for `scheduled_at` (default: now)."""
    now = now or utcnow()
    if checked is None:
        checked = plan(session, content, segment=segment, template=template, template_en=template_en,
                       event_id=event_id, now=now)
    if scheduled_at is not None and event_id is not None:
        event = session.get(TrainingEvent, event_id)
        if event is not None and scheduled_at >= event.starts_at:
            raise BroadcastError(["The broadcast is scheduled after its event starts."])
    template, template_en = resolve_templates(content, template, template_en, checked.renderer.event)
    broadcast = Broadcast(
        event_id=event_id, segment=checked.segment.spec, template=template, template_en=template_en,
        status="scheduled", scheduled_at=scheduled_at or now, recipient_count=checked.recipients,
        created_by=created_by, created_at=now,
    )
    session.add(broadcast)
    session.flush()
    log.info("broadcast %s created for %s recipients, due %s", broadcast.id, checked.recipients, broadcast.scheduled_at)
    return broadcast, checked


def _lock_broadcast(session: Session, broadcast_id: int) -> Broadcast | None:
    return session.execute(
        select(Broadcast).where(Broadcast.id == broadcast_id).with_for_update().execution_options(populate_existing=True)
    ).scalar_one_or_none()


def enqueue(db: Database, content: Content, broadcast_id: int, now: datetime | None = None,
            on_chunk: Callable[[int], None] | None = None, chunk_size: int = CHUNK) -> int:
    """Record a broadcast's recipients in the queue. Idempotent: run again after a crash, it adds
    only who is missing. Returns the number of recipients this call recorded.

    Set-based: per chunk of `chunk_size` owners (by id) one `INSERT ... SELECT` from `owners` with
    the segment's conditions into `broadcast_queue`; nothing is read into Python per owner and no
    message is written here. The sender writes each message, once, when it claims work
    (`feed_outbox`)."""
    now = now or utcnow()
    refused: BroadcastError | None = None
    with db.session() as session:
        broadcast = _lock_broadcast(session, broadcast_id)
        if broadcast is None:
            raise BroadcastError([f"There is no broadcast {broadcast_id}."])
        if broadcast.status not in ("scheduled", "queuing"):
            return 0
        try:
            event = _load_event(session, broadcast.event_id)
            parsed = segments.parse(broadcast.segment)
            # The template still compiles and renders (plan() rendered it for every recipient
            # when it was created; an owner whose details break it later gets a reason, not a text).
            Renderer(content, broadcast.template, broadcast.template_en, event).render(BlankOwner())
        except (BroadcastError, segments.SegmentError) as exc:
            refused = exc if isinstance(exc, BroadcastError) else BroadcastError(exc.problems)
            broadcast.status = "cancelled"
            broadcast.cancelled_at = now
            broadcast.error = str(exc)
        else:
            resuming = broadcast.status == "queuing"
            bounds = _chunk_bounds(session, parsed, chunk_size)
            if not resuming:
                broadcast.recipient_count = session.scalar(
                    select(func.count()).select_from(Owner).where(*parsed.conditions())) or 0
            broadcast.status = "queuing"
    if refused is not None:
        log.warning("broadcast %s refused at send time: %s", broadcast_id, refused)
        raise refused
    recorded = 0
    after = 0
    for upto in [*bounds, None]:
        try:
            count = _queue_chunk(db, broadcast_id, parsed, after, upto, resuming)
        except IntegrityError:
            if resuming:
                raise
            # Another process queues the same broadcast (two schedulers): its rows are there
            # already. This chunk wrote nothing; from now on skip what exists.
            resuming = True
            count = _queue_chunk(db, broadcast_id, parsed, after, upto, resuming)
        if count is None:
            return recorded
        recorded += count
        after = upto
        if on_chunk is not None:
            on_chunk(count)
    with db.session() as session:
        broadcast = _lock_broadcast(session, broadcast_id)
        if broadcast is not None and broadcast.status == "queuing":
            broadcast.status = "queued"
            broadcast.queued_at = now
            broadcast.queued_count = _count_queued(session, broadcast_id) + (session.scalar(
                select(func.count()).select_from(BroadcastRecipient).where(BroadcastRecipient.broadcast_id == broadcast_id)
            ) or 0)
    log.info("broadcast %s queued: %s recipients recorded", broadcast_id, recorded)
    return recorded


def _count_queued(session: Session, broadcast_id: int) -> int:
    """Recipients of a broadcast whose message is not written yet."""
    return session.scalar(select(func.count()).select_from(BroadcastQueued)
                          .where(BroadcastQueued.broadcast_id == broadcast_id)) or 0


def _queue_chunk(db: Database, broadcast_id: int, segment: segments.Segment, after: int, upto: int | None,
                 resuming: bool) -> int | None:
    """One chunk in its own transaction; None when the broadcast stopped queueing (cancelled)."""
    with db.session() as session:
        if db.is_postgres:
            # Nothing leaves before the sender's own synchronous commit, which flushes this one
            # first; a chunk lost in a server crash is written again by the resumed enqueue.
            session.execute(sql_text("SET LOCAL synchronous_commit = off"))
        # The lock makes a concurrent cancel() wait for this chunk, or this chunk see it.
        broadcast = _lock_broadcast(session, broadcast_id)
        if broadcast is None or broadcast.status != "queuing":
            log.info("broadcast %s stopped queueing (%s)", broadcast_id, broadcast and broadcast.status)
            return None
        return _write_chunk(session, broadcast_id, segment, after, upto, resuming)


def _chunk_bounds(session: Session, segment: segments.Segment, size: int) -> list[int]:
    """Every `size`-th recipient's owner id: the upper ends of the chunks (one statement)."""
    numbered = (select(Owner.id, func.row_number().over(order_by=Owner.id).label("n"))
                .where(*segment.conditions()).subquery())
    return list(session.scalars(select(numbered.c.id).where(numbered.c.n % size == 0).order_by(numbered.c.id)))


def _write_chunk(session: Session, broadcast_id: int, segment: segments.Segment, after: int, upto: int | None,
                 resuming: bool) -> int:
    """Record the segment's owners with after < id <= upto as recipients (one INSERT ... SELECT).
    Resuming, skip who is recorded already: in the queue (the key) or written (a recipients row)."""
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    where = [*segment.conditions(), Owner.id > after]
    if upto is not None:
        where.append(Owner.id <= upto)
    if resuming:
        where.append(~exists().where(BroadcastRecipient.broadcast_id == broadcast_id,
                                     BroadcastRecipient.owner_id == Owner.id))
    write = insert(BroadcastQueued.__table__).from_select(
        ["broadcast_id", "channel", "owner_id"],
        select(literal(broadcast_id, Integer), Owner.channel, Owner.id).where(*where))
    if resuming:
        # A first run writes a plain INSERT (cheaper): its rows cannot exist yet, and if another
        # process did write them the chunk fails whole and runs again so.
        write = write.on_conflict_do_nothing(index_elements=["broadcast_id", "channel", "owner_id"])
    # The rowcount of an INSERT is read before SQLAlchemy closes the cursor (psycopg then says -1).
    return session.execute(write.execution_options(preserve_rowcount=True)).rowcount or 0


# --- writing each message at send time -------------------------------------------------------------

TEXT_OF = "broadcast"  # template_vars key: the broadcast an outbox row carries
ACTIVE = ("queuing", "queued")  # broadcasts whose queued recipients the sender takes
FEED_MAX = 2_000  # recipients written per call at most (one claim asks for a second's worth)


def _active(session: Session, channel: str, owner_id: int | None) -> list[tuple[int, str]]:
    """Broadcasts with recipients of this channel (or this owner) to write, oldest first: every
    one still being queued (more recipients may come), and queued ones with rows left."""
    waiting = exists().where(BroadcastQueued.broadcast_id == Broadcast.id, BroadcastQueued.channel == channel)
    if owner_id is not None:
        waiting = exists().where(BroadcastQueued.broadcast_id == Broadcast.id, BroadcastQueued.channel == channel,
                                 BroadcastQueued.owner_id == owner_id)
    return [tuple(row) for row in session.execute(
        select(Broadcast.id, Broadcast.status)
        .where(or_(Broadcast.status == "queuing", (Broadcast.status == "queued") & waiting))
        .order_by(Broadcast.scheduled_at, Broadcast.id))]


def _hold(session: Session, broadcast_id: int) -> str | None:
    """The broadcast's status, with a share lock on it for this transaction (PostgreSQL): a cancel
    then waits until the messages written here are in the outbox, where it withdraws them. None
    when it is locked (a chunk being queued, a cancel): leave it for the next claim."""
    query = select(Broadcast.status).where(Broadcast.id == broadcast_id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(read=True, key_share=True, skip_locked=True)  # FOR KEY SHARE
    return session.scalar(query)


def feed_outbox(session: Session, content: Content, now: datetime | None = None, *, channel: str,
                address: str | None = None, limit: int = FEED_MAX, ahead_of_sending: int | None = None,
                wrote_since: datetime | None = None) -> int:
    """Write the outbox messages of up to `limit` (at most FEED_MAX) queued recipients of this
    channel, in the caller's transaction, oldest broadcast first. Returns the messages written.

    Who: every recipient of the channel; or only the owner at `address` (the console and the web
    chat, for their one owner); or, with `wrote_since` (the sender during quiet hours), only owners
    who wrote since then, who get broadcasts at night like any other message (bot/sender.py).
    How many: the sender passes its claim's size as `ahead_of_sending`, and only what the channel's
    unsent broadcast messages leave of it is written, so messages are written about as fast as they
    go out, and a claim busy with replies does not make the sender write ahead.

    Per recipient: the message rendered for the owner (text, options, template variables), the
    outbox row ("bc:<broadcast>:<owner>", ON CONFLICT DO NOTHING), the `broadcast_recipients` row
    linking the two, and the queue row deleted, all committed together. PostgreSQL locks the queue
    rows it takes (SKIP LOCKED: two senders never write the same recipient). A message that cannot
    be written is `unsendable` with the reason. Per-owner order: a broadcast's recipients are
    written only when every older broadcast's recipients (of the channel, or of that owner) are."""
    from bot.pipeline import PRIORITY  # late: the pipeline imports every flow, and flows import this module

    owners: list[int | None] = [None]
    if address is not None:
        owner_id = session.scalar(select(Owner.id).where(Owner.channel == channel, Owner.address == address))
        if owner_id is None:
            return 0
        owners = [owner_id]
    elif wrote_since is not None:
        owners = list(session.scalars(
            select(BroadcastQueued.owner_id).distinct()
            .join(Owner, Owner.id == BroadcastQueued.owner_id).join(Broadcast, Broadcast.id == BroadcastQueued.broadcast_id)
            .where(BroadcastQueued.channel == channel, Broadcast.status.in_(ACTIVE), Owner.last_inbound_at >= wrote_since)
            .order_by(BroadcastQueued.owner_id).limit(min(limit, FEED_MAX))))
        if not owners:
            return 0
    elif ahead_of_sending is not None:
        if not _active(session, channel, None):
            return 0
        # What is written and not sent yet counts against the claim: a claim that takes replies,
        # or rows held back, does not make the sender write ahead of what it sends.
        unsent = (select(OutboxMessage.id).where(OutboxMessage.status == "pending", OutboxMessage.channel == channel,
                                                 OutboxMessage.priority == PRIORITY[KIND])
                  .limit(ahead_of_sending).subquery())
        limit = min(limit, ahead_of_sending - (session.scalar(select(func.count()).select_from(unsent)) or 0))
    limit = min(limit, FEED_MAX)
    now = now or utcnow()
    written = 0
    for owner_id in owners:
        for broadcast_id, _ in _active(session, channel, owner_id):
            if limit <= 0:
                return written
            status = _hold(session, broadcast_id)
            if status == "cancelled":
                continue  # withdrawn: its queued recipients stay as they are
            if status not in ACTIVE:
                break  # being queued or cancelled right now: nothing after it goes first
            count, taken = _feed_broadcast(session, content, broadcast_id, channel, owner_id, limit, now,
                                           PRIORITY[KIND])
            written += count
            limit -= taken
            if status == "queuing" or _waiting(session, broadcast_id, channel, owner_id):
                break  # its recipients first (more may come, or another sender holds some)
    return written


def _waiting(session: Session, broadcast_id: int, channel: str, owner_id: int | None) -> bool:
    """Queued recipients left (including rows another sender holds at the moment)."""
    where = [BroadcastQueued.broadcast_id == broadcast_id, BroadcastQueued.channel == channel]
    if owner_id is not None:
        where.append(BroadcastQueued.owner_id == owner_id)
    return session.scalar(select(exists().where(*where))) or False


def _feed_broadcast(session: Session, content: Content, broadcast_id: int, channel: str, owner_id: int | None,
                    limit: int, now: datetime, priority: int) -> tuple[int, int]:
    """Write up to `limit` queued recipients' messages of one broadcast; returns (messages written,
    queue rows taken)."""
    Q = BroadcastQueued
    where = [Q.broadcast_id == broadcast_id, Q.channel == channel]
    if owner_id is not None:
        where.append(Q.owner_id == owner_id)
    postgres = session.get_bind().dialect.name == "postgresql"
    # PostgreSQL deletes the rows it locked by their physical address: a table filled a moment ago
    # has no statistics yet, and the planner would read the broadcast's whole key range to find them.
    tid = literal_column("broadcast_queue.ctid" if postgres else "NULL").label("tid")
    query = (select(Q.owner_id.label("queued_owner"), tid, *OWNER_COLUMNS)
             .select_from(Q).outerjoin(Owner, Owner.id == Q.owner_id)
             .where(*where).order_by(Q.owner_id).limit(limit))
    if postgres:
        query = query.with_for_update(skip_locked=True, of=Q)
    rows = session.execute(query).all()
    if not rows:
        return 0, 0
    try:
        renderer: Renderer | BroadcastError = _renderer(session, content, broadcast_id)
    except BroadcastError as exc:  # the broadcast's own template or event broke since it was queued
        renderer = exc
    messages = []
    for row in rows:
        if row.id is None:
            continue  # the owner was erased meanwhile: nothing to write, nobody to send to
        message = {"owner_id": row.id, "channel": row.channel, "address": row.address, "kind": KIND,
                   "priority": priority, "text": "", "options": [], "template_vars": {TEXT_OF: broadcast_id},
                   "dedupe_key": f"bc:{broadcast_id}:{row.id}", "status": "pending", "attempts": 0,
                   "error": None, "created_at": now, "updated_at": now}
        try:
            if isinstance(renderer, BroadcastError):
                raise renderer
            text, options, template_vars = renderer.render(row)
        except BroadcastError as exc:
            message.update(status="unsendable", error=str(exc))
        else:
            message.update(text=text, options=list(options), template_vars={TEXT_OF: broadcast_id, **template_vars})
        messages.append(message)
    failed = {m["owner_id"] for m in messages if m["status"] == "unsendable"}
    if failed:
        log.warning("broadcast %s: the message cannot be written for owners %s; recorded unsendable",
                    broadcast_id, sorted(failed)[:20])
    if postgres:
        return _write_postgres(session, broadcast_id, messages, [str(row.tid) for row in rows], now), len(rows)
    outbox = OutboxMessage.__table__
    made = []
    if messages:
        made = session.execute(sqlite_insert(outbox).on_conflict_do_nothing(index_elements=["dedupe_key"])
                               .returning(outbox.c.id, outbox.c.owner_id), messages).all()
    if made:
        session.execute(sqlite_insert(BroadcastRecipient.__table__).on_conflict_do_nothing(
            index_elements=["broadcast_id", "owner_id"]),
            [{"broadcast_id": broadcast_id, "owner_id": owner, "outbox_id": outbox_id} for outbox_id, owner in made])
    session.execute(delete(Q).where(Q.broadcast_id == broadcast_id, Q.channel == channel,
                                    Q.owner_id.in_([row.queued_owner for row in rows]))
                    .execution_options(synchronize_session=False))
    return sum(1 for _, owner in made if owner not in failed), len(rows)


# PostgreSQL: the outbox rows, their recipients rows and the queue rows' deletion in one statement,
# the messages passed as one array per column (a multi-row VALUES of 80 rows x 14 columns cost more
# to build and parse than the database took to write them). The queue rows go by the physical
# address of the rows locked above: a table filled a moment ago has no statistics yet, and the
# planner would read the broadcast's whole key range to find them by key.
_WRITE_POSTGRES = sql_text("""
WITH message AS (
  SELECT * FROM unnest(CAST(:owner_id AS integer[]), CAST(:channel AS varchar[]), CAST(:address AS varchar[]),
                       CAST(:text AS text[]), CAST(:options AS json[]), CAST(:template_vars AS json[]),
                       CAST(:dedupe_key AS varchar[]), CAST(:status AS varchar[]), CAST(:error AS text[]))
    AS m(owner_id, channel, address, text, options, template_vars, dedupe_key, status, error)
), written AS (
  INSERT INTO outbox (owner_id, channel, address, kind, priority, text, options, template_vars, dedupe_key, status,
                      attempts, error, created_at, updated_at)
  SELECT owner_id, channel, address, :kind, :priority, text, options, template_vars, dedupe_key, status, 0, error,
         :now, :now FROM message
  ON CONFLICT (dedupe_key) DO NOTHING
  RETURNING id, owner_id, status
), linked AS (
  INSERT INTO broadcast_recipients (broadcast_id, owner_id, outbox_id) SELECT :broadcast_id, owner_id, id FROM written
  ON CONFLICT DO NOTHING
), taken AS (
  DELETE FROM broadcast_queue WHERE ctid = ANY(CAST(:tids AS tid[]))
)
SELECT count(*) FROM written WHERE status = 'pending'
""").bindparams(bindparam("now", type_=UTCDateTime()))


def _write_postgres(session: Session, broadcast_id: int, messages: list[dict[str, Any]], tids: list[str],
                    now: datetime) -> int:
    from bot.pipeline import PRIORITY

    columns = {name: [m[name] for m in messages] for name in ("owner_id", "channel", "address", "text", "dedupe_key",
                                                                "status", "error")}
    columns["options"] = [json.dumps(m["options"], ensure_ascii=False) for m in messages]
    columns["template_vars"] = [json.dumps(m["template_vars"], ensure_ascii=False) for m in messages]
    return session.scalar(_WRITE_POSTGRES, {**columns, "kind": KIND, "priority": PRIORITY[KIND], "now": now,
                                            "broadcast_id": broadcast_id, "tids": tids}) or 0


def has_queued(session: Session, channel: str, wrote_since: datetime | None = None) -> bool:
    """Are there recipients of this channel (who wrote since `wrote_since`, when given) whose
    broadcast messages are still to be written?"""
    waiting = exists().where(BroadcastQueued.broadcast_id == Broadcast.id, BroadcastQueued.channel == channel)
    if wrote_since is not None:
        waiting = exists().where(BroadcastQueued.broadcast_id == Broadcast.id, BroadcastQueued.channel == channel,
                                 BroadcastQueued.owner_id == Owner.id, Owner.last_inbound_at >= wrote_since)
    return session.scalar(select(Broadcast.id).where(Broadcast.status.in_(ACTIVE), waiting).limit(1)) is not None


def needs_text(row) -> bool:
    """An outbox row of a broadcast whose words are still to be written for its owner: rows queued
    before the recipients queue (migration bcast_0001) were written without their text."""
    return row.kind == KIND and not row.text and isinstance(row.template_vars, dict) and TEXT_OF in row.template_vars


def _renderer(session: Session, content: Content, broadcast_id: int) -> Renderer:
    """The broadcast's renderer, made once per transaction (a sender's claim writes many rows of
    one broadcast; the next claim reads the broadcast and its event afresh)."""
    kept = session.info.setdefault("broadcast_renderers", {})
    key = (id(content), broadcast_id)
    if key not in kept:
        broadcast = session.get(Broadcast, broadcast_id)
        try:
            if broadcast is None:
                raise BroadcastError([f"There is no broadcast {broadcast_id}."])
            kept[key] = Renderer(content, broadcast.template, broadcast.template_en,
                                 _load_event(session, broadcast.event_id))
        except BroadcastError as exc:
            kept[key] = exc
    if isinstance(kept[key], BroadcastError):
        raise kept[key]
    return kept[key]


def write_text(session: Session, row: OutboxMessage, owner: Owner | None, content: Content | None = None) -> str | None:
    """Write a broadcast row's text, options and WhatsApp template variables for its owner (the
    sender calls this when it claims the row). Returns None when written, else the reason the
    message cannot be written (the sender records the row unsendable with it)."""
    if owner is None:
        return "the owner no longer exists"
    content = content or get_content()
    broadcast_id = int(row.template_vars[TEXT_OF])
    try:
        text, options, template_vars = _renderer(session, content, broadcast_id).render(owner)
    except BroadcastError as exc:
        return str(exc)
    row.text, row.options = text, list(options)
    row.template_vars = {TEXT_OF: broadcast_id, **template_vars}
    return None


def write_texts(session: Session, rows: list[OutboxMessage], content: Content | None = None) -> list[OutboxMessage]:
    """`write_text` for rows read outside the sender (console, web chat); returns the rows that can
    be shown, and records the others unsendable with their reason."""
    waiting = [row for row in rows if needs_text(row)]
    if not waiting:
        return rows
    owners = {o.id: o for o in session.scalars(select(Owner).where(Owner.id.in_({r.owner_id for r in waiting})))}
    shown = []
    for row in rows:
        problem = write_text(session, row, owners.get(row.owner_id), content) if needs_text(row) else None
        if problem is None:
            shown.append(row)
        else:
            row.status, row.error, row.updated_at = "unsendable", problem, utcnow()
    return shown


def send_now(db: Database, content: Content, **kwargs) -> tuple[Broadcast, Plan]:
    """Create and queue at once (what `umkm-bot broadcast send` does without --at)."""
    on_chunk = kwargs.pop("on_chunk", None)
    with db.session() as session:
        broadcast, checked = create(session, content, **kwargs)
    enqueue(db, content, broadcast.id, now=kwargs.get("now"), on_chunk=on_chunk)
    return broadcast, checked


def cancel(db: Database, broadcast_id: int, now: datetime | None = None) -> int:
    """Stop a broadcast: nothing more is queued or written, and outbox rows the sender has not
    claimed are withdrawn. Returns how many recipients were withdrawn (outbox rows not claimed, and
    recipients whose message was not written yet: they stay in the queue as the record of it)."""
    now = now or utcnow()
    with db.session() as session:
        # The lock waits for a sender writing this broadcast's messages (`_hold`): what it wrote is
        # in the outbox when the UPDATE below runs.
        broadcast = _lock_broadcast(session, broadcast_id)
        if broadcast is None:
            raise BroadcastError([f"There is no broadcast {broadcast_id}."])
        if broadcast.status == "cancelled":
            return 0
        withdrawn = session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == "pending",
                   OutboxMessage.id.in_(select(BroadcastRecipient.outbox_id)
                                        .where(BroadcastRecipient.broadcast_id == broadcast_id)))
            .values(status="cancelled", updated_at=now)
            .execution_options(synchronize_session=False)
        ).rowcount or 0
        withdrawn += _count_queued(session, broadcast_id)
        broadcast.status = "cancelled"
        broadcast.cancelled_at = now
        broadcast.cancelled_count = (broadcast.cancelled_count or 0) + withdrawn
    log.info("broadcast %s cancelled, %s recipients withdrawn", broadcast_id, withdrawn)
    return withdrawn


def sweep_due(db: Database, content: Content, now: datetime | None = None) -> list[int]:
    """Queue every scheduled broadcast whose time has come, and finish any whose queueing was
    interrupted. Called by the scheduler every minute (and by `umkm-bot events tick`)."""
    now = now or utcnow()
    with db.session() as session:
        due = session.execute(
            select(Broadcast.id).where(
                ((Broadcast.status == "scheduled") & (Broadcast.scheduled_at <= now)) | (Broadcast.status == "queuing")
            ).order_by(Broadcast.scheduled_at, Broadcast.id)
        ).scalars().all()
    done = []
    for broadcast_id in due:
        try:
            enqueue(db, content, broadcast_id, now=now)
            done.append(broadcast_id)
        except BroadcastError as exc:
            log.warning("broadcast %s not sent: %s", broadcast_id, exc)
    return done


def sweep_job(services) -> list[int]:
    """The scheduler's job (bot/scheduler.py), every minute."""
    return sweep_due(services.db, services.content)


# --- progress ------------------------------------------------------------------------------------

PROGRESS_STATES = ("queued", "sent", "delivered", "read", "failed", "cancelled")
_STATE_OF = {"pending": "queued", "sending": "queued", "sent": "sent", "delivered": "delivered", "read": "read",
             "failed": "failed", "unsendable": "failed", "cancelled": "cancelled"}


_PER_OWNER = re.compile(r" \((?:last message from the owner [^)]*|the owner never wrote)\)")


def not_delivered(session: Session, broadcast_id: int) -> list[dict[str, Any]]:
    """Why messages of a broadcast did not go out: one entry per reason (unsendable or failed),
    with how many and which owners, so staff read the cause rather than "failed 2"."""
    rows = session.execute(
        select(OutboxMessage.status, OutboxMessage.error, OutboxMessage.owner_id, OutboxMessage.channel)
        .join(BroadcastRecipient, BroadcastRecipient.outbox_id == OutboxMessage.id)
        .where(BroadcastRecipient.broadcast_id == broadcast_id,
               OutboxMessage.status.in_(("unsendable", "failed")))
        .order_by(OutboxMessage.id)
    ).all()
    grouped: dict[tuple[str, str, str], dict[str, Any]] = {}
    for status, error, owner_id, channel in rows:
        reason = _PER_OWNER.sub("", error or "no reason recorded").strip()
        entry = grouped.setdefault((status, channel, reason), {"status": status, "channel": channel,
                                                               "reason": reason, "count": 0, "owner_ids": []})
        entry["count"] += 1
        entry["owner_ids"].append(owner_id)
    return sorted(grouped.values(), key=lambda e: -e["count"])


def progress(session: Session, broadcast_id: int) -> dict[str, int]:
    """A broadcast's recipients by state; "total" and "done" (left the queue) added. A recipient
    whose message is not written yet is "queued" ("cancelled" once the broadcast is); a written one
    counts by its outbox row: "sent" and beyond only once the provider accepted it."""
    counts = {state: 0 for state in PROGRESS_STATES}
    rows = session.execute(
        select(OutboxMessage.status, func.count())
        .join(BroadcastRecipient, BroadcastRecipient.outbox_id == OutboxMessage.id)
        .where(BroadcastRecipient.broadcast_id == broadcast_id)
        .group_by(OutboxMessage.status)
    )
    for status, count in rows:
        state = _STATE_OF.get(status, "queued")
        counts[state] += count
    unwritten = _count_queued(session, broadcast_id)
    if unwritten:
        cancelled = session.scalar(select(Broadcast.status).where(Broadcast.id == broadcast_id)) == "cancelled"
        counts["cancelled" if cancelled else "queued"] += unwritten
    counts["total"] = sum(counts[s] for s in PROGRESS_STATES)
    counts["done"] = counts["total"] - counts["queued"]
    return counts
