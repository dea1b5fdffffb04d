"""Scripted owners and dashboard users for the dashboard's tests: owners go through the real
pipeline (bot.pipeline.handle), exactly as they would on WhatsApp."""
from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from bot.config import load_settings
from bot.dashboard import auth
from bot.messages import Inbound
from bot.pipeline import handle
from bot.services import Services

AREAS = ["jakarta-pusat", "jakarta-utara", "jakarta-barat", "jakarta-selatan", "jakarta-timur", "kepulauan-seribu"]
SECTORS = ["food", "cosmetics", "herbal", "other"]
PERMITS = ["nib", "pirt", "bpom", "halal", "pkp"]
PASSWORD = "a long test password"


def say(db, content, address: str, text: str, channel: str = "whatsapp"):
    return handle(Inbound(channel=channel, address=address, text=text, synchronous=True), db=db, content=content)


def register_owner(db, content, address: str, name: str, business: str, sector: str = "food",
                   products: str = "keripik singkong", area: str = "jakarta-barat", district: str = "kebon jeruk",
                   permits: tuple[str, ...] = ()) -> None:
    """Walk one owner through registration in the bot, answering by number like most owners do."""
    answers = ["halo", "1", name, business, str(SECTORS.index(sector) + 1), products,
               str(AREAS.index(area) + 1), district,
               " ".join(str(PERMITS.index(p) + 1) for p in permits) if permits else "6", "1"]
    for text in answers:
        replies = say(db, content, address, text)
    assert replies and "✅" in replies[-1].text, [r.text for r in replies]


def make_services(db, content, data_dir: Path) -> Services:
    settings = dataclasses.replace(load_settings(), database_url=db.url, data_dir=data_dir,
                                   secret_key="test-secret-key-for-sessions")
    return Services(settings=settings, db=db, content=content)


def make_user(db, username: str, role: str, mentor_id: int | None = None, password: str = PASSWORD):
    with db.session() as session:
        user = auth.create_user(session, username, password, role, mentor_id)
        return user.id


CSRF_RE = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    return CSRF_RE.search(html).group(1)


def sign_in(client, username: str, password: str = PASSWORD):
    token = csrf_of(client.get("/dash/login").text)
    return client.post("/dash/login", data={"username": username, "password": password, "csrf_token": token},
                       follow_redirects=False)


REPO = Path(__file__).resolve().parent.parent.parent
DEMO_ROSTER = REPO / "content" / "handoff" / "demo_mentors.csv"


def load_demo_roster(db, content) -> dict[str, int]:
    """The handoff area's demo roster (13 mentors and supervisors); returns mentor ids by code."""
    from sqlalchemy import select

    from bot.handoff.roster import import_roster
    from storage.models.handoff import Mentor

    with db.session() as session:
        report = import_roster(session, DEMO_ROSTER.read_text(encoding="utf-8"), content)
        assert report.ok, report.errors
        return {m.code: m.id for m in session.scalars(select(Mentor))}


def ask_for_mentor(db, content, address: str) -> int:
    """A registered owner asks for a mentor in the bot; returns the case id."""
    from sqlalchemy import select

    from storage.models import Owner, Ticket

    say(db, content, address, "mau bicara dengan pendamping")
    with db.session() as session:
        owner_id = session.scalar(select(Owner.id).where(Owner.address == address))
        return session.scalar(select(Ticket.id).where(Ticket.owner_id == owner_id).order_by(Ticket.id.desc()))


def gmp_self_check(db, content, address: str, first_no: int = 0) -> str:
    """The owner does the GMP self-check in the bot, answering "tidak" to the first `first_no`
    questions and "ya" to the rest; returns the result message."""
    replies = say(db, content, address, "cek kebersihan dapur")
    replies = say(db, content, address, "1")  # Mulai
    for index in range(200):
        if any("Hasil cek" in r.text for r in replies):
            say(db, content, address, "2")  # Selesai: leave the result step
            return next(r.text for r in replies if "Hasil cek" in r.text)
        replies = say(db, content, address, "tidak" if index < first_no else "ya")
    raise AssertionError("the self-check did not end")
