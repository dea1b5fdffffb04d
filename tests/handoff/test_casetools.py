"""Canned replies and case labels in the mentor chat, through the real pipeline entry: /templat lists
and sends (rendered for the owner), /label adds and removes; staff edits override content."""
from __future__ import annotations

from sqlalchemy import select

from bot import casetools
from storage.models import Ticket
from storage.models.casetools import CaseLabel
from tests.channels.conftest import fake, harness, make_harness  # noqa: F401  (fixtures)
from tests.handoff.conftest import make_owner, mentor_says, only_case, outbox_to, say

BUDI = "900000001"


def _taken(db, content) -> tuple[str, int]:
    owner = make_owner(db)
    say(db, content, owner, "mau bicara dengan pendamping")
    ticket_id = only_case(db).id
    mentor_says(db, content, BUDI, f"/ambil {ticket_id}")
    return owner, ticket_id


def test_templat_lists_then_sends_a_rendered_reply_to_the_owner(roster, content):
    owner, ticket_id = _taken(roster, content)
    listed = mentor_says(roster, content, BUDI, "/templat")[0].text
    assert "1. Salam pembuka" in listed and "2. Langkah berikutnya" in listed
    before = len(outbox_to(roster, owner))
    confirm = mentor_says(roster, content, BUDI, "/templat 1")
    assert f"#{ticket_id}" in confirm[0].text
    sent = outbox_to(roster, owner)[before:]
    assert len(sent) == 1
    assert "saya Budi Santoso, pendamping Anda" in sent[0].text and "{{" not in sent[0].text
    assert "Perintah" not in sent[0].text and "/templat" not in sent[0].text
    refused = mentor_says(roster, content, BUDI, "/templat 99")[0].text
    assert "Tidak ada balasan nomor 99" in refused
    assert len(outbox_to(roster, owner)) == before + 1


def test_label_adds_lists_and_removes(roster, content):
    _owner, ticket_id = _taken(roster, content)
    assert "dipasang" in mentor_says(roster, content, BUDI, f"/label {ticket_id} halal")[0].text
    assert "dipasang" in mentor_says(roster, content, BUDI, f"/label {ticket_id} Label kemasan")[0].text
    listed = mentor_says(roster, content, BUDI, f"/label {ticket_id}")[0].text
    assert "Halal" in listed and "Label kemasan" in listed
    assert "dilepas" in mentor_says(roster, content, BUDI, f"/label {ticket_id} halal")[0].text
    assert "tidak dikenal" in mentor_says(roster, content, BUDI, f"/label {ticket_id} pajak")[0].text
    with roster.session() as session:
        assert session.scalars(select(CaseLabel.label)).all() == ["label_kemasan"]


def test_staff_edit_overrides_the_content_default(roster, content):
    owner, _ticket_id = _taken(roster, content)
    with roster.session() as session:
        casetools.save_canned(session, "salam", "Salam", "Selamat pagi {{ owner_name }}, saya {{ mentor_name }}.",
                              "", "", True, "staf")
    mentor_says(roster, content, BUDI, "/templat 1")
    assert outbox_to(roster, owner)[-1].text.endswith(": Selamat pagi Sari Dewi, saya Budi Santoso.")
    with roster.session() as session:
        for bad in ("", "x" * 401, "Halo {{ nama_salah }}", "Halo {{ owner_name"):
            try:
                casetools.save_canned(session, "baru", "Baru", bad, "", "", True, "staf")
            except casetools.ToolError:
                continue
            raise AssertionError(f"{bad!r} was accepted")


def test_top_labels_per_area(roster, content):
    _owner, ticket_id = _taken(roster, content)
    mentor_says(roster, content, BUDI, f"/label {ticket_id} halal")
    with roster.session() as session:
        counts = casetools.label_counts(session)
    assert [(label, n) for _city, label, n in counts] == [("halal", 1)]


def test_templat_and_label_typed_on_telegram_reach_only_the_right_people(roster, harness, clock):
    """The real path: Update JSON with bot_command entities -> parse_update -> mentor chat -> fakes."""
    from tests.handoff.test_telegram_mentor import command, owner_asks_for_a_mentor, to_mentor, to_owner

    owner_asks_for_a_mentor(harness)
    with harness.db.session() as session:
        case_id = session.scalars(select(Ticket.id)).one()
    harness.telegram_post(command(harness, f"/ambil {case_id}"))
    harness.send()
    before = len(to_owner(harness))
    harness.telegram_post(command(harness, "/templat"))
    harness.send()
    assert "1. Salam pembuka" in to_mentor(harness)[-1]
    harness.telegram_post(command(harness, "/templat 3"))
    harness.telegram_post(command(harness, f"/label {case_id} label kemasan"))
    harness.send()
    owner = to_owner(harness)[before:]
    assert len(owner) == 1 and "Boleh kirim foto label kemasan keripik?" in owner[0]
    assert not any("/templat" in text or "/label" in text or "🏷️" in text for text in owner)
    assert any("Label kemasan" in text and f"#{case_id}" in text for text in to_mentor(harness))
