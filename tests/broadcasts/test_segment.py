"""Segment specs: parsing with clear errors, and which owners each field selects (both databases)."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select

from bot import segment as segments
from storage.models import Owner
from storage.models.gmp import GmpCheck
from storage.models.legality import PathwayStep
from tests.broadcasts.factories import make_owner


def ids(session, spec: str) -> set[int]:
    return set(session.execute(segments.parse(spec).matches_query()).scalars())


@pytest.fixture
def town(db):
    """A small cast of owners, each differing from `base` in one way."""
    with db.session() as session:
        o = {
            "base": make_owner(session, name="Siti", has_permits=["nib"], products=["Keripik Pisang", "rempeyek"]),
            "pirt": make_owner(session, has_permits=["nib", "pirt"], products=["sambal"]),
            "barat": make_owner(session, city="Jakarta Barat", district="kebon-jeruk"),
            "duren": make_owner(session, district="Duren Sawit"),
            "kosmetik": make_owner(session, sector="cosmetics", products=["sabun sereh"]),
            "jamu": make_owner(session, sector="herbal", products=["jamu kunyit asam"], lang="en"),
            "new": make_owner(session, registered_at=datetime(2026, 10, 1, 3, tzinfo=timezone.utc)),
            "telegram": make_owner(session, channel="telegram", address="5550001"),
            # never selected, whatever the spec:
            "stopped": make_owner(session, opted_out_at=datetime(2026, 5, 1, tzinfo=timezone.utc)),
            "unreachable": make_owner(session, unreachable_at=datetime(2026, 5, 1, tzinfo=timezone.utc)),
            "no_consent": make_owner(session, consent_at=None),
            "console": make_owner(session, channel="console", address="demo"),
        }
        return {name: owner.id for name, owner in o.items()}


def test_all_selects_only_reachable_owners(db, town):
    with db.session() as session:
        assert ids(session, "all") == {town[n] for n in ("base", "pirt", "barat", "duren", "kosmetik", "jamu",
                                                          "new", "telegram")}


@pytest.mark.parametrize("spec, expected", [
    ("kota=jakarta-barat", {"barat"}),
    ("city=jakarta_barat", {"barat"}),  # "Jakarta Barat" stored with a space: hyphen, underscore, space all match
    ("kecamatan=duren-sawit", {"duren"}),
    ("kecamatan=duren-sawit,kebon-jeruk", {"duren", "barat"}),
    ("sector=cosmetics,herbal", {"kosmetik", "jamu"}),
    ("sektor=jamu", {"jamu"}),
    ("produk=keripik", {"base"}),  # case-insensitive, part of a product name
    ("products=sabun,jamu", {"kosmetik", "jamu"}),
    ("stage=has:pirt", {"pirt"}),
    ("lang=en", {"jamu"}),
    ("since=2026-09-30", {"new"}),
    ("until=2026-01-10", {"base", "pirt", "barat", "duren", "kosmetik", "jamu", "telegram"}),
    ("channel=telegram", {"telegram"}),
    ("sector=food kota=jakarta-timur stage=no:pirt kecamatan=cakung",
     {"base", "new", "telegram"}),
])
def test_each_field_selects_its_owners(db, town, spec, expected):
    with db.session() as session:
        assert ids(session, spec) == {town[n] for n in expected}


def test_stage_no_pirt_means_pirt_not_among_permits(db, town):
    with db.session() as session:
        selected = ids(session, "tahap=belum:p-irt")
        permits = dict(session.execute(select(Owner.id, Owner.has_permits).where(Owner.id.in_(selected))).all())
    assert town["pirt"] not in selected and town["base"] in selected
    assert all("pirt" not in held for held in permits.values())


def test_since_is_a_jakarta_date(db):
    # 2026-10-01 00:30 WIB is still 2026-09-30 in UTC: it counts as registered on 1 October.
    with db.session() as session:
        early = make_owner(session, registered_at=datetime(2026, 9, 30, 17, 30, tzinfo=timezone.utc)).id
        make_owner(session, registered_at=datetime(2026, 9, 30, 16, 30, tzinfo=timezone.utc))
        assert ids(session, "since=2026-10-01") == {early}


@pytest.mark.parametrize("spec, words", [
    ("", ["empty", "`all`"]),
    ("kota=", ["empty value"]),
    ("sektr=food", ["Unknown field `sektr`", "Did you mean `sektor`"]),
    ("sector=fod", ["unknown sector", "food"]),
    ("stage=pirt", ["`no:<permit>`"]),
    ("stage=no:sni", ["permit one of"]),
    ("since=1/12/2026", ["YYYY-MM-DD"]),
    ("lang=jv", ["unknown language"]),
    ("sector=food sector=herbal", ["given twice"]),
    ("all sector=food", ["cannot be combined"]),
    ("since=2026-05-01 until=2026-01-01", ["before `until`"]),
    ("gmp=5", ["1, 2, 3 or 4"]),
    ("stage=needs:sni", ["permit one of"]),
    ("produk=keripik%", ["letters, digits"]),
    ("food", ["not a `field=value` term"]),
])
def test_bad_specs_are_refused_with_a_clear_reason(spec, words):
    with pytest.raises(segments.SegmentError) as caught:
        segments.parse(spec)
    message = str(caught.value)
    for word in words:
        assert word in message


def test_every_problem_is_reported_at_once():
    with pytest.raises(segments.SegmentError) as caught:
        segments.parse("sektr=food lang=jv stage=pirt")
    assert len(caught.value.problems) == 3


def test_spec_with_spaces_in_a_value_reads_as_intended():
    parsed = segments.parse("kota=jakarta timur sector=food")
    assert parsed.terms == {"city": ("jakarta-timur",), "sector": ("food",)}


def _step(session, owner, step, kind, status):
    session.add(PathwayStep(owner_id=owner.id, product_id=None, slot="owner", step=step, permit_kind=kind,
                            position=20, status=status, source="pathway"))


def _check(session, owner, level, completed_days_ago, status="completed"):
    done = datetime(2026, 11, 1, tzinfo=timezone.utc) - timedelta(days=completed_days_ago)
    session.add(GmpCheck(owner_id=owner.id, checklist="cppb_irt", status=status, level=level,
                         completed_at=done if status == "completed" else None))


def test_stage_reads_the_legality_pathway_and_what_registration_was_told(db):
    with db.session() as session:
        applying = make_owner(session)  # P-IRT applied for, not issued
        _step(session, applying, "pirt", "pirt", "sedang")
        issued = make_owner(session)  # P-IRT issued, on the pathway only
        _step(session, issued, "pirt", "pirt", "selesai")
        told = make_owner(session, has_permits=["pirt"])  # said so at registration, no pathway yet
        waiting = make_owner(session)  # on the P-IRT route, not started
        _step(session, waiting, "pirt", "pirt", "belum")
        md = make_owner(session)
        _step(session, md, "md", "md", "selesai")
        said_bpom = make_owner(session, has_permits=["bpom"])
        o = {"applying": applying.id, "issued": issued.id, "told": told.id, "waiting": waiting.id,
             "md": md.id, "said_bpom": said_bpom.id}
        everyone = set(o.values())
        assert ids(session, "stage=has:pirt") == {o["issued"], o["told"]}
        assert ids(session, "stage=no:p-irt") == everyone - {o["issued"], o["told"]}
        assert ids(session, "stage=needs:pirt") == {o["applying"], o["waiting"]}
        assert ids(session, "tahap=sedang:pirt") == {o["applying"]}
        assert ids(session, "stage=has:bpom") == {o["md"], o["said_bpom"]}
        assert ids(session, "stage=has:md") == {o["md"]}


def test_gmp_level_is_the_latest_finished_self_check(db):
    with db.session() as session:
        improved = make_owner(session)
        _check(session, improved, "IV", completed_days_ago=60)
        _check(session, improved, "II", completed_days_ago=5)
        _check(session, improved, None, completed_days_ago=0, status="in_progress")  # not finished: ignored
        worst = make_owner(session)
        _check(session, worst, "IV", completed_days_ago=10)
        never = make_owner(session)
        assert ids(session, "gmp=2") == {improved.id}
        assert ids(session, "gmp=iv") == {worst.id}
        assert ids(session, "gmp=3,4") == {worst.id}
        assert ids(session, "gmp=none") == {never.id}
        assert ids(session, "gmp=2,none") == {improved.id, never.id}
