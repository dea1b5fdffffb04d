"""Fixtures for the handoff area: a small mentor roster and registered owners in known places."""
from __future__ import annotations

import itertools

import pytest
from sqlalchemy import select

from bot.clock import utcnow
from bot.handoff.roster import import_roster
from bot.messages import Inbound, Reply
from bot.pipeline import handle
from storage.models import OutboxMessage, Owner, Ticket
from storage.models.handoff import Mentor

ROSTER = """code,name,telegram,whatsapp,kecamatan,sectors,role,active
JO-KJ-FOOD,Budi Santoso,900000001,,Kebon Jeruk | Palmerah,makanan,mentor,ya
JO-KJ-COS,Sri Wahyuni,900000002,,Kebon Jeruk,kosmetik,mentor,ya
JO-CKR,Agus Pratama,900000003,,Cengkareng,semua,mentor,ya
JO-DS,Dewi Lestari,900000004,+6281200000004,Duren Sawit,semua,mentor,ya
JO-OFF,Lina Marlina,900000005,,Tebet,semua,mentor,tidak
SPV-BAR,Indra Gunawan,900000101,,Jakarta Barat,,supervisor,ya
SPV-DKI,Kartika Putri,900000100,,semua,,supervisor,ya
"""

_numbers = itertools.count(1)


def _with_roster(db, content):
    with db.session() as session:
        report = import_roster(session, ROSTER, content)
        assert report.ok, report.errors
    return db


@pytest.fixture
def roster(db, content):
    """The database (SQLite and PostgreSQL runs) with the ROSTER imported."""
    return _with_roster(db, content)


@pytest.fixture
def pg_roster(pg_db, content):
    """PostgreSQL only, with the ROSTER imported: for the row-lock races."""
    return _with_roster(pg_db, content)


def make_owner(db, *, name="Sari Dewi", sector="food", city="jakarta-barat", district="kebon-jeruk",
               channel="whatsapp", address=None) -> str:
    """A registered owner who agreed to data storage; returns the address."""
    address = address or f"+62813{next(_numbers):08d}"
    with db.session() as session:
        session.add(Owner(channel=channel, address=address, lang="id", name=name, business_name=f"Usaha {name}",
                          sector=sector, products=["keripik"], city=city, district=district,
                          in_jakarta=city is not None, has_permits=["nib"], consent_at=utcnow(),
                          registered_at=utcnow()))
    return address


def say(db, content, address: str, text: str, channel: str = "whatsapp", media=(), message_id: str = "") -> list[Reply]:
    return handle(Inbound(channel=channel, address=address, text=text, media=tuple(media),
                          message_id=message_id, synchronous=True), db=db, content=content)


def mentor_says(db, content, chat_id: str, text: str, message_id: str = "") -> list[Reply]:
    return say(db, content, chat_id, text, channel="telegram", message_id=message_id)


def outbox_to(db, address: str) -> list[OutboxMessage]:
    with db.session() as session:
        return list(session.scalars(select(OutboxMessage).where(OutboxMessage.address == address)
                                    .order_by(OutboxMessage.id)).all())


def only_case(db) -> Ticket:
    with db.session() as session:
        return session.scalars(select(Ticket)).one()


def mentor(db, code: str) -> Mentor:
    with db.session() as session:
        return session.scalars(select(Mentor).where(Mentor.code == code)).one()
