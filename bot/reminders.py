"""Reminders: rows with a due time that features schedule and one sweep hands to the outbox.

Why rows and a sweep, not one APScheduler job per owner: jobs in a scheduler's memory vanish on a
restart, APScheduler drops runs that miss their grace time, and a second scheduler process would
fire them twice. Here the database is the truth:

- Features call `schedule(...)` (or a helper below) inside their own transaction. A reminder is
  named by its `dedupe_key`, so scheduling it again moves it instead of adding a second one.
- `sweep_due()` claims due rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises
  writers anyway), decides each row's fate (send, opted out, kind off, expired, failed) and marks
  it, all in one transaction per chunk of 25,000 rows. A row to send keeps the occurrence to send
  in `send_occurrence`. The work is set-based: one statement per chunk on PostgreSQL (a few on
  SQLite, through a temporary table), whatever the number of owners, and no Python per owner; no
  text is rendered. A crash before commit leaves the rows pending; after commit they are never
  claimed again. Rows that fell due while the scheduler was down are simply due now: each is sent
  once.
- The sweep writes no outbox row: the outbox's indexes and foreign key made 100,000 such rows
  the larger half of a sweep. The sender (`feed_outbox`, called at the start of each claim)
  writes the marked rows' messages, about as fast as it sends them, with the unique outbox key
  "reminder:<id>:<occurrence>", and clears the marks in the same transaction: each occurrence
  becomes one message, whatever crashes where. From there the outbox's rules apply (quiet hours,
  per-owner order, opt-out at send time, exactly-once sending).
- Quiet hours (20:00-07:00 Asia/Jakarta by default): the sweep claims nothing, so due rows wait
  and go out at 07:00.
- Opt-out: `owners.opted_out_at` (BERHENTI) suppresses every reminder, a `ReminderOptOut` row one
  kind. Suppressed rows are marked, not deleted, so "pengingat saya" and staff can see why.

Kinds are a registry (`register_kind`) so other areas add theirs (the broadcasts area adds
training-event reminders) without touching the sweep.
"""
from __future__ import annotations

import calendar
import hashlib
import json
import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, case, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from bot.clock import JAKARTA, as_utc, utcnow
from bot.content import Content, content_check
from storage.models.reminders import Reminder, ReminderOptOut
from storage.types import UTCDateTime

log = logging.getLogger(__name__)

RULES_FILE = "gmp/reminders.yaml"
OUTBOX_KIND = "reminder"
OUTBOX_PRIORITY = 10  # after replies (0): a reminder may wait a few seconds behind a conversation
# Rows per committed chunk: one statement each, whatever the size. 25,000 measured 10-15% faster
# than 10,000 for 100,000 owners (fewer statements); a chunk holds its rows' locks about 0.4 s.
DEFAULT_BATCH = 25_000
MAX_KEY = 128


# --- kinds -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class ReminderKind:
    """What a kind of reminder says and whether it comes back.

    `text_key` is rendered with the row's payload (plus whatever `variables` derives from it in
    the owner's language). `repeat_days` (a number or a function of the content) re-arms the row
    that many days after it was sent, instead of finishing it. `label_key` names the kind in
    "pengingat saya" and when turning it off.
    """

    name: str
    text_key: str
    label_key: str
    repeat_days: int | Callable[[Content], int | None] | None = None
    variables: Callable[[Content, str, Mapping[str, Any]], dict[str, Any]] | None = None

    def render(self, content: Content, lang: str, payload: Mapping[str, Any]) -> str:
        values = dict(payload)
        if self.variables is not None:
            values.update(self.variables(content, lang, payload))
        return content.t(self.text_key, lang, **values)

    def repeat(self, content: Content) -> timedelta | None:
        days = self.repeat_days(content) if callable(self.repeat_days) else self.repeat_days
        return timedelta(days=days) if days else None


KINDS: dict[str, ReminderKind] = {}


def register_kind(kind: ReminderKind) -> ReminderKind:
    """Add (or replace) a reminder kind. Other areas call this at import time."""
    KINDS[kind.name] = kind
    return kind


def get_kind(name: str) -> ReminderKind:
    try:
        return KINDS[name]
    except KeyError:
        raise ValueError(f"unknown reminder kind {name!r}; register it with bot.reminders.register_kind") from None


