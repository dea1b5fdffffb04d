"""What an owner is told about their own progress, through signed Twilio webhooks as real traffic
enters: a step is recorded done only when the owner says it is done. "Attended the training, no
certificate yet" is under way; "oke makasih" acknowledges the next step and records nothing."""
from __future__ import annotations

from sqlalchemy import select

from storage.models import Owner
from storage.models.legality import PathwayStep
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401 (fixtures)

SENDER = "whatsapp:+6281234567301"


def say(harness, text: str) -> list[str]:
    before = len(harness.fake.twilio_messages(SENDER))
    assert harness.twilio_post(harness.twilio_form(text, sender=SENDER)).status_code == 200
    harness.send()
    return [m["Body"] for m in harness.fake.twilio_messages(SENDER)[before:]]


def pkp_status(harness) -> str:
    with harness.db.session() as session:
        owner = session.scalars(select(Owner).where(Owner.address == "+6281234567301")).one()
        return session.scalars(select(PathwayStep.status).where(PathwayStep.owner_id == owner.id,
                                                                 PathwayStep.step == "pkp")).first()


def test_training_without_certificate_is_under_way_and_thanks_records_nothing(harness, content, clock):
    for text in ("halo", "setuju", "Bu Rini", "Rini Snack", "makanan", "keripik tempe", "jaktim", "duren sawit",
                 "nib aja", "benar", "izin sy skrg gmn", "ya"):
        say(harness, text)
    assert pkp_status(harness) in (None, "belum")
    told = say(harness, "udh pernah ikut penyuluhan blm dpt sertifikat")
    assert "selesai" not in told[0].split("\n")[0] and "sedang" in told[0].split("\n")[0]
    assert pkp_status(harness) == "sedang"
    thanks = say(harness, "oke makasih bu")
    assert thanks == [content.t("nlu.thanks")]  # the next step was read a moment ago: not sent again
    assert not any("selesai ✅" in text for text in thanks)
    assert pkp_status(harness) == "sedang"
    done = say(harness, "alhamdulillah sertifikat pkp sdh dapet")
    assert "selesai" in done[0].split("\n")[0]
    assert pkp_status(harness) == "selesai"
