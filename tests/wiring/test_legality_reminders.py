"""The legality pathway drives the reminders (issue 3 x issue 4), through the real pipeline and the
real sweep, on SQLite and PostgreSQL, with a frozen clock (2026-11-23 09:00 WIB, a Monday)."""
from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

from sqlalchemy import select

from bot.clock import JAKARTA, as_utc, utcnow
from tests.gmp.helpers import sweep_due  # the sweep, then the sender writing its messages
from storage.models import OutboxMessage, Owner
from storage.models.legality import PathwayStep
from storage.models.reminders import Reminder
from tests.dialogue_runner import Conversation

PIRT = "206327101012331"  # 15 digits, expiry year 2031 in the last two


def wib(*args) -> datetime:
    return datetime(*args, tzinfo=JAKARTA).astimezone(timezone.utc)


def registered(db, content, products, has_permits=("nib",), user="+628120000001") -> Conversation:
    conv = Conversation(db=db, content=content, channel="whatsapp", user=user, lang="id")
    with db.session() as session:
        session.add(Owner(channel="whatsapp", address=user, lang="id", consent_at=utcnow(), registered_at=utcnow(),
                          name="Siti", business_name="Usaha Siti", in_jakarta=True, products=list(products),
                          has_permits=list(has_permits)))
    return conv


def keripik_pathway(db, content, **kw) -> Conversation:
    """An owner with keripik singkong on the P-IRT route (NIB already there)."""
    conv = registered(db, content, ["keripik singkong"], **kw)
    conv.send("izin saya")
    conv.send("ya")  # made at home with simple tools -> P-IRT
    return conv


def reminders_of(db, kind: str) -> list[Reminder]:
    with db.session() as session:
        return list(session.scalars(select(Reminder).where(Reminder.kind == kind).order_by(Reminder.id)))


def sent(db, kind: str) -> list[str]:
    """Texts of reminder messages of one kind handed to the outbox so far."""
    with db.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "reminder").order_by(OutboxMessage.id))
        return [m.text for m in rows if m.template_vars.get("reminder_kind") == kind]


def local(moment: datetime) -> str:
    return as_utc(moment).astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M")


# --- permit renewal ------------------------------------------------------------------------------
def test_reported_pirt_creates_one_renewal_reminder_six_months_before_expiry(db, content, clock):
    conv = keripik_pathway(db, content)
    replies = conv.send(f"sudah dapat P-IRT {PIRT}")
    assert "Saya akan mengingatkan Anda sebelum habis" in replies[0].text
    [reminder] = reminders_of(db, "permit_renewal")
    assert reminder.status == "pending"
    assert local(reminder.due_at) == "2031-05-23 09:00"  # expiry 23-11-2031 minus 6 months, 09:00 WIB
    assert reminder.payload == {"permit": "pirt", "expires_on": "2031-11-23"}


def test_reporting_the_same_pirt_again_adds_no_second_renewal_reminder(db, content, clock):
    # Regression: the repeat (days later) was taken as a new issue date, so the expiry moved by
    # those days and the renewal reminder was replaced by another one.
    conv = keripik_pathway(db, content)
    conv.send(f"sudah dapat P-IRT {PIRT}")
    [first] = reminders_of(db, "permit_renewal")
    clock.shift(timedelta(days=3))
    replies = conv.send(f"sudah dapat P-IRT {PIRT}")
    assert "saya catat selesai" in replies[0].text  # the report was taken again, not ignored
    [again] = reminders_of(db, "permit_renewal")
    assert (again.id, again.status, again.due_at, again.occurrence) == (first.id, "pending", first.due_at, 0)
    with db.session() as session:
        pirt = session.scalars(select(PathwayStep).where(PathwayStep.step == "pirt")).one()
        assert (pirt.issued_on, pirt.expires_on) == (date(2026, 11, 23), date(2031, 11, 23))


def test_a_renewed_pirt_replaces_the_reminder_for_the_old_expiry(db, content, clock):
    conv = keripik_pathway(db, content)
    conv.send("sudah dapat P-IRT 206327101012330")  # expiry year 2030
    conv.send(f"sudah dapat P-IRT {PIRT}")  # the new number: 2031
    rows = reminders_of(db, "permit_renewal")
    assert [(r.status, local(r.due_at)) for r in rows] == [("cancelled", "2030-05-23 09:00"), ("pending", "2031-05-23 09:00")]


def test_cosmetics_notification_renewal_is_three_months_before_expiry(db, content, clock):
    conv = registered(db, content, ["lulur"])
    conv.send("izin saya")
    conv.send("sudah dapat notifikasi NA18260100123")
    [reminder] = reminders_of(db, "permit_renewal")
    assert local(reminder.due_at) == "2029-08-23 09:00"  # valid 3 years, reminder 3 months before
    assert reminder.payload["permit"] == "cosmetics_notification"


