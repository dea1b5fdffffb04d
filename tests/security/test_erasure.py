"""HAPUS DATA leaves nothing behind: every column of every table, and the evidence folder, are
scanned for the erased owner's number, name, business and id. The retention schedule is
checked with a frozen clock."""
from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from bot import retention
from bot.clock import utcnow
from bot.dashboard import auth
from bot.handoff.roster import import_roster
from storage.models import Base, InboundMessage, MessageLog, OutboxMessage, Owner
from storage.models.channels import ChannelInbox
from storage.models.staff import AuditLog
from tests.channels.conftest import ACCOUNT_SID

NUMBER = "+6281234509876"
NAME = "Kartini Wulandari"
BUSINESS = "Keripik Tempe Sejahtera"
OTHER = "+6281234501111"


def _scan(db, needles: list[str], owner_id: int) -> list[str]:
    found = []
    with db.engine.connect() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if column.endswith("owner_id") and value == owner_id:
                        found.append(f"{table.name}.{column} = {owner_id}")
                    text = json.dumps(value, default=str, ensure_ascii=False) if value is not None else ""
                    for needle in needles:
                        if needle in text:
                            found.append(f"{table.name}.{column}: {needle!r} in {text[:120]!r}")
    return found


def _register(harness, sender: str, name: str, business: str) -> None:
    for words in ["halo", "1", name, business, "1", "keripik tempe", "3", "kebon jeruk", "6", "1"]:
        assert harness.twilio_post(harness.twilio_form(words, sender=sender)).status_code == 200


def test_hapus_data_erases_every_copy(make_harness, monkeypatch, tmp_path, content, clock):
    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    harness = make_harness()
    with harness.db.session() as session:
        assert not import_roster(session, (content.root / "handoff" / "demo_mentors.csv").read_bytes(), content).errors
    sender = f"whatsapp:{NUMBER}"
    _register(harness, sender, NAME, BUSINESS)
    _register(harness, f"whatsapp:{OTHER}", "Siti Rahayu", "Warung Siti")
    # a photo kept as evidence
    photo_path = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Messages/MM1/Media/ME1"
    harness.fake.files[photo_path] = ("image/jpeg", b"\xff\xd8\xff fake jpeg")
    harness.twilio_post(harness.twilio_form("", sender=sender, NumMedia=1, MediaUrl0=harness.fake.url + photo_path,
                                            MediaContentType0="image/jpeg"))
    # a case for a mentor: the alert names the owner, business and kecamatan
    harness.twilio_post(harness.twilio_form("pendamping", sender=sender))
    harness.send()
    with harness.db.session() as session:
        owner = session.scalars(select(Owner).where(Owner.address == NUMBER)).one()
        owner_id = owner.id
        alerts = session.scalars(select(OutboxMessage).where(OutboxMessage.owner_id.is_(None))).all()
        assert any(NAME.split()[0] in a.text for a in alerts), [a.text for a in alerts]
        # a message that failed for good keeps its whole payload in the inbound queue
        session.add(ChannelInbox(channel="whatsapp", message_id="SMfailed", address=NUMBER, status="failed",
                                 payload={"text": f"saya {NAME}"}, attempts=5, received_at=utcnow(),
                                 processed_at=utcnow(), error="boom"))
        auth.audit(session, "staf", "owner_viewed", f"owner:{owner_id}", f"{NAME} / {BUSINESS}")
    evidence = list((tmp_path / "evidence").rglob("*.*"))
    assert evidence, "the photo was kept"
    assert _scan(harness.db, [NUMBER.lstrip("+"), NAME, BUSINESS, f"owner:{owner_id}"], owner_id)

    harness.twilio_post(harness.twilio_form("hapus data", sender=sender))
    harness.twilio_post(harness.twilio_form("1", sender=sender))
    harness.send()
    farewell = harness.fake.twilio_messages(sender)[-1]["Body"]
    assert "hapus" in farewell.lower()
    retention.apply(harness.db)  # the scheduler's job: the delivered farewell is emptied

    found = _scan(harness.db, [NUMBER.lstrip("+"), NUMBER[-9:], NAME, NAME.split()[1], BUSINESS,
                               f"owner:{owner_id}"], owner_id)
    assert found == []
    assert not any(path.exists() for path in evidence)
    for path in (tmp_path / "evidence").rglob("*"):
        assert NUMBER[-9:] not in path.name and str(owner_id) != path.stem
    with harness.db.session() as session:  # the other owner is untouched
        assert session.scalars(select(Owner).where(Owner.address == OTHER)).one().name == "Siti Rahayu"
        assert session.scalars(select(AuditLog).where(AuditLog.subject == "owner:erased")).all()


def test_the_retention_schedule_with_a_frozen_clock(db, clock):
    now = utcnow()
    with db.session() as session:
        owner = Owner(channel="whatsapp", address=OTHER, lang="id", products=[], created_at=now)
        session.add(owner)
        session.flush()
        for age, status in ((1, "done"), (3, "done"), (10, "failed"), (15, "failed"), (15, "pending")):
            session.add(ChannelInbox(channel="whatsapp", message_id=f"SM{age}{status}", address=OTHER, status=status,
                                     payload={}, attempts=1, received_at=now - timedelta(days=age),
                                     processed_at=now - timedelta(days=age)))
        for age, status in ((10, "sent"), (40, "delivered"), (40, "pending"), (400, "sent")):
            session.add(OutboxMessage(owner_id=owner.id, channel="whatsapp", address=OTHER, kind="reply", text="hai",
                                      status=status, created_at=now - timedelta(days=age)))
        for age in (100, 400):
            session.add(MessageLog(owner_id=owner.id, direction="in", text="halo",
                                   created_at=now - timedelta(days=age)))
            session.add(AuditLog(who="staf", action="owner_viewed", subject=f"owner:{owner.id}", detail="",
                                 at=now - timedelta(days=age * 2)))
            session.add(InboundMessage(channel="whatsapp", message_id=f"SMid{age}",
                                       received_at=now - timedelta(days=age // 10)))
    report = retention.apply(db)
    assert (report.inbox, report.outbox_deleted, report.outbox_emptied, report.message_log, report.audit_log,
            report.provider_ids) == (2, 1, 1, 1, 1, 1)
    with db.session() as session:
        inbox = sorted((r.status, (now - r.received_at).days) for r in session.scalars(select(ChannelInbox)))
        assert inbox == [("done", 1), ("failed", 10), ("pending", 15)]
        outbox = sorted(((now - r.created_at).days, r.status, r.text) for r in session.scalars(select(OutboxMessage)))
        assert outbox == [(10, "sent", "hai"), (40, "delivered", ""), (40, "pending", "hai")]
    clock.shift(timedelta(days=300))
    later = retention.apply(db)
    assert later.message_log == 1 and later.outbox_emptied == 1
    assert retention.apply(db) == retention.RetentionReport()  # nothing twice
