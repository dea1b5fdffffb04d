"""An owner on an office's imported list writes on WhatsApp: recognised, asked only for consent and
what the list lacked, through a signed Twilio webhook to the fake provider."""
from __future__ import annotations

from sqlalchemy import select

from bot.owners_import import import_owners
from storage.models import Owner
from tests.staff.test_owner_import import GOOD


def test_imported_owner_who_writes_is_recognised_and_not_registered_twice(harness, clock, content):
    with harness.db.session() as session:
        import_owners(session, GOOD, content, source="Dinas")
    harness.twilio_post(harness.twilio_form("halo", sender="whatsapp:+6281234567001"))
    harness.send()
    bodies = [m["Body"] for m in harness.fake.twilio_messages()]
    assert "Halo Siti Aminah!" in bodies[0] and "sudah ada di daftar program" in bodies[0]
    harness.twilio_post(harness.twilio_form("setuju", sender="whatsapp:+6281234567001"))
    harness.send()
    summary = harness.fake.twilio_messages()[-1]["Body"]
    # only the summary to confirm: name, business, products, place and permits came from the list
    assert "Keripik Bu Siti" in summary and "Duren Sawit" in summary
    with harness.db.session() as session:
        owners = session.scalars(select(Owner)).all()
        assert len(owners) == 2
        siti = next(o for o in owners if o.address == "+6281234567001")
        assert siti.consent_at is not None and siti.conversation.step == "confirm"