def test_permit_without_a_renewal_rule_gets_no_reminder_and_no_promise(db, content, clock):
    # Regression: "Saya akan mengingatkan Anda sebelum habis" was said for every permit with an
    # expiry, also BPOM MD, for which no renewal reminder exists.
    conv = registered(db, content, ["nugget beku"])
    conv.send("izin saya")
    conv.send("ya")
    replies = conv.send("sudah dapat BPOM MD 234567890123456")
    assert "Berlaku sampai" in replies[0].text and "mengingatkan" not in replies[0].text
    assert reminders_of(db, "permit_renewal") == []


def test_renewal_reminder_reaches_the_owner_through_the_sweep_when_due(db, content, clock):
    conv = keripik_pathway(db, content)
    conv.send(f"sudah dapat P-IRT {PIRT}")
    clock.move_to(wib(2031, 5, 23, 8, 59))
    sweep_due(db, content)
    assert sent(db, "permit_renewal") == []
    clock.move_to(wib(2031, 5, 23, 9, 0))
    sweep_due(db, content)
    [text] = sent(db, "permit_renewal")
    assert "P-IRT" in text and "23-11-2031" in text


# --- stalled step ----------------------------------------------------------------------------------
def test_step_in_progress_for_14_days_gives_one_stalled_reminder_and_no_other_within_the_month(db, content, clock):
    conv = keripik_pathway(db, content)
    conv.send("sedang urus pkp")
    clock.shift(timedelta(days=14) - timedelta(minutes=1))
    assert sweep_due(db, content).queued == 0
    clock.shift(timedelta(minutes=1))
    sweep_due(db, content)
    [text] = sent(db, "stalled_step")
    assert "Sertifikat PKP" in text and "23-11-2026" in text
    for _day in range(29):  # a sweep every day of the following month: nothing more
        clock.shift(timedelta(days=1))
        sweep_due(db, content)
    assert len(sent(db, "stalled_step")) == 1
    clock.shift(timedelta(days=1))  # 30 days after the first: the next nudge
    sweep_due(db, content)
    assert len(sent(db, "stalled_step")) == 2


def test_progress_on_another_step_restarts_the_stalled_clock_for_that_step(db, content, clock):
    conv = keripik_pathway(db, content)
    conv.send("sedang urus pkp")
    clock.shift(timedelta(days=10))
    conv.send("sedang urus halal")
    clock.shift(timedelta(days=4))  # 14 days after PKP, 4 after halal
    sweep_due(db, content)
    assert sent(db, "stalled_step") == []
    clock.shift(timedelta(days=10))  # 14 days after halal
    sweep_due(db, content)
    [text] = sent(db, "stalled_step")
    assert "Sertifikat halal jalur self-declare" in text and "03-12-2026" in text


def test_viewing_the_pathway_is_no_progress(db, content, clock):
    conv = keripik_pathway(db, content)
    conv.send("sedang urus pkp")
    [before] = reminders_of(db, "stalled_step")
    clock.shift(timedelta(days=5))
    conv.send("izin saya")
    conv.send("langkah berikutnya")
    [after] = reminders_of(db, "stalled_step")
    assert after.due_at == before.due_at


def test_finishing_the_pathway_cancels_the_stalled_reminder(db, content, clock):
    conv = keripik_pathway(db, content, has_permits=("nib", "pkp", "halal"))
    [stalled] = reminders_of(db, "stalled_step")
    assert stalled.status == "pending" and stalled.payload["step"] == "label"  # the pathway started the clock
    clock.shift(timedelta(days=14))
    sweep_due(db, content)
    assert len(sent(db, "stalled_step")) == 1  # sent, and armed again for a month later
    conv.send("sudah dapat sertifikat merek")  # the trademark step (JakPreneur P4)
    replies = conv.send(f"sudah dapat P-IRT {PIRT}")  # implies the label: every step is done
    assert any("Semua izin di jalur Anda sudah selesai" in r.text for r in replies)
    [stalled] = reminders_of(db, "stalled_step")
    assert stalled.status == "cancelled"
    for _month in range(3):
        clock.shift(timedelta(days=30))
        sweep_due(db, content)
    assert len(sent(db, "stalled_step")) == 1
    with db.session() as session:
        assert {r.status for r in session.scalars(select(PathwayStep))} == {"selesai"}


def test_a_new_product_after_the_pathway_was_finished_starts_the_clock_again(db, content, clock):
    conv = keripik_pathway(db, content, has_permits=("nib", "pkp", "halal"))
    conv.send("sudah dapat sertifikat merek")
    conv.send(f"sudah dapat P-IRT {PIRT}")
    assert reminders_of(db, "stalled_step")[0].status == "cancelled"
    clock.shift(timedelta(days=2))
    conv.send("izin saya")
    conv.send("produk lain")
    conv.send("rempeyek")
    conv.send("ya")
    [stalled] = reminders_of(db, "stalled_step")
    assert stalled.status == "pending" and local(stalled.due_at) == "2026-12-09 09:00"
