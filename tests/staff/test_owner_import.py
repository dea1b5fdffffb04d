"""Owner lists from an office: all or nothing, line-numbered errors, normalised numbers, no double
registration when an imported owner writes, and no message before they write or opted in."""
from __future__ import annotations

from click.testing import CliRunner
from sqlalchemy import func, select

from bot.cli import main
from bot.owners_import import import_owners, normalise_phone, parse_owners
from bot.segment import parse as parse_segment
from storage.db import forget_database
from storage.models import Owner

GOOD = """nama;no hp;nama usaha;sektor;produk;kecamatan;izin;setuju wa;sumber opt in;tanggal opt in
Siti Aminah;0812-3456-7001;Keripik Bu Siti;makanan;keripik singkong | rempeyek;Duren Sawit;NIB;ya;formulir pelatihan Jaktim;01/10/2026
Joko;+62 813 0000 0002;Jamu Joko;jamu;beras kencur;jaktim;belum;tidak;;
"""

BAD_ONE_LINE = """name,phone,sector,kecamatan,permits
Siti Aminah,081234567001,makanan,Duren Sawit,nib
Rudi,12345,listrik,Gotham,sim
"""


def _owners(db):
    with db.session() as session:
        return session.scalars(select(Owner).order_by(Owner.id)).all()


def test_numbers_are_normalised_to_what_the_whatsapp_channel_stores():
    assert normalise_phone("0812-3456-7001") == "+6281234567001"
    assert normalise_phone("62 812 3456 7001") == "+6281234567001"
    assert normalise_phone("+62 812 3456 7001") == "+6281234567001"
    assert normalise_phone("12345") is None
    assert normalise_phone("bukan nomor") is None


def test_good_file_creates_owners_with_fields_and_opt_in(db, content):
    with db.session() as session:
        report = import_owners(session, GOOD, content, source="Dinas PPKUKM Jaktim 2026")
    assert report.ok and report.created == [2, 3]
    siti, joko = _owners(db)
    assert (siti.channel, siti.address) == ("whatsapp", "+6281234567001")
    assert siti.business_name == "Keripik Bu Siti" and siti.sector == "food"
    assert siti.products == ["keripik singkong", "rempeyek"]
    assert (siti.city, siti.district) == ("jakarta-timur", "duren-sawit")
    assert siti.has_permits == ["nib"]
    assert siti.opt_in_source == "formulir pelatihan Jaktim" and siti.opt_in_at.date().isoformat() == "2026-10-01"
    assert siti.consent_at is None and siti.registered_at is None
    assert siti.import_source == "Dinas PPKUKM Jaktim 2026"
    assert joko.sector == "herbal" and joko.has_permits == [] and joko.opt_in_at is None
    assert joko.city == "jakarta-timur" and joko.district is None


def test_one_bad_line_imports_nothing_and_names_each_problem(db, content):
    with db.session() as session:
        report = import_owners(session, BAD_ONE_LINE, content, source="x")
    assert not report.ok
    text = "\n".join(report.errors)
    assert all(e.startswith("line 3:") for e in report.errors), report.errors
    assert "12345" in text and "listrik" in text and "Gotham" in text and "'sim'" in text
    assert _owners(db) == []


def test_header_problems_and_duplicates_are_reported_with_lines(content):
    _, errors = parse_owners("nama,alamat rumah\nSiti,Jl. Mawar\n", content)
    assert errors[0].startswith("line 1:") and "alamat rumah" in errors[0]
    assert any("'phone'" in e for e in errors)
    _, errors = parse_owners("nama,hp\nSiti,0812-3456-7001\nSiti lagi,+6281234567001\n", content)
    assert errors == ["line 3: phone '+6281234567001' is already used on line 2"]
    _, errors = parse_owners("nama,hp,setuju wa\nSiti,0812-3456-7001,ya\n", content)
    assert len(errors) == 2 and all("opt_in" in e for e in errors)
    _, errors = parse_owners("", content)
    assert errors and errors[0].startswith("line 1:")


def test_reimport_never_duplicates_and_never_overwrites_the_owners_own_answers(db, content):
    with db.session() as session:
        import_owners(session, GOOD, content, source="a")
    with db.session() as session:
        siti = session.scalars(select(Owner).where(Owner.address == "+6281234567001")).one()
        siti.business_name = "Dapur Siti"  # what she told the bot herself
    changed = GOOD.replace("Keripik Bu Siti", "Nama Lama")
    with db.session() as session:
        report = import_owners(session, changed, content, source="b")
    assert report.ok and report.created == [] and report.unchanged == [2, 3]
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Owner)) == 2
        siti = session.scalars(select(Owner).where(Owner.address == "+6281234567001")).one()
        assert siti.business_name == "Dapur Siti" and siti.import_source == "a"


def test_only_recorded_opt_ins_are_reachable_by_broadcasts(db, content):
    with db.session() as session:
        import_owners(session, GOOD, content, source="a")
    with db.session() as session:
        ids = session.scalars(parse_segment("kota=jakarta-timur").matches_query()).all()
        names = {o.name for o in session.scalars(select(Owner).where(Owner.id.in_(ids)))}
    assert names == {"Siti Aminah"}  # Joko never opted in and never wrote: he gets nothing


def _cli(db, monkeypatch, *args):
    monkeypatch.setenv("DATABASE_URL", db.url)
    try:
        return CliRunner().invoke(main, list(args), catch_exceptions=False)
    finally:
        forget_database(db.url)


def test_cli_imports_all_or_nothing(db, tmp_path, monkeypatch):
    good, bad = tmp_path / "good.csv", tmp_path / "bad.csv"
    good.write_text(GOOD, encoding="utf-8")
    bad.write_text(BAD_ONE_LINE, encoding="utf-8")
    result = _cli(db, monkeypatch, "owners", "import", str(bad), "--source", "Dinas")
    assert result.exit_code == 1 and "line 3:" in result.output and "nothing was imported" in result.output
    result = _cli(db, monkeypatch, "owners", "import", str(good), "--source", "Dinas", "--dry-run")
    assert result.exit_code == 0 and "Would create 2" in result.output
    assert _owners(db) == []
    result = _cli(db, monkeypatch, "owners", "import", str(good), "--source", "Dinas")
    assert result.exit_code == 0 and "Created 2" in result.output
    assert len(_owners(db)) == 2
