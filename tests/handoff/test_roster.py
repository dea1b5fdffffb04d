"""The mentor roster import: all or nothing, line-numbered errors, re-import updates in place."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.handoff.roster import import_roster, parse_roster
from storage.db import forget_database
from storage.models.handoff import Mentor, MentorArea

GOOD = """code,name,telegram,whatsapp,kecamatan,sectors,role,active
JO-1,Budi Santoso,900000001,0812-0000-0001,Kebon Jeruk | Palmerah,makanan,mentor,ya
SPV-1,Rina,900000101,,Jakarta Barat,,koordinator,
"""

MALFORMED = """code,name,telegram,whatsapp,kecamatan,sectors,role,active
JO-1,Budi Santoso,900000001,,Kebon Jeruk,makanan,mentor,ya
JO-2,,900000002,,Palmerah,,mentor,ya
JO-3,Sri,@sriw,,Gotham,makanan,mentor,ya
JO-1,Budi Lagi,900000003,,Tebet,,mentor,ya
JO-4,Agus,900000004,12345,Tebet,listrik,boss,mungkin
"""


def _count(db, model) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(model))


def test_import_creates_mentors_with_areas_and_normalised_numbers(db, content):
    with db.session() as session:
        report = import_roster(session, GOOD, content)
    assert report.ok and report.created == ["JO-1", "SPV-1"]
    with db.session() as session:
        budi = session.scalars(select(Mentor).where(Mentor.code == "JO-1")).one()
        assert budi.whatsapp == "+6281200000001"
        assert budi.sectors == ["food"] and budi.role == "mentor" and budi.active
        assert sorted((a.city, a.kecamatan) for a in budi.areas) == [
            ("jakarta-barat", "kebon-jeruk"), ("jakarta-barat", "palmerah")]
        spv = session.scalars(select(Mentor).where(Mentor.code == "SPV-1")).one()
        assert spv.role == "supervisor" and spv.sectors == []
        assert [(a.city, a.kecamatan) for a in spv.areas] == [("jakarta-barat", "")]


def test_reimport_updates_in_place_and_never_duplicates(db, content):
    with db.session() as session:
        import_roster(session, GOOD, content)
    with db.session() as session:
        again = import_roster(session, GOOD, content)
    assert again.unchanged == ["JO-1", "SPV-1"] and not again.created and not again.updated
    changed = GOOD.replace("Budi Santoso", "Budi S.").replace("Kebon Jeruk | Palmerah", "Tebet")
    with db.session() as session:
        report = import_roster(session, changed, content)
    assert report.updated == ["JO-1"] and report.unchanged == ["SPV-1"]
    assert _count(db, Mentor) == 2
    with db.session() as session:
        budi = session.scalars(select(Mentor).where(Mentor.code == "JO-1")).one()
        assert budi.name == "Budi S."
        assert [(a.city, a.kecamatan) for a in budi.areas] == [("jakarta-selatan", "tebet")]
    assert _count(db, MentorArea) == 2


def test_malformed_roster_reports_every_bad_line_and_imports_nothing(db, content):
    with db.session() as session:
        report = import_roster(session, MALFORMED, content)
    text = "\n".join(report.errors)
    assert "line 3: name is empty" in text
    assert "line 4: telegram '@sriw'" in text
    assert "line 4: kecamatan 'Gotham'" in text
    assert "line 5: code 'JO-1' is already used on line 2" in text
    assert "line 6: whatsapp '12345'" in text
    assert "line 6: sector 'listrik'" in text and "line 6: role 'boss'" in text and "line 6: active 'mungkin'" in text
    assert "line 2" not in text.replace("on line 2", "")  # the good row is not blamed
    assert _count(db, Mentor) == 0


def test_missing_required_column_is_reported_on_the_header_line(content):
    _rows, errors = parse_roster("code,name,telegram\nJO-1,Budi,900000001\n", content)
    assert errors == ["line 1: the header misses the 'kecamatan' column"]


def test_semicolon_excel_export_with_bom_and_indonesian_headers(content):
    data = "\ufeffkode;nama;wa;wilayah;sektor;peran;aktif\r\nJO-9;Dewi;081200000009;jaktim;jamu, kosmetik;pendamping;ya\r\n"
    rows, errors = parse_roster(data.encode("utf-8"), content)
    assert not errors
    assert rows[0].whatsapp == "+6281200000009" and rows[0].telegram is None
    assert rows[0].areas == [("jakarta-timur", "")] and rows[0].sectors == ["herbal", "cosmetics"]


def test_address_taken_by_a_mentor_outside_the_file_is_refused(db, content):
    with db.session() as session:
        import_roster(session, GOOD, content)
    other = "code,name,telegram,kecamatan\nJO-7,Yusuf,900000001,Tebet\n"
    with db.session() as session:
        report = import_roster(session, other, content)
    assert report.errors == ["line 2: telegram '900000001' already belongs to mentor JO-1, who is not in this file"]
    assert _count(db, Mentor) == 2


def test_two_mentors_may_swap_chats_in_one_file(db, content):
    with db.session() as session:
        import_roster(session, GOOD, content)
    swapped = GOOD.replace("900000001", "X").replace("900000101", "900000001").replace("X", "900000101")
    with db.session() as session:
        report = import_roster(session, swapped, content)
    assert report.ok and sorted(report.updated) == ["JO-1", "SPV-1"]
    with db.session() as session:
        assert session.scalars(select(Mentor.code).where(Mentor.telegram == "900000001")).one() == "SPV-1"


def test_deactivate_missing_keeps_the_row_but_stops_routing(db, content):
    with db.session() as session:
        import_roster(session, GOOD, content)
    only_budi = GOOD.splitlines()[0] + "\n" + GOOD.splitlines()[1] + "\n"
    with db.session() as session:
        report = import_roster(session, only_budi, content, deactivate_missing=True)
    assert report.deactivated == ["SPV-1"]
    with db.session() as session:
        assert session.scalars(select(Mentor.active).where(Mentor.code == "SPV-1")).one() is False


def _cli(db, monkeypatch, *args):
    monkeypatch.setenv("DATABASE_URL", db.url)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        forget_database(db.url)


def test_cli_import_rejects_malformed_csv_with_line_numbers_and_imports_nothing(db, monkeypatch, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(MALFORMED, encoding="utf-8")
    result = _cli(db, monkeypatch, "mentors", "import", str(path))
    assert result.exit_code == 1
    assert "nothing was imported" in result.output
    assert "line 3: name is empty" in result.output and "line 6: role 'boss'" in result.output
    assert _count(db, Mentor) == 0


def test_cli_import_then_reimport_then_list(db, monkeypatch, tmp_path):
    path = tmp_path / "roster.csv"
    path.write_text(GOOD, encoding="utf-8")
    first = _cli(db, monkeypatch, "mentors", "import", str(path))
    assert first.exit_code == 0 and "created 2, updated 0, unchanged 0" in first.output
    second = _cli(db, monkeypatch, "mentors", "import", str(path))
    assert "created 0, updated 0, unchanged 2" in second.output
    listed = _cli(db, monkeypatch, "mentors", "list")
    assert "JO-1" in listed.output and "kebon-jeruk, palmerah" in listed.output
    assert _count(db, Mentor) == 2


def test_shipped_demo_roster_imports(db, content):
    data = (content.root / "handoff" / "demo_mentors.csv").read_bytes()
    with db.session() as session:
        report = import_roster(session, data, content)
    assert report.ok and len(report.created) >= 10
