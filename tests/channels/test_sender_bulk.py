"""From the scheduler's jobs to what owners read: the reminder sweep and a scheduled broadcast,
both written set-based (no text per owner at queueing time for the broadcast), delivered by the
real sender through the real twilio client and python-telegram-bot to the local fake providers.
Each owner reads their own name, in their own language, once; an owner who said BERHENTI reads
nothing. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from sqlalchemy import select, update

from bot import broadcasts, reminders
from bot.clock import utcnow
from bot.scheduler import sweep_reminders
from storage.models import OutboxMessage, Owner

SITI = "+6281234567001"
JOHN_CHAT = "70002"
TONO = "+6281234567003"
MESSAGE_ID = "Halo {{ first_name }}, ada Pelatihan GMP gratis di {{ city }}. Balas DAFTAR untuk ikut."
MESSAGE_EN = "Hello {{ first_name }}, there is a free GMP training in {{ city }}. Reply DAFTAR to join."
CHECK = {"checklist": "cppb_irt", "level": "II"}


def _owners(db) -> dict[str, int]:
    now = utcnow()
    common = dict(consent_at=now, registered_at=now, last_inbound_at=now, sector="food", city="jakarta-timur",
                  district="cakung", products=["keripik"], has_permits=[])
    with db.session() as s:
        owners = {
            "siti": Owner(channel="whatsapp", address=SITI, lang="id", name="Siti Aminah", **common),
            "john": Owner(channel="telegram", address=JOHN_CHAT, lang="en", name="John Tan", **common),
            "tono": Owner(channel="whatsapp", address=TONO, lang="id", name="Tono", opted_out_at=now, **common),
        }
        s.add_all(owners.values())
        s.flush()
        for owner in owners.values():
            reminders.schedule(s, owner.id, "self_check", now, f"self_check:{owner.id}", payload=CHECK)
        return {name: owner.id for name, owner in owners.items()}


def test_sweep_and_scheduled_broadcast_reach_each_owner_once_in_their_language(harness, content, clock):
    ids = _owners(harness.db)
    with harness.db.session() as s:
        broadcast, checked = broadcasts.create(s, content, segment="all", template=MESSAGE_ID,
                                               template_en=MESSAGE_EN, scheduled_at=utcnow())
    assert checked.recipients == 2  # Tono stopped messages

    # The scheduler's two jobs, as its process runs them every minute.
    report = sweep_reminders(harness.services)
    assert (report.queued, report.suppressed) == (2, 1)
    assert broadcasts.sweep_job(harness.services) == [broadcast.id]
    with harness.db.session() as s:  # recipients recorded; each message is written at send time
        assert s.scalar(select(OutboxMessage.id).where(OutboxMessage.kind == "broadcast").limit(1)) is None
        assert broadcasts.progress(s, broadcast.id)["queued"] == 2
    harness.send()

    siti = [m["Body"] for m in harness.fake.twilio_messages(to=f"whatsapp:{SITI}")]
    assert siti == [
        content.t("gmp.reminder.self_check", "id", checklist="CPPB-IRT", level="II"),
        "Halo Siti, ada Pelatihan GMP gratis di Jakarta Timur. Balas DAFTAR untuk ikut.",
    ]
    john = [m["text"] for m in harness.fake.telegram_messages(chat_id=JOHN_CHAT)]
    assert john == [
        content.t("gmp.reminder.self_check", "en", checklist="CPPB-IRT", level="II"),
        "Hello John, there is a free GMP training in Jakarta Timur. Reply DAFTAR to join.",
    ]
    assert "Hello, it's time for your CPPB-IRT self-check" in john[0]
    assert harness.fake.twilio_messages(to=f"whatsapp:{TONO}") == []

    # Run everything again: nothing is queued or sent a second time.
    assert sweep_reminders(harness.services).queued == 0
    assert broadcasts.sweep_job(harness.services) == []
    harness.send()
    assert len(harness.fake.twilio_messages()) == 2 and len(harness.fake.telegram_messages()) == 2
    with harness.db.session() as s:
        counts = broadcasts.progress(s, broadcast.id)
        stored = s.scalar(select(OutboxMessage.text).where(OutboxMessage.owner_id == ids["siti"],
                                                           OutboxMessage.kind == "broadcast"))
    assert counts["sent"] == 2 and counts["queued"] == 0
    assert stored == siti[1]  # the row keeps the words that went out


def test_an_owner_whose_details_no_longer_fit_the_message_gets_a_reason_not_a_broken_text(harness, content, clock):
    ids = _owners(harness.db)
    with harness.db.session() as s:
        s.execute(update(Owner).values(business_name="Dapur Sehat"))
        template = "Halo {{ first_name }}{% if business_name %} dari {{ business_name.split(' ')[1] }}{% endif %}."
        broadcast, _ = broadcasts.create(s, content, segment="all", template=template, scheduled_at=utcnow())
        # After the preview, Siti's business gets a one-word name: the message cannot be written for her.
        s.execute(update(Owner).where(Owner.id == ids["siti"]).values(business_name="Sari"))
    assert broadcasts.sweep_job(harness.services) == [broadcast.id]
    harness.send()
    assert [m["text"] for m in harness.fake.telegram_messages(chat_id=JOHN_CHAT)] == ["Halo John dari Sehat."]
    assert harness.fake.twilio_messages(to=f"whatsapp:{SITI}") == []
    with harness.db.session() as s:
        reasons = broadcasts.not_delivered(s, broadcast.id)
    assert [(r["status"], r["owner_ids"]) for r in reasons] == [("unsendable", [ids["siti"]])]
    assert f"cannot be written for owner {ids['siti']}" in reasons[0]["reason"]
