"""The programme's indicators from the bot's own data, and the charts drawn from them."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from bot.dashboard import charts
from bot.dashboard.indicators import compute
from bot.dashboard.texts import check_web_texts
from storage.models import Owner, Ticket
from tests.dashboard.scripted import gmp_self_check, register_owner, say


def _rows(ind, slug):
    return ind.tables[slug].rows


def test_funnel_counts_only_owners_who_passed_every_earlier_stage(db, content, clock):
    register_owner(db, content, "+628130000001", "Siti Aminah", "Keripik Bu Siti", permits=("nib", "pirt", "halal"))
    register_owner(db, content, "+628130000002", "Dewi Lestari", "Sabun Dewi", sector="cosmetics",
                   area="jakarta-timur", district="duren sawit", permits=("nib",))
    # halal without a product permit does not count as "halal" on the funnel, only as a permit held
    register_owner(db, content, "+628130000003", "Joko Susilo", "Jamu Pak Joko", sector="herbal",
                   area="jakarta-timur", district="cakung", permits=("nib", "halal"))
    say(db, content, "+628130000004", "halo")  # started, never registered
    with db.session() as session:
        ind = compute(session, content)
        east = compute(session, content, area="jakarta-timur")
    assert _rows(ind, "legality_funnel") == [["registered", 3, 1.0], ["nib", 3, 1.0],
                                             ["product_permit", 1, 0.3333], ["halal", 1, 0.3333]]
    assert {r[0]: r[1] for r in _rows(ind, "permits_by_type")} == {"nib": 3, "pkp": 0, "pirt": 1, "bpom": 0,
                                                                    "halal": 2}
    assert dict(_rows(ind, "registrations_by_sector")) == {"food": 1, "cosmetics": 1, "herbal": 1, "other": 0}
    assert dict(_rows(ind, "registrations_by_area")) == {"jakarta-timur": 2, "jakarta-barat": 1}
    assert _rows(east, "legality_funnel")[0] == ["registered", 2, 1.0]
    assert ind.figures["registered"] == 3


def test_registrations_over_time_fall_in_their_week(db, content, clock):
    register_owner(db, content, "+628130000011", "Ani", "Kue Ani")
    clock.shift(timedelta(days=7))
    register_owner(db, content, "+628130000012", "Budi", "Sambal Budi")
    register_owner(db, content, "+628130000013", "Cici", "Sabun Cici", sector="cosmetics")
    with db.session() as session:
        weekly = compute(session, content, period="week")
        monthly = compute(session, content, period="month")
    rows = _rows(weekly, "registrations_over_time")
    assert len(rows) == 12
    assert rows[-2][:4] == ["23/11", 1, 1, 0] and rows[-1][:4] == ["30/11", 2, 1, 1]
    assert sum(r[1] for r in rows[:-2]) == 0
    assert _rows(monthly, "registrations_over_time")[-1][:2] == ["11/2026", 3]


def test_web_chat_demo_owners_are_left_out_of_the_indicators(db, content):
    register_owner(db, content, "+628130000021", "Ani", "Kue Ani")
    with db.session() as session:
        owner = session.scalars(select(Owner)).one()
        owner.channel = "web"
    with db.session() as session:
        assert compute(session, content).figures["registered"] == 0


def test_mentor_times_and_satisfaction_index_from_cases(db, content, clock):
    register_owner(db, content, "+628130000031", "Ani", "Kue Ani")
    register_owner(db, content, "+628130000032", "Budi", "Sambal Budi")
    with db.session() as session:
        owners = session.scalars(select(Owner).order_by(Owner.id)).all()
        now = owners[0].registered_at
        session.add_all([
            Ticket(owner_id=owners[0].id, topic="asked", status="resolved", created_at=now, mentor_id=7,
                   taken_at=now + timedelta(hours=2), resolved_at=now + timedelta(hours=10), rating=5),
            Ticket(owner_id=owners[1].id, topic="asked", status="resolved", created_at=now, mentor_id=7,
                   taken_at=now + timedelta(hours=4), resolved_at=now + timedelta(hours=30), rating=4),
            Ticket(owner_id=owners[1].id, topic="misunderstood", status="open", created_at=now),
        ])
    with db.session() as session:
        ind = compute(session, content)
    # working hours (Mon-Fri 08:00-16:00 WIB): opened Monday 09:00; resolved 19:00 the same day is
    # 7 working hours, Tuesday 15:00 is 14
    assert ind.figures["median_hours_to_take"] == 3.0 and ind.figures["median_hours_to_resolve"] == 10.5
    assert ind.figures["cases_open"] == 1
    assert ind.figures["satisfaction_index"] == 0.9  # mean 4.5 of 5
    assert dict(_rows(ind, "satisfaction")) == {1: 0, 2: 0, 3: 0, 4: 1, 5: 1}


def test_charts_escape_labels_and_scale_to_the_largest_value():
    svg = str(charts.hbar([("<script>x</script>", 4), ("Jamu", 2)], "Judul & co"))
    assert "<script>" not in svg and "&lt;script&gt;" in svg and "Judul &amp; co" in svg
    assert 'width="360"' in svg and 'width="180.0"' in svg  # 2 of an axis of 4 is half the width
    line = str(charts.line(["a", "b", "c"], [("Total", [0, 3, 1])], "t"))
    assert line.count("<circle") == 3 and "polyline" in line
    assert charts.axis(3) == (3, 3) and charts.axis(37) == (40, 4)


def test_web_texts_have_the_same_keys_and_variables_in_both_languages(content):
    assert check_web_texts(content) == []


def test_gmp_compliance_counts_each_facility_by_its_latest_completed_check(db, content):
    register_owner(db, content, "+628130000041", "Ani", "Kue Ani")
    register_owner(db, content, "+628130000042", "Budi", "Sambal Budi")
    assert "Level IV" in gmp_self_check(db, content, "+628130000041", first_no=6)
    assert "Level I*" in gmp_self_check(db, content, "+628130000041")  # Ani fixed everything: latest counts
    assert "Level IV" in gmp_self_check(db, content, "+628130000042", first_no=6)
    with db.session() as session:
        ind = compute(session, content)
    assert _rows(ind, "gmp_compliance") == [[2, 1, 0.5]]
    assert dict(_rows(ind, "gmp_levels")) == {"I": 1, "II": 0, "III": 0, "IV": 1}
    findings = _rows(ind, "gmp_findings")
    assert len(findings) == 6 and all(row[1] == "cppb_irt" and row[3] == 1 for row in findings)
    assert {row[2] for row in findings} >= {"critical", "serious"}


def test_a_permit_reported_on_the_legality_pathway_moves_the_owner_along_the_funnel(db, content):
    register_owner(db, content, "+628130000051", "Siti", "Keripik Siti", products="keripik singkong", permits=("nib",))
    with db.session() as session:
        before = compute(session, content)
    assert [r[1] for r in _rows(before, "legality_funnel")] == [1, 1, 0, 0]
    say(db, content, "+628130000051", "izin saya")
    say(db, content, "+628130000051", "ya")
    replies = say(db, content, "+628130000051", "sudah dapat P-IRT 206327101012331")
    assert "206327101012331" in replies[0].text
    with db.session() as session:
        after = compute(session, content)
        owner = session.scalars(select(Owner)).one()
    assert [r[1] for r in _rows(after, "legality_funnel")] == [1, 1, 1, 0]
    assert {r[0]: r[1:] for r in _rows(after, "permits_by_type")}["pirt"] == [1, 1]
    assert owner.has_permits == ["nib"]  # the pathway, not the registration answer, knows the P-IRT
