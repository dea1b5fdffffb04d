"""Reminders: rows with a due time that features schedule and one sweep hands to the outbox.

Why rows and a sweep, not one APScheduler job per owner: jobs in a scheduler's memory vanish on a
restart, APScheduler drops runs that miss their grace time, and a second scheduler process would
fire them twice. Here the database is the truth:

- Features call `schedule(...)` (or a helper below) inside their own transaction. A reminder is
  named by its `dedupe_key`, so scheduling it again moves it instead of adding a second one.
- `sweep_due()` claims due rows with `FOR UPDATE SKIP LOCKED` (PostgreSQL; SQLite serialises
  writers anyway), writes one outbox message per row with the unique outbox key
  "reminder:<id>:<occurrence>", and marks the row, all in one transaction per batch. A crash
  before commit leaves the rows pending; after commit they are never claimed again. Rows that
  fell due while the scheduler was down are simply due now: each is sent once.
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
from datetime import date, datetime, time, timedelta
from typing import Any, Callable, Mapping
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Session

from bot.clock import JAKARTA, as_utc, utcnow
from bot.content import Content, content_check
from storage.models import OutboxMessage, Owner
from storage.models.reminders import Reminder, ReminderOptOut
from storage.types import UTCDateTime

log = logging.getLogger(__name__)

RULES_FILE = "gmp/reminders.yaml"
OUTBOX_KIND = "reminder"
OUTBOX_PRIORITY = 10  # after replies (0): a reminder may wait a few seconds behind a conversation
DEFAULT_BATCH = 1000
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
    # Rendered texts by (kind, language, payload): most reminders of a sweep share a few payloads.
    texts: dict[tuple, str] = field(default_factory=dict, repr=False)

    @property
    def handled(self) -> int:
        return self.queued + self.suppressed + self.expired + self.failed


def claim_due(session: Session, now: datetime, limit: int) -> list:
    """Lock up to `limit` due pending rows that no other sweeper holds (SKIP LOCKED).

    Only `reminders` rows are locked (no join), so owners' turns are never blocked by a sweep.
    """
    query = (
        select(Reminder.id, Reminder.owner_id, Reminder.kind, Reminder.payload, Reminder.occurrence,
               Reminder.expires_at)
        .where(Reminder.status == "pending", Reminder.due_at <= now)
        # Oldest first, in the order of the (status, due_at) index: each batch reads only its rows.
        .order_by(Reminder.due_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    return list(session.execute(query))


def _insert_ignoring_duplicates(session: Session):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    else:  # pragma: no cover - the project runs on SQLite and PostgreSQL only
        raise RuntimeError(f"unsupported database {dialect}")
    return insert(OutboxMessage.__table__).on_conflict_do_nothing(index_elements=["dedupe_key"])


# PostgreSQL: the whole batch in ONE statement. The batch's columns travel as arrays (each distinct
# text once: most owners of a kind and language read the same words), unnest() turns them back
# into rows, and the JSON columns are built by the database. The executemany it replaces was one
# INSERT and three json.dumps per reminder.
_PG_OUTBOX_INSERT = sql_text(
    "INSERT INTO outbox (owner_id, channel, address, kind, priority, text, options, template_vars,"
    " dedupe_key, status, attempts, created_at, updated_at)"
    " SELECT u.owner_id, u.channel, u.address, :kind, :priority, t.texts[u.text_no], CAST('[]' AS json),"
    " json_build_object('reminder_kind', u.reminder_kind, 'text', t.texts[u.text_no]),"
    " u.dedupe_key, 'pending', 0, :now, :now"
    " FROM unnest(CAST(:owner_ids AS integer[]), CAST(:channels AS text[]), CAST(:addresses AS text[]),"
    " CAST(:text_nos AS integer[]), CAST(:reminder_kinds AS text[]), CAST(:dedupe_keys AS text[]))"
    " AS u(owner_id, channel, address, text_no, reminder_kind, dedupe_key)"
    " CROSS JOIN (SELECT CAST(:texts AS text[]) AS texts) AS t"
    " ON CONFLICT (dedupe_key) DO NOTHING"
).bindparams(bindparam("now", type_=UTCDateTime()))


def _write_outbox(session: Session, rows: list[dict]) -> None:
    if session.get_bind().dialect.name != "postgresql":
        # SQLite runs in-process: executemany is already a tight loop there.
        session.execute(_insert_ignoring_duplicates(session), rows)
        return
    numbers: dict[str, int] = {}
    text_nos = [numbers.setdefault(row["text"], len(numbers) + 1) for row in rows]
    session.execute(_PG_OUTBOX_INSERT, {
        "kind": OUTBOX_KIND, "priority": OUTBOX_PRIORITY, "now": rows[0]["created_at"],
        "owner_ids": [row["owner_id"] for row in rows], "channels": [row["channel"] for row in rows],
        "addresses": [row["address"] for row in rows], "text_nos": text_nos,
        "reminder_kinds": [row["template_vars"]["reminder_kind"] for row in rows],
        "dedupe_keys": [row["dedupe_key"] for row in rows], "texts": list(numbers),
    })


def outbox_key(reminder_id: int, occurrence: int) -> str:
    return f"reminder:{reminder_id}:{occurrence}"


def process_claimed(session: Session, content: Content, rows: list, now: datetime,
                    report: SweepReport, collect_ids: bool = False) -> None:
    """Turn claimed rows into outbox messages (or suppress/expire them), in the caller's transaction."""
    owner_ids = {row.owner_id for row in rows}
    owners = {o.id: o for o in session.execute(
        select(Owner.id, Owner.channel, Owner.address, Owner.lang, Owner.opted_out_at).where(Owner.id.in_(owner_ids)))}
    off = set(session.execute(
        select(ReminderOptOut.owner_id, ReminderOptOut.kind).where(ReminderOptOut.owner_id.in_(owner_ids))).tuples())
    outbox_rows: list[dict] = []
    queued: list[int] = []  # finished: handed to the outbox
    rearmed: dict[timedelta, list[int]] = {}  # repeating kinds: queued, and due again after the delta
    closed: dict[tuple[str, str], list[int]] = {}  # (status, outcome): suppressed, expired, failed
    for row in rows:
        owner = owners.get(row.owner_id)
        kind = KINDS.get(row.kind)
        if collect_ids:
            report.handled_ids.append(row.id)
        if owner is None or owner.opted_out_at is not None:
            closed.setdefault(("suppressed", "opted_out"), []).append(row.id)
            report.suppressed += 1
            continue
        if (row.owner_id, row.kind) in off:
            closed.setdefault(("suppressed", "kind_off"), []).append(row.id)
            report.suppressed += 1
            continue
        if row.expires_at is not None and as_utc(row.expires_at) <= now:
            closed.setdefault(("expired", "expired"), []).append(row.id)
            report.expired += 1
            continue
        if kind is None:
            log.error("reminder %s has unregistered kind %r", row.id, row.kind)
            closed.setdefault(("failed", "unknown_kind"), []).append(row.id)
            report.failed += 1
            continue
        lang = owner.lang or "id"
        cache_key = (row.kind, lang, json.dumps(row.payload or {}, sort_keys=True))
        try:
            text = report.texts.get(cache_key)
            if text is None:
                text = report.texts[cache_key] = kind.render(content, lang, row.payload or {})
        except Exception:  # a content mistake must not stop every other owner's reminder
            log.exception("reminder %s (%s) could not be rendered", row.id, row.kind)
            closed.setdefault(("failed", "render_error"), []).append(row.id)
            report.failed += 1
            continue
        outbox_rows.append({
            "owner_id": row.owner_id, "channel": owner.channel, "address": owner.address,
            "kind": OUTBOX_KIND, "priority": OUTBOX_PRIORITY, "text": text, "options": [],
            "template_vars": {"reminder_kind": row.kind, "text": text},
            "dedupe_key": outbox_key(row.id, row.occurrence), "status": "pending",
            "attempts": 0, "created_at": now, "updated_at": now,
        })
        repeat = kind.repeat(content)
        if repeat is None:
            queued.append(row.id)
        else:
            rearmed.setdefault(repeat, []).append(row.id)
        report.queued += 1
    if outbox_rows:
        _write_outbox(session, outbox_rows)
    # One UPDATE per outcome, not per row: a batch of 500 costs a handful of statements.
    table = Reminder.__table__
    if queued:
        session.execute(table.update().where(table.c.id.in_(queued))
                        .values(status="queued", outcome=None, last_queued_at=now, updated_at=now))
    for repeat, ids in rearmed.items():
        # Re-armed as the next occurrence: after downtime it still goes out once, then waits.
        session.execute(table.update().where(table.c.id.in_(ids))
                        .values(status="pending", outcome=None, last_queued_at=now, updated_at=now,
                                due_at=now + repeat, occurrence=table.c.occurrence + 1))
    for (status, outcome), ids in closed.items():
        session.execute(table.update().where(table.c.id.in_(ids))
                        .values(status=status, outcome=outcome, updated_at=now))


def sweep_due(db, content: Content, now: datetime | None = None, *, quiet: QuietHours | None = None,
              batch_size: int = DEFAULT_BATCH, max_batches: int | None = None,
              collect_ids: bool = False) -> SweepReport:
    """Hand every due reminder to the outbox, one committed batch at a time.

    `db` is a storage.db.Database. Safe to run in several processes at once: each batch claims
    rows the others do not hold. Returns counts (and, for tests, the ids it handled).
    """
    now = as_utc(now or utcnow())
    quiet = quiet or QuietHours()
    report = SweepReport()
    if quiet.active(now):
        report.quiet_until = quiet.ends_after(now)
        return report
    while max_batches is None or report.batches < max_batches:
        with db.session() as session:
            rows = claim_due(session, now, batch_size)
            if not rows:
                break
            process_claimed(session, content, rows, now, report, collect_ids)
        report.batches += 1
        if len(rows) < batch_size:
            break
    if report.handled:
        log.info("reminder sweep: %d queued, %d suppressed, %d expired, %d failed in %d batches",
                 report.queued, report.suppressed, report.expired, report.failed, report.batches)
    return report


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
