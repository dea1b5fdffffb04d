"""An owner-made reminder from WhatsApp, end to end: signed Twilio webhooks in, the reminder
sweep, and the real twilio client out to the local fake. Created, one cancelled by the owner's
words, the other sent once at its time, never at night, never twice."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.reminders import sweep_due
from storage.models import Owner
from storage.models.reminders import Reminder

OWNER = "whatsapp:+6281234567001"


def _registered_owner(db, clock) -> None:
    from bot.clock import utcnow

    with db.session() as s:
        s.add(Owner(channel="whatsapp", address="+6281234567001", lang="id", products=["keripik"], name="Sari",
                    business_name="Keripik Sari", sector="food", consent_at=utcnow(), registered_at=utcnow()))


def _bodies(harness) -> list[str]:
    return [m["Body"] for m in harness.fake.twilio_messages(to=OWNER)]


def test_reminder_created_and_cancelled_over_whatsapp_is_sent_once(harness, content, clock):
    _registered_owner(harness.db, clock)  # Monday 23-11-2026 09:00 WIB

    assert harness.twilio_post(harness.twilio_form("tolong ingatkan jam 3 sore ambil sertifikat PKP")).status_code == 200
    assert harness.twilio_post(harness.twilio_form("ingetin aku jam 4 sore telpon pak RT")).status_code == 200
    assert harness.twilio_post(harness.twilio_form("hapus pengingat pak RT")).status_code == 200
    harness.send()
    bodies = _bodies(harness)
    assert bodies == [
        content.t("owner_reminders.created", "id", what="ambil sertifikat PKP", when="hari ini, Senin 23-11 jam 15.00"),
        content.t("owner_reminders.created", "id", what="telpon pak RT", when="hari ini, Senin 23-11 jam 16.00"),
        content.t("owner_reminders.cancelled", "id", what="telpon pak RT"),
    ]
    assert all(len(b) <= 400 for b in bodies)

    clock.shift(timedelta(hours=5, minutes=30))  # 14:30: nothing due yet
    assert sweep_due(harness.db, content).queued == 0
    clock.shift(timedelta(minutes=31))  # 15:01
    assert sweep_due(harness.db, content).queued == 1
    harness.send()
    reminder = _bodies(harness)[3:]
    assert reminder == [content.t("owner_reminders.reminder", "id", what="ambil sertifikat PKP")]

    clock.shift(timedelta(hours=2))  # 17:01: the cancelled one never comes, the sent one not again
    assert sweep_due(harness.db, content).queued == 0
    harness.send()
    assert len(_bodies(harness)) == 4
    with harness.db.session() as s:
        rows = {r.payload["what"]: r.status for r in s.scalars(select(Reminder))}
    assert rows == {"ambil sertifikat PKP": "queued", "telpon pak RT": "cancelled"}


def test_reminder_for_the_night_goes_out_in_the_morning(harness, content, clock):
    _registered_owner(harness.db, clock)
    harness.twilio_post(harness.twilio_form("ingatkan nanti malam jam 10 cek adonan"))
    harness.send()
    assert _bodies(harness) == [content.t("owner_reminders.created_moved", "id", what="cek adonan",
                                          when="besok, Selasa 24-11 jam 07.00")]
    clock.shift(timedelta(hours=13, minutes=30))  # 22:30, the time asked for: quiet hours
    assert sweep_due(harness.db, content).queued == 0
    clock.shift(timedelta(hours=8, minutes=31))  # Tuesday 07:01
    assert sweep_due(harness.db, content).queued == 1


def test_a_reminder_cancelled_by_its_day_from_the_list_never_asks_to_erase_data(harness, content, clock):
    """"yg rabu itu gajadi, hapus aja" under the list: Wednesday's reminder goes, the other stays,
    and the owner is never asked whether to erase all their data."""
    _registered_owner(harness.db, clock)  # Monday 23-11-2026 09:00 WIB
    for text in ("nak tolong ingetin ibu rabu jam 10 pagi ke kelurahan urus nib", "ingetin ibu besok sore beli botol",
                 "pengingat ibu apa aja"):
        assert harness.twilio_post(harness.twilio_form(text)).status_code == 200
    harness.send()
    before = len(_bodies(harness))
    assert harness.twilio_post(harness.twilio_form("yg rabu itu gajadi, hapus aja")).status_code == 200
    harness.send()
    said = _bodies(harness)[before:]
    assert said == [content.t("owner_reminders.cancelled", "id", what="kelurahan urus nib")]
    with harness.db.session() as s:
        rows = {r.payload["what"]: r.status for r in s.scalars(select(Reminder))}
    assert rows == {"kelurahan urus nib": "cancelled", "beli botol": "pending"}
