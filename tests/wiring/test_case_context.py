"""Every mentor case shows the owner's legality pathway, in the shape the mentor's card renders."""
from __future__ import annotations

import shutil
from pathlib import Path

import yaml
from sqlalchemy import select

from bot.clock import utcnow
from bot.content import Content
from bot.handoff.mentor_chat import MentorChat
from bot.handoff.roster import import_roster
from bot.legality.pathway import renewal_rules_agree
from storage.models import Owner, Ticket
from storage.models.handoff import Mentor
from tests.dialogue_runner import Conversation

REPO = Path(__file__).resolve().parents[2]
ROSTER = "code,name,telegram,kecamatan,role\nJO-1,Budi Santoso,900000001,Duren Sawit,mentor\n"


def register_through_the_pipeline(db, content) -> Conversation:
    conv = Conversation(db=db, content=content, channel="whatsapp", user="+6281234567890", lang="id")
    for text in ["halo", "1", "siti aminah", "Keripik Bu Siti", "1", "keripik singkong", "5", "duren sawit",
                 "1 5", "1"]:
        conv.send(text)
    with db.session() as session:
        owner = conv.owner(session)
        assert owner.registered_at is not None and owner.has_permits == ["nib", "pkp"]
    return conv


def newest_case(db) -> Ticket:
    with db.session() as session:
        ticket = session.scalars(select(Ticket).order_by(Ticket.id.desc())).first()
        session.expunge(ticket)
        return ticket


def mentor_card(db, content, ticket_id: int) -> str:
    with db.session() as session:
        import_roster(session, ROSTER, content)
    with db.session() as session:
        mentor = session.scalars(select(Mentor)).one()
        return MentorChat(session, content, mentor, utcnow()).case_card(session.get(Ticket, ticket_id))


def test_mentor_case_opened_after_registration_shows_the_pathway_status(db, content, clock):
    conv = register_through_the_pipeline(db, content)
    conv.send("izin saya")
    conv.send("ya")
    conv.send("sudah dapat P-IRT 206327101012331")
    conv.send("bicara dengan pendamping")
    ticket = newest_case(db)
    assert ticket.context["pathway"] == {
        "Usaha (semua produk)": "NIB: selesai · Sertifikat PKP: selesai",
        "keripik singkong": "Cek label kemasan: selesai · P-IRT: selesai, 206327101012331, berlaku sampai "
                            "23-11-2031 · Sertifikat halal jalur self-declare: belum · Pendaftaran merek: belum",
    }


def test_mentor_card_lists_the_pathway_one_readable_line_per_product(db, content, clock):
    # Regression: the pathway was a nested dict, printed on the card as "{'nib': 'selesai', ...}".
    conv = register_through_the_pipeline(db, content)
    conv.send("izin saya")
    conv.send("ya")
    conv.send("bicara dengan pendamping")
    card = mentor_card(db, content, newest_case(db).id)
    assert "- keripik singkong: Cek label kemasan: belum · P-IRT: belum" in card
    assert "{" not in card and "'" not in card


def test_case_of_a_registered_owner_who_never_opened_the_pathway_says_so(db, content, clock):
    conv = register_through_the_pipeline(db, content)
    conv.send("bicara dengan pendamping")
    assert newest_case(db).context["pathway"] == {
        "Usaha (semua produk)": "jalur izin belum dibuka (belum ada produk yang dicek)"}


def test_rejection_case_shows_the_rejected_step_with_its_reason(db, content, clock):
    conv = Conversation(db=db, content=content, channel="whatsapp", user="+628120000002", lang="id")
    with db.session() as session:
        session.add(Owner(channel="whatsapp", address=conv.user, lang="id", consent_at=utcnow(),
                          registered_at=utcnow(), name="Rina", products=["lulur"], has_permits=["nib"]))
    conv.send("izin saya")
    conv.send("notifikasi saya ditolak")
    conv.send("DIP belum lengkap")
    ticket = newest_case(db)
    assert ticket.topic == "permit_rejected:notif"
    assert "Notifikasi kosmetik BPOM: ditolak (DIP belum lengkap)" in ticket.context["pathway"]["lulur"]


def _content_with(tmp_path, relative: str, change) -> Content:
    root = tmp_path / "content"
    shutil.copytree(REPO / "content", root)
    path = root / relative
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return Content(root)


def test_renewal_lead_times_of_legality_and_reminders_agree(content):
    assert renewal_rules_agree(content) == []


def test_content_check_fails_when_the_renewal_lead_times_differ(tmp_path):
    def four_months(data):
        data["permit_renewal"]["pirt"]["months_before"] = 4

    errors = renewal_rules_agree(_content_with(tmp_path, "gmp/reminders.yaml", four_months))
    assert len(errors) == 1 and "'pirt'" in errors[0] and "months_before=4" in errors[0]


def test_content_check_fails_for_a_renewal_rule_no_permit_can_reach(tmp_path):
    def unknown(data):
        data["permit_renewal"]["sertifikat_x"] = {"months_before": 2, "source": "x", "last_reviewed": "2026-11-22"}

    errors = renewal_rules_agree(_content_with(tmp_path, "gmp/reminders.yaml", unknown))
    assert any("sertifikat_x" in e and "never scheduled" in e for e in errors)


def test_mentor_card_shows_the_last_self_check(db, content, clock):
    from tests.dashboard.scripted import gmp_self_check

    conv = register_through_the_pipeline(db, content)
    gmp_self_check(db, content, conv.user, first_no=3)
    conv.send("bicara dengan pendamping")
    ticket = newest_case(db)
    gmp = ticket.context["gmp"]
    card = mentor_card(db, content, ticket.id)
    assert f"Cek kebersihan terakhir (23-11-2026): CPPB-IRT, level {gmp['level']}, {gmp['findings']} temuan" in card
    assert gmp["findings"] >= 3
