"""The JakPreneur seven steps: each counted from the bot's own data (P1-P4) or from people's records
(P5-P7), per owner with the day reached, and as a funnel per area and cohort."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select

from bot import events, programme
from bot.clock import utcnow
from bot.handoff.actions import take_case
from storage.models import Owner
from storage.models.handoff import Mentor
from tests.dashboard.scripted import ask_for_mentor, load_demo_roster, register_owner

SITI, JOKO, RINA = "+628120000021", "+628120000022", "+628120000023"


def _ids(db) -> dict[str, int]:
    with db.session() as session:
        return {o.address: o.id for o in session.scalars(select(Owner))}


def _programme_world(db, content) -> dict[str, int]:
    """Siti: every step up to P5; Joko: registered with a NIB; Rina: registered in another area only."""
    codes = load_demo_roster(db, content)
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti", area="jakarta-barat", district="kebon jeruk")
    register_owner(db, content, JOKO, "Joko Susilo", "Jamu Joko", sector="herbal", products="beras kencur",
                   area="jakarta-barat", district="palmerah", permits=("nib",))
    register_owner(db, content, RINA, "Rina Wati", "Bolu Rina", area="jakarta-timur", district="duren sawit")
    ids = _ids(db)
    case_id = ask_for_mentor(db, content, SITI)
    with db.session() as session:
        event = events.create_event(session, content, title="Pelatihan CPPB-IRT", kind="gmp_training",
                                    starts_at=utcnow() + timedelta(hours=1), place="Kantor Kecamatan")
        events.mark_attendance(session, event.id, [ids[SITI]])
        mentor = session.scalars(select(Mentor).where(Mentor.code == "JO-0001")).one()
        take_case(session, content, case_id, mentor)
        programme.record(session, ids[SITI], "p5", date(2026, 11, 20), "ikut bazar UMKM", "staf")
    assert codes
    return ids


def test_each_step_comes_from_the_bots_own_data_or_a_record(db, content, clock):
    ids = _programme_world(db, content)
    with db.session() as session:
        steps = programme.steps_of(session, list(ids.values()))
    siti, joko, rina = steps[ids[SITI]].steps, steps[ids[JOKO]].steps, steps[ids[RINA]].steps
    today = date(2026, 11, 23)
    assert siti["p1"] == today and siti["p2"] == today and siti["p3"] == today
    assert siti["p4"] is None  # no permit yet
    assert siti["p5"] == date(2026, 11, 20) and steps[ids[SITI]].notes["p5"] == "ikut bazar UMKM"
    assert siti["p6"] is None and siti["p7"] is None
    assert joko["p1"] == today and joko["p4"] == today  # the NIB he already held counts for P4
    assert [s for s, on in rina.items() if on] == ["p1"]


def test_funnel_counts_registered_owners_per_step_area_and_cohort(db, content, clock):
    _programme_world(db, content)
    with db.session() as session:
        total = programme.funnel(session)
        west = programme.funnel(session, area="jakarta-barat")
        by_area = dict(programme.funnel_by(session, "area"))
        by_cohort = dict(programme.funnel_by(session, "cohort"))
        other_month = programme.funnel(session, cohort="2026-10")
    assert total.counts == {"p1": 3, "p2": 1, "p3": 1, "p4": 1, "p5": 1, "p6": 0, "p7": 0}
    assert total.share("p2") == 1 / 3
    assert west.counts["p1"] == 2 and west.counts["p4"] == 1
    assert by_area["jakarta-timur"] == {"p1": 1, "p2": 0, "p3": 0, "p4": 0, "p5": 0, "p6": 0, "p7": 0}
    assert list(by_cohort) == ["2026-11"] and by_cohort["2026-11"]["p1"] == 3
    assert other_month.counts["p1"] == 0 and other_month.share("p2") is None


def test_recording_checks_step_and_date_and_corrects_in_place(db, content, clock):
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    owner_id = _ids(db)[SITI]
    with db.session() as session:
        for bad_step, day in (("p4", date(2026, 11, 1)), ("p6", date(2026, 12, 30))):
            try:
                programme.record(session, owner_id, bad_step, day, "", "staf")
            except programme.MilestoneError:
                continue
            raise AssertionError(f"{bad_step} {day} was accepted")
        programme.record(session, owner_id, "p7", date(2026, 11, 1), "KUR Bank DKI", "staf")
    with db.session() as session:
        programme.record(session, owner_id, "p7", date(2026, 11, 2), "Kredit Monas Pemula", "budi")
    with db.session() as session:
        steps = programme.steps_of(session, [owner_id])[owner_id]
        assert steps.steps["p7"] == date(2026, 11, 2) and steps.notes["p7"] == "Kredit Monas Pemula"
        assert programme.unrecord(session, owner_id, "p7") and not programme.unrecord(session, owner_id, "p7")


def test_csv_records_import_all_or_nothing(db, content, clock):
    register_owner(db, content, SITI, "Siti Aminah", "Keripik Bu Siti")
    owner_id = _ids(db)[SITI]
    bad = f"owner_id,tahap,tanggal,catatan\n{owner_id},p5,2026-11-01,bazar\n999999,arisan,kemarin,\n"
    with db.session() as session:
        count, errors = programme.import_records(session, bad, "staf")
    assert count == 0 and len(errors) == 3 and all(e.startswith("line 3:") for e in errors)
    good = f"hp,tahap,tanggal,catatan\n0812-000-0021,pemasaran,01/11/2026,bazar\n{SITI},P6,2026-11-02,\n"
    with db.session() as session:
        count, errors = programme.import_records(session, good, "staf")
    assert (count, errors) == (2, [])
    with db.session() as session:
        steps = programme.steps_of(session, [owner_id])[owner_id].steps
    assert steps["p5"] == date(2026, 11, 1) and steps["p6"] == date(2026, 11, 2)


def test_cli_funnel_and_import(db, content, clock, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from bot.cli import main
    from storage.db import forget_database

    _programme_world(db, content)
    monkeypatch.setenv("DATABASE_URL", db.url)
    try:
        result = CliRunner().invoke(main, ["programme", "funnel", "--by", "area"], catch_exceptions=False)
        assert result.output.splitlines() == ["area,p1,p2,p3,p4,p5,p6,p7", "jakarta-barat,2,1,1,1,1,0,0",
                                              "jakarta-timur,1,0,0,0,0,0,0"]
        records = tmp_path / "p7.csv"
        records.write_text(f"hp;tahap;tanggal\n{JOKO};permodalan;2026-11-10\n", encoding="utf-8")
        result = CliRunner().invoke(main, ["programme", "import", str(records)], catch_exceptions=False)
        assert "Recorded 1 step(s)" in result.output
        result = CliRunner().invoke(main, ["programme", "funnel"], catch_exceptions=False)
        assert result.output.splitlines()[1] == "total,3,1,1,1,1,0,1"
    finally:
        forget_database(db.url)
