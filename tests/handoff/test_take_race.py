"""Taking a case is atomic: when two mentors take the same case at once on PostgreSQL, exactly one
gets it. (SQLite serialises writers, so only PostgreSQL can show a real race.)"""
from __future__ import annotations

import threading
import time

from sqlalchemy import func, select, text

from bot.handoff.actions import Refused, take_case
from storage.models import Ticket, TicketEvent
from storage.models.handoff import Mentor
from tests.handoff.conftest import make_owner, mentor_says, only_case, say

def _open_case(db, content) -> int:
    say(db, content, make_owner(db), "mau bicara dengan pendamping")
    return only_case(db).id


def _mentor_ids(db) -> dict[str, int]:
    with db.session() as session:
        return dict(session.execute(select(Mentor.code, Mentor.id)).all())


def test_second_taker_waits_for_the_first_and_then_gets_nothing(pg_roster, content):
    """Deterministic interleaving: mentor A has updated the row but not committed; mentor B's take
    is seen blocked on A's row lock; A commits; B must find the case taken."""
    db = pg_roster
    assert db.is_postgres
    ticket_id = _open_case(db, content)
    ids = _mentor_ids(db)
    a_updated, b_started = threading.Event(), threading.Event()
    release_a = threading.Event()
    results: dict[str, object] = {}

    def mentor_a():
        with db.session() as session:
            mentor = session.get(Mentor, ids["JO-KJ-FOOD"])
            take_case(session, content, ticket_id, mentor)
            a_updated.set()
            release_a.wait(10)
        results["a"] = "taken"

    def mentor_b():
        a_updated.wait(10)
        with db.session() as session:
            mentor = session.get(Mentor, ids["SPV-BAR"])
            b_started.set()
            try:
                take_case(session, content, ticket_id, mentor)
                results["b"] = "taken"
            except Refused as refused:
                results["b"] = refused

    threads = [threading.Thread(target=mentor_a), threading.Thread(target=mentor_b)]
    for thread in threads:
        thread.start()
    b_started.wait(10)
    # Wait until B's UPDATE is really blocked on A's row lock before letting A commit.
    deadline = time.monotonic() + 10
    with db.engine.connect() as conn:
        while time.monotonic() < deadline:
            waiting = conn.execute(text(
                "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'UPDATE tickets%'"
            )).scalar()
            conn.rollback()  # pg_stat_activity is a snapshot per transaction: take a fresh one
            if waiting:
                break
            time.sleep(0.02)
        else:
            raise AssertionError("mentor B's take never waited on mentor A's row lock")
    release_a.set()
    for thread in threads:
        thread.join(10)
    assert results["a"] == "taken"
    assert isinstance(results["b"], Refused) and results["b"].key == "handoff.taken_by_other"
    assert results["b"].variables["name"] == "Budi"
    with db.session() as session:
        ticket = session.get(Ticket, ticket_id)
        assert ticket.status == "taken" and ticket.mentor_id == ids["JO-KJ-FOOD"]
        assert session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "taken")) == 1


def test_many_mentors_tapping_take_at_once_through_the_pipeline(pg_roster, content):
    """Two mentors (and repeated taps) send /ambil through the real pipeline entry at the same moment."""
    db = pg_roster
    ticket_id = _open_case(db, content)
    barrier = threading.Barrier(6)
    answers: list[str] = []
    errors: list[BaseException] = []

    def tap(chat_id: str, n: int):
        try:
            barrier.wait(10)
            replies = mentor_says(db, content, chat_id, f"/ambil {ticket_id}", message_id=f"tap-{chat_id}-{n}")
            answers.append(replies[0].text)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=tap, args=(chat, n)) for chat in ("900000001", "900000101") for n in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(20)
    assert not errors
    winners = [a for a in answers if "sekarang Anda pegang" in a]
    assert len(winners) == 1, answers
    assert len(answers) == 6
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(TicketEvent).where(TicketEvent.action == "taken")) == 1
        assert session.get(Ticket, ticket_id).status == "taken"