def rules(content: Content) -> dict[str, Any]:
    return content.data(RULES_FILE) or {}


def _localised(value: Any, lang: str) -> str:
    """A payload value that may be a plain string or {"id": ..., "en": ...}."""
    if isinstance(value, Mapping):
        return str(value.get(lang) or value.get("id") or next(iter(value.values()), ""))
    return "" if value is None else str(value)


def _date_text(value: Any) -> str:
    """ISO date -> "31-05-2031": the day-month-year order owners use, same in both languages."""
    try:
        return date.fromisoformat(str(value)[:10]).strftime("%d-%m-%Y")
    except ValueError:
        return str(value)


def _self_check_vars(content: Content, lang: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    from bot.gmp import load_checklist

    checklist = load_checklist(content, str(payload.get("checklist") or "cppb_irt"))
    return {"checklist": checklist.short[lang] if lang in checklist.short else checklist.short["id"],
            "level": payload.get("level") or "-"}


def _permit_vars(content: Content, lang: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    permit = str(payload.get("permit") or "")
    return {
        "permit": content.t(f"gmp.permit_name.{permit}", lang) if content.has(f"gmp.permit_name.{permit}", lang) else permit,
        "expires": _date_text(payload.get("expires_on")),
    }


def _stalled_vars(content: Content, lang: str, payload: Mapping[str, Any]) -> dict[str, Any]:
    return {"step": _localised(payload.get("step_label") or payload.get("step"), lang),
            "since": _date_text(payload.get("since"))}


register_kind(ReminderKind("self_check", "gmp.reminder.self_check", "gmp.reminder_kind.self_check",
                           variables=_self_check_vars))
register_kind(ReminderKind("permit_renewal", "gmp.reminder.permit_renewal", "gmp.reminder_kind.permit_renewal",
                           variables=_permit_vars))
register_kind(ReminderKind("stalled_step", "gmp.reminder.stalled_step", "gmp.reminder_kind.stalled_step",
                           repeat_days=lambda content: int(rules(content)["stalled_step"]["repeat_days"]),
                           variables=_stalled_vars))


# --- time helpers ------------------------------------------------------------------------------
@dataclass(frozen=True)
class QuietHours:
    """No reminder between `start_hour` and `end_hour` local time (the window may cross midnight)."""

    start_hour: int = 20
    end_hour: int = 7
    tz: ZoneInfo = JAKARTA

    @classmethod
    def from_settings(cls, settings) -> "QuietHours":
        return cls(settings.quiet_start_hour, settings.quiet_end_hour, ZoneInfo(settings.timezone))

    def active(self, now: datetime) -> bool:
        hour = as_utc(now).astimezone(self.tz).hour
        if self.start_hour == self.end_hour:
            return False
        if self.start_hour > self.end_hour:
            return hour >= self.start_hour or hour < self.end_hour
        return self.start_hour <= hour < self.end_hour

    def ends_after(self, now: datetime) -> datetime:
        """When the current (or next) quiet window ends, in UTC."""
        local = as_utc(now).astimezone(self.tz)
        end = local.replace(hour=self.end_hour, minute=0, second=0, microsecond=0)
        if end <= local:
            end += timedelta(days=1)
        return as_utc(end)


def _clock(value: str) -> time:
    hour, minute = str(value).split(":")
    return time(int(hour), int(minute))


def local_moment(day: date, at: time, tz: ZoneInfo = JAKARTA) -> datetime:
    return as_utc(datetime.combine(day, at, tzinfo=tz))


def add_months(day: date, months: int) -> date:
    month_index = day.year * 12 + day.month - 1 + months
    year, month = divmod(month_index, 12)
    month += 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _send_time(content: Content) -> time:
    return _clock(rules(content).get("send_at", "09:00"))


# --- scheduling --------------------------------------------------------------------------------
def schedule(session: Session, owner_id: int, kind: str, due_at: datetime, key: str, *,
             subject: str = "", payload: Mapping[str, Any] | None = None,
             expires_at: datetime | None = None, rearm: bool = True, now: datetime | None = None) -> Reminder:
    """Create or move the reminder named `key`.

    A pending one is moved to the new time. One already sent (or suppressed, cancelled...) is
    armed again as a new occurrence when `rearm` is true (the next self-check after another
    check), and left alone when false (the same renewal date scheduled twice sends once).
    Runs inside the caller's transaction; the owner's turn lock keeps two writers of one key apart.
    """
    get_kind(kind)
    if len(key) > MAX_KEY:
        raise ValueError(f"reminder key longer than {MAX_KEY} characters: {key[:40]}...")
    now = now or utcnow()
    row = session.scalar(select(Reminder).where(Reminder.dedupe_key == key))
    if row is None:
        row = Reminder(owner_id=owner_id, kind=kind, dedupe_key=key, subject=subject[:96],
                       due_at=as_utc(due_at), expires_at=expires_at, status="pending",
                       occurrence=0, snooze_count=0, payload=dict(payload or {}),
                       created_at=now, updated_at=now)
        session.add(row)
        session.flush()
        return row
    if row.status != "pending" and not rearm:
        return row
    if row.status != "pending":
        row.occurrence += 1
        row.status = "pending"
        row.outcome = None
    row.due_at = as_utc(due_at)
    row.expires_at = expires_at
    row.subject = subject[:96]
    row.payload = dict(payload or {})
    row.updated_at = now
    session.flush()
    return row


def cancel(session: Session, owner_id: int, *, key: str | None = None, subject: str | None = None,
           kind: str | None = None, except_key: str | None = None, now: datetime | None = None) -> int:
    """Cancel an owner's pending reminders by key, subject and/or kind. Returns how many."""
    query = update(Reminder).where(Reminder.owner_id == owner_id, Reminder.status == "pending")
    if key is not None:
        query = query.where(Reminder.dedupe_key == key)
    if except_key is not None:
        query = query.where(Reminder.dedupe_key != except_key)
    if subject is not None:
        query = query.where(Reminder.subject == subject)
    if kind is not None:
        query = query.where(Reminder.kind == kind)
    result = session.execute(query.values(status="cancelled", outcome="cancelled", updated_at=now or utcnow())
                              .execution_options(synchronize_session=False))
    return result.rowcount or 0


def schedule_next_self_check(session: Session, content: Content, owner_id: int, checklist: str,
                             level: str, completed_at: datetime) -> Reminder:
    """After a finished self-check: remind on the day its level's interval ends."""
    from bot.gmp import load_levels

    days = load_levels(content).get(level).remind_after_days
    day = as_utc(completed_at).astimezone(JAKARTA).date() + timedelta(days=days)
    return schedule(session, owner_id, "self_check", local_moment(day, _send_time(content)),
                    f"self_check:{owner_id}", subject="gmp:self_check",
                    payload={"checklist": checklist, "level": level}, rearm=True, now=completed_at)


def permit_rule(content: Content, permit: str) -> tuple[str, dict] | None:
    """The renewal rule for a permit name or alias ("pirt", "P-IRT", "notifikasi"), if any."""
    wanted = permit.strip().lower()
    for name, rule in (rules(content).get("permit_renewal") or {}).items():
        if wanted == name or wanted in [str(a).lower() for a in rule.get("aliases") or []]:
            return name, rule
    return None


def schedule_permit_renewal(session: Session, content: Content, owner_id: int, permit: str,
                            expires_on: date, ref: str = "", now: datetime | None = None) -> Reminder | None:
    """Remind the owner to renew a permit some months before it expires (P-IRT 6, cosmetics
    notification 3: content/gmp/reminders.yaml). The legality area calls this when a permit with
    an expiry is recorded; calling it again for the same permit and date changes nothing, and a
    new expiry (the permit was renewed) replaces the old reminder. Returns None for permits with
    no renewal rule (halal certificates do not expire)."""
    found = permit_rule(content, permit)
    if found is None:
        return None
    name, rule = found
    now = now or utcnow()
    due = local_moment(add_months(expires_on, -int(rule["months_before"])), _send_time(content))
    due = max(due, now)  # recorded late: remind at the next sweep
    ref_part = hashlib.sha1(ref.encode()).hexdigest()[:12] if ref else "-"
    subject = f"permit:{name}:{ref_part}"
    key = f"permit_renewal:{owner_id}:{name}:{ref_part}:{expires_on.isoformat()}"
    # A new expiry for the same permit (it was renewed) replaces the reminder for the old one.
    cancel(session, owner_id, subject=subject, kind="permit_renewal", except_key=key, now=now)
    return schedule(session, owner_id, "permit_renewal", due, key, subject=subject,
                    payload={"permit": name, "expires_on": expires_on.isoformat()}, rearm=False, now=now)


def note_pathway_progress(session: Session, content: Content, owner_id: int, pathway: str,
                          step: str, step_label: Any = None, at: datetime | None = None) -> Reminder:
    """A legality pathway step moved (or started). Remind after 14 days without further progress,
    then at most every 30 days (content/gmp/reminders.yaml). Call again on every progress."""
    at = at or utcnow()
    rule = rules(content)["stalled_step"]
    key = f"stalled_step:{owner_id}:{pathway}"[:MAX_KEY]
    due = at + timedelta(days=int(rule["after_days"]))
    existing = session.scalar(select(Reminder).where(Reminder.dedupe_key == key))
    if existing is not None and existing.last_queued_at is not None:
        # "No more than monthly" holds across steps too: progress does not reset that clock.
        due = max(due, as_utc(existing.last_queued_at) + timedelta(days=int(rule["repeat_days"])))
    payload = {"step": step, "step_label": step_label or step, "since": as_utc(at).astimezone(JAKARTA).date().isoformat()}
    return schedule(session, owner_id, "stalled_step", due, key, subject=f"pathway:{pathway}"[:96],
                    payload=payload, rearm=True, now=at)


def pathway_finished(session: Session, owner_id: int, pathway: str, now: datetime | None = None) -> int:
    return cancel(session, owner_id, key=f"stalled_step:{owner_id}:{pathway}"[:MAX_KEY], now=now)


# --- owner controls ----------------------------------------------------------------------------
def set_kind_enabled(session: Session, owner_id: int, kind: str, enabled: bool) -> None:
    get_kind(kind)
    row = session.scalar(select(ReminderOptOut).where(ReminderOptOut.owner_id == owner_id,
                                                      ReminderOptOut.kind == kind))
    if enabled and row is not None:
        session.delete(row)
    elif not enabled and row is None:
        session.add(ReminderOptOut(owner_id=owner_id, kind=kind, created_at=utcnow()))
    session.flush()


def kinds_off(session: Session, owner_id: int) -> set[str]:
    return set(session.scalars(select(ReminderOptOut.kind).where(ReminderOptOut.owner_id == owner_id)))


def upcoming(session: Session, owner_id: int, limit: int = 10) -> list[Reminder]:
    return list(session.scalars(
        select(Reminder).where(Reminder.owner_id == owner_id, Reminder.status == "pending")
        .order_by(Reminder.due_at, Reminder.id).limit(limit)))


def last_queued(session: Session, owner_id: int, now: datetime, within: timedelta = timedelta(days=7)) -> Reminder | None:
    return session.scalar(
        select(Reminder).where(Reminder.owner_id == owner_id, Reminder.last_queued_at.is_not(None),
                               Reminder.last_queued_at >= now - within)
        .order_by(Reminder.last_queued_at.desc(), Reminder.id.desc()).limit(1))


def snooze(session: Session, content: Content, owner_id: int, now: datetime | None = None,
           days: int = 1) -> Reminder | None:
    """"ingatkan besok": bring back the reminder the owner got most recently (within a week)
    tomorrow at the snooze time, as a new occurrence. None when nothing was sent lately."""
    now = now or utcnow()
    row = last_queued(session, owner_id, now)
    if row is None:
        return None
    at = _clock((rules(content).get("snooze") or {}).get("next_day_at", "09:00"))
    day = as_utc(now).astimezone(JAKARTA).date() + timedelta(days=days)
    row.due_at = local_moment(day, at)
    row.status = "pending"
    row.outcome = None
    row.occurrence += 1
    row.snooze_count += 1
    row.updated_at = now
    session.flush()
    return row


# --- the sweep ---------------------------------------------------------------------------------
@dataclass
class SweepReport:
    queued: int = 0
    suppressed: int = 0
    expired: int = 0
    failed: int = 0
    batches: int = 0
    quiet_until: datetime | None = None  # set when the sweep did nothing because of quiet hours
    handled_ids: list[int] = field(default_factory=list)  # only filled with collect_ids=True

    @property
    def handled(self) -> int:
        return self.queued + self.suppressed + self.expired + self.failed

    def count(self, verdict: str, n: int) -> None:
        status = VERDICT_STATUS.get(verdict)
        if verdict == "send":
            self.queued += n
        elif status == "suppressed":
            self.suppressed += n
        elif status == "expired":
            self.expired += n
        elif status == "failed":
            self.failed += n


# What the sweep decides for each claimed row (the first that applies), and the row's new status;
# the verdict is also its `outcome`. ("render_error" is decided later, by the sender writing the
# message: see `feed_outbox`.)
VERDICT_STATUS = {"send": "queued", "opted_out": "suppressed", "kind_off": "suppressed", "expired": "expired",
                  "unknown_kind": "failed", "render_error": "failed"}
MAX_CACHED_TEXTS = 20_000

# The oldest due rows no other sweeper holds (PostgreSQL: SKIP LOCKED; SQLite's BEGIN IMMEDIATE
# lets one writer in at a time). Only `reminders` rows are locked, so owners' turns never wait.
# Each chunk starts at the due time where the last one ended (`:after`), so the index scan does not
# walk again over the entries of rows the sweep has just marked (dead until vacuumed).
# A row whose previous occurrence still waits for the sender to write it (a snoozed or repeating
# reminder while no sender runs) waits too: its mark names one occurrence, never two.
_DUE = ("SELECT id, owner_id, kind, expires_at, due_at FROM reminders"
        " WHERE status = 'pending' AND due_at <= :now AND due_at >= :after AND send_occurrence IS NULL"
        " ORDER BY due_at LIMIT :limit{lock}")

# Every claimed row with its verdict, in one set-based SELECT: no Python per owner.
_FACTS = (
    "SELECT r.id, r.due_at,"
    " CASE"
    "  WHEN o.id IS NULL OR o.opted_out_at IS NOT NULL THEN 'opted_out'"
    "  WHEN x.owner_id IS NOT NULL THEN 'kind_off'"
    "  WHEN r.expires_at IS NOT NULL AND r.expires_at <= :now THEN 'expired'"
    "  WHEN r.kind NOT IN :kinds THEN 'unknown_kind'"
    "  ELSE 'send' END AS verdict,"
    " {next_due} AS next_due"
    " FROM ({due}) AS r"
    " LEFT JOIN owners o ON o.id = r.owner_id"
    " LEFT JOIN reminder_opt_outs x ON x.owner_id = r.owner_id AND x.kind = r.kind"
)
# Repeating kinds are re-armed as the next occurrence (after downtime they still go out once, then
# wait); the others are finished with their verdict. A row to send keeps the occurrence to send in
# `send_occurrence` until the sender has written its message.
_MARK = (
    "UPDATE reminders AS r SET"
    " status = CASE f.verdict WHEN 'send' THEN (CASE WHEN f.next_due IS NULL THEN 'queued' ELSE 'pending' END)"
    "  WHEN 'opted_out' THEN 'suppressed' WHEN 'kind_off' THEN 'suppressed' WHEN 'expired' THEN 'expired'"
    "  ELSE 'failed' END,"
    " outcome = CASE WHEN f.verdict = 'send' THEN NULL ELSE f.verdict END,"
    " last_queued_at = CASE WHEN f.verdict = 'send' THEN :now ELSE r.last_queued_at END,"
    " send_occurrence = CASE WHEN f.verdict = 'send' THEN r.occurrence ELSE r.send_occurrence END,"
    " due_at = CASE WHEN f.verdict = 'send' AND f.next_due IS NOT NULL THEN f.next_due ELSE r.due_at END,"
    " occurrence = CASE WHEN f.verdict = 'send' AND f.next_due IS NOT NULL THEN r.occurrence + 1"
    "  ELSE r.occurrence END,"
    " updated_at = :now"
    " FROM {facts} AS f WHERE r.id = f.id{by_id}"
)
# Before any chunk: the first chunk starts at the oldest due row.
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def outbox_key(reminder_id: int, occurrence: int) -> str:
    return f"reminder:{reminder_id}:{occurrence}"


def _sql(statement: str, binds: list):
    """text() with the typed parameters it uses."""
    return sql_text(statement).bindparams(*[b for b in binds if f":{b.key}" in statement])


def _render(content: Content, kind_name: str, lang: str, payload_json: str) -> str | None:
    kind = KINDS.get(kind_name)
    if kind is None:
        return None  # the kind is gone (its area no longer registers it)
    try:
        payload = json.loads(payload_json) if payload_json else {}
        return kind.render(content, lang, payload or {})
    except Exception:  # a content mistake must not stop every other owner's reminder
        log.exception("reminder text %s (%s, %s) could not be rendered", kind_name, lang, payload_json)
        return None


class _Statements:
    """The sweep's statements for one dialect and one set of kinds. PostgreSQL runs a chunk as one
    statement (the verdicts in a CTE that the reminders UPDATE reads); SQLite, which has no
    data-modifying CTE, keeps the same SELECT in a temporary table and runs the same UPDATE from it."""

    def __init__(self, dialect: str, content: Content, now: datetime, collect_ids: bool):
        postgres = dialect == "postgresql"
        self.postgres = postgres
        due = _DUE.format(lock=" FOR UPDATE SKIP LOCKED" if postgres else "")
        self.params: dict[str, Any] = {"now": now, "kinds": sorted(KINDS)}
        binds = [bindparam("now", type_=UTCDateTime()), bindparam("after", type_=UTCDateTime()),
                 bindparam("kinds", expanding=True)]
        cases = []
        for number, kind in enumerate(sorted(KINDS.values(), key=lambda k: k.name)):
            repeat = kind.repeat(content)
            if repeat is not None:
                cases.append(f" WHEN :repeat_kind_{number} THEN :repeat_due_{number}")
                self.params[f"repeat_kind_{number}"] = kind.name
                self.params[f"repeat_due_{number}"] = now + repeat
                binds.append(bindparam(f"repeat_due_{number}", type_=UTCDateTime()))
        next_due = f"CASE r.kind{''.join(cases)} END" if cases else "CASE WHEN 1 = 0 THEN r.due_at END"
        facts = _FACTS.format(due=due, next_due=next_due)
        # Per verdict: how many (or, for tests, which ids), and the latest due time of the chunk.
        result = ("SELECT verdict, id, due_at AS last_due FROM {f}" if collect_ids
                  else "SELECT verdict, count(*) AS n, max(due_at) AS last_due FROM {f} GROUP BY verdict")
        typed = {"last_due": UTCDateTime()}
        if postgres:
            # The chunk's rows by primary key (the planner would otherwise hash the whole table).
            by_id = " AND r.id = ANY(ARRAY(SELECT id FROM facts))"
            self.chunk = [_sql(
                f"WITH facts AS MATERIALIZED ({facts}),"
                f" marked AS ({_MARK.format(facts='facts', by_id=by_id)} RETURNING r.id) " + result.format(f="facts"),
                binds).columns(**typed)]
        else:
            self.chunk = [
                sql_text("CREATE TEMP TABLE IF NOT EXISTS reminder_sweep (id INTEGER, due_at TIMESTAMP, verdict TEXT,"
                         " next_due TIMESTAMP)"),
                sql_text("DELETE FROM reminder_sweep"),
                _sql(f"INSERT INTO reminder_sweep {facts}", binds),
                _sql(_MARK.format(facts="reminder_sweep", by_id=""), binds),
                sql_text(result.format(f="reminder_sweep")).columns(**typed),
            ]

    def run_chunk(self, session: Session, limit: int, after: datetime) -> list:
        params = {**self.params, "limit": limit, "after": after}
        if self.postgres:
            # Safe to commit without waiting for the WAL flush: nothing leaves before the sender's
            # own (synchronous) commit of the claim, which flushes this one first; a sweep lost in a
            # server crash left its rows pending, so they are swept again, still once each.
            session.execute(sql_text("SET LOCAL synchronous_commit = off"))
        for statement in self.chunk[:-1]:
            session.execute(statement, params)
        return session.execute(self.chunk[-1], params).all()


def sweep_due(db, content: Content, now: datetime | None = None, *, quiet: QuietHours | None = None,
              batch_size: int = DEFAULT_BATCH, max_batches: int | None = None,
              collect_ids: bool = False) -> SweepReport:
    """Hand every due reminder to the sender, one committed chunk of `batch_size` rows at a time.

    Each chunk is one set-based statement (PostgreSQL; a few on SQLite) that gives every row its
    verdict and marks it, whatever the number of owners; no text is rendered here. A row to send
    gets `send_occurrence`; the sender writes its outbox message, in the owner's words, when it
    claims work (`feed_outbox`). `db` is a storage.db.Database. Safe to run in several processes
    at once: each chunk claims rows the others do not hold. Returns counts (and, for tests, the
    ids it handled).
    """
    now = as_utc(now or utcnow())
    quiet = quiet or QuietHours()
    report = SweepReport()
    if quiet.active(now):
        report.quiet_until = quiet.ends_after(now)
        return report
    statements = _Statements(db.dialect, content, now, collect_ids)
    after = _EPOCH
    chunks = 0  # of this pass over the due rows
    looked_again = False
    while max_batches is None or report.batches < max_batches:
        with db.session() as session:
            rows = statements.run_chunk(session, batch_size, after)
        chunks += 1
        seen, last = 0, after
        for row in rows:
            n = 1 if collect_ids else row.n
            seen += n
            report.count(row.verdict, n)
            if collect_ids:
                report.handled_ids.append(row.id)
            last = max(last, row.last_due)
        if rows:
            report.batches += 1
        if seen >= batch_size:
            after = last  # the next chunk starts where this one ended
            continue
        # The end of the due rows. Rows another sweeper held while this pass went by them (and has
        # let go since: it rolled back, or was killed) lie behind `after`; when the pass took
        # several chunks, one more look from the start takes them now.
        if chunks > 1 and not looked_again:
            after, chunks, looked_again = _EPOCH, 0, True
            continue
        break
    if report.handled:
        log.info("reminder sweep: %d queued, %d suppressed, %d expired, %d failed in %d batches",
                 report.queued, report.suppressed, report.expired, report.failed, report.batches)
    return report


# --- writing the messages (the sender) -----------------------------------------------------------
# Marked rows, oldest first, with what their message needs. PostgreSQL locks the reminder rows it
# takes (SKIP LOCKED: two senders never write the same message; a sweep or a turn holding a row
# leaves it for the next claim).
_MARKED = ("SELECT r.id, r.owner_id, r.kind, r.send_occurrence, CAST(r.payload AS TEXT) AS payload,"
           " o.channel, o.address, COALESCE(o.lang, 'id') AS lang"
           " FROM reminders r JOIN owners o ON o.id = r.owner_id"
           " WHERE r.send_occurrence IS NOT NULL{where} ORDER BY r.id LIMIT :limit{lock}")
FEED_BATCH = 500
_FEED_TEXTS: dict[tuple[int, str, str, str], str | None] = {}


def feed_outbox(session: Session, content: Content, now: datetime | None = None, *, channel: str | None = None,
                address: str | None = None, limit: int = FEED_BATCH) -> int:
    """Write the outbox messages of up to `limit` reminders a sweep marked (of one channel, or one
    address), in the caller's transaction, and clear their marks. The sender calls this at the start
    of each claim, so marked reminders become messages at about the pace they are sent; the console
    and the web chat call it for their one owner. The message and the cleared mark commit together,
    and the outbox key "reminder:<id>:<occurrence>" refuses a second message for an occurrence
    besides. A text that cannot be written (a content mistake) becomes an `unsendable` message with
    the reason, and the reminder's outcome says `render_error`. Returns the messages written to send."""
    from sqlalchemy.dialects.postgresql import insert as pg_insert
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    from storage.models import OutboxMessage

    postgres = session.get_bind().dialect.name == "postgresql"
    where, params = "", {"limit": limit}
    if channel is not None:
        where += " AND o.channel = :channel"
        params["channel"] = channel
    if address is not None:
        where += " AND o.address = :address"
        params["address"] = address
    rows = session.execute(sql_text(_MARKED.format(where=where, lock=" FOR UPDATE OF r SKIP LOCKED" if postgres else "")),
                           params).all()
    if not rows:
        return 0
    now = as_utc(now or utcnow())
    if len(_FEED_TEXTS) > MAX_CACHED_TEXTS:
        _FEED_TEXTS.clear()
    messages, failed = [], []
    for row in rows:
        key = (id(content), row.kind, row.lang, row.payload)
        if key not in _FEED_TEXTS:
            _FEED_TEXTS[key] = _render(content, row.kind, row.lang, row.payload)
        text = _FEED_TEXTS[key]
        message = {"owner_id": row.owner_id, "channel": row.channel, "address": row.address, "kind": OUTBOX_KIND,
                   "priority": OUTBOX_PRIORITY, "text": text or "", "options": [],
                   "template_vars": {"reminder_kind": row.kind}, "dedupe_key": outbox_key(row.id, row.send_occurrence),
                   "status": "pending", "attempts": 0, "error": None, "created_at": now, "updated_at": now}
        if text is None:
            # A content mistake (or a kind no longer registered): nothing to send, and the outbox
            # says why, like a broadcast whose words cannot be written.
            message.update(status="unsendable", error=f"the text of reminder kind {row.kind!r} could not be written")
            failed.append(row.id)
        messages.append(message)
    insert = (pg_insert if postgres else sqlite_insert)(OutboxMessage.__table__)
    session.execute(insert.on_conflict_do_nothing(index_elements=["dedupe_key"]), messages)
    session.execute(update(Reminder).where(Reminder.id.in_([row.id for row in rows])).values(send_occurrence=None)
                    .execution_options(synchronize_session=False))
    if failed:
        log.error("reminders %s: their texts could not be written; recorded unsendable", failed)
        # A finished row fails with the reason; a repeating one stays armed (the content may be fixed).
        session.execute(update(Reminder).where(Reminder.id.in_(failed)).values(
            outcome="render_error", status=case((Reminder.status == "queued", "failed"), else_=Reminder.status),
            updated_at=now).execution_options(synchronize_session=False))
    return len(messages) - len(failed)


def has_marked(session: Session, channel: str | None = None) -> bool:
    """Are there reminders (of this channel) whose messages are still to be written?"""
    where = " AND o.channel = :channel" if channel is not None else ""
    return session.execute(sql_text(_MARKED.format(where=where, lock="")),
                           {"limit": 1, "channel": channel}).first() is not None


# --- content check -----------------------------------------------------------------------------
@content_check
def check_reminder_content(content: Content) -> list[str]:
    errors: list[str] = []
    try:
        data = rules(content)
    except Exception as exc:  # missing or malformed file
        return [str(exc)]
    for name, rule in (data.get("permit_renewal") or {}).items():
        where = f"{RULES_FILE}: permit_renewal.{name}"
        if not isinstance(rule.get("months_before"), int) or rule["months_before"] < 1:
            errors.append(f"{where}: months_before must be a whole number >= 1")
        if not rule.get("source") or not rule.get("last_reviewed"):
            errors.append(f"{where}: needs source and last_reviewed")
        if not content.has(f"gmp.permit_name.{name}"):
            errors.append(f"{where}: texts need gmp.permit_name.{name}")
    stalled = data.get("stalled_step") or {}
    for key in ("after_days", "repeat_days"):
        if not isinstance(stalled.get(key), int) or stalled[key] < 1:
            errors.append(f"{RULES_FILE}: stalled_step.{key} must be a whole number of days >= 1")
    for value in (data.get("send_at", "09:00"), (data.get("snooze") or {}).get("next_day_at", "09:00")):
        try:
            _clock(value)
        except (ValueError, TypeError):
            errors.append(f"{RULES_FILE}: {value!r} is not a time like 09:00")
    for kind in KINDS.values():
        for key in (kind.text_key, kind.label_key):
            if not content.has(key):
                errors.append(f"reminder kind {kind.name!r}: text {key!r} missing from texts")
    return errors
