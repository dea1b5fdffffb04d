"""The handoff area's setup and expectation kinds for dialogue tests (tests/dialogue_runner.py).

    setup:
      mentors: |                       # a roster CSV, imported like `umkm-bot mentors import`
        code,name,telegram,kecamatan,role
        JO-1,Budi Santoso,900000001,Kebon Jeruk,mentor
    turns:
      - expect:
          offered_to: [JO-1]           # exactly these mentors were offered the owner's newest case
          outbox:                      # the newest message queued for an address, or for the owner
            - {to: "900000001", contains: ["#1"], options_contain: ["/ambil 1"]}
            - {to: owner, contains: ["Budi (pendamping)"]}
          case_events: [opened, routed, taken]          # the newest case's actions, in order
"""
from __future__ import annotations

from typing import Any

from sqlalchemy import select

from bot.handoff.roster import import_roster
from storage.models import OutboxMessage, Ticket, TicketEvent
from storage.models.handoff import CaseOffer, Mentor
from tests.dialogue_runner import EXPECT, SETUP, Conversation


def _setup_mentors(conv: Conversation, csv_text: str) -> None:
    with conv.db.session() as session:
        report = import_roster(session, csv_text, conv.content)
        assert report.ok, f"mentor roster in the dialogue does not import: {report.errors}"


def _newest_case(conv: Conversation, session) -> Ticket:
    owner = conv.owner(session)
    assert owner is not None, "owner not found"
    ticket = session.scalars(select(Ticket).where(Ticket.owner_id == owner.id).order_by(Ticket.id.desc())).first()
    assert ticket is not None, "the owner has no case"
    return ticket


def _expect_offered_to(conv: Conversation, codes: list[str]) -> None:
    with conv.db.session() as session:
        ticket = _newest_case(conv, session)
        offered = session.scalars(
            select(Mentor.code).join(CaseOffer, CaseOffer.mentor_id == Mentor.id).where(CaseOffer.ticket_id == ticket.id)
        ).all()
        assert sorted(offered) == sorted(codes), f"case #{ticket.id} offered to {sorted(offered)}, expected {sorted(codes)}"


def _expect_outbox(conv: Conversation, spec: dict[str, Any] | list[dict[str, Any]]) -> None:
    if isinstance(spec, list):
        for one in spec:
            _expect_outbox(conv, one)
        return
    address = conv.user if spec["to"] == "owner" else str(spec["to"])
    with conv.db.session() as session:
        rows = session.scalars(select(OutboxMessage).where(OutboxMessage.address == address)
                               .order_by(OutboxMessage.id)).all()
        assert rows, f"nothing queued for {spec['to']}"
        newest = rows[-1]
        needles = spec.get("contains", [])
        for needle in [needles] if isinstance(needles, str) else needles:
            assert str(needle).lower() in newest.text.lower(), f"{needle!r} not in the newest message to {spec['to']}:\n{newest.text}"
        for option in spec.get("options_contain", []):
            assert any(option.lower() in o.lower() for o in newest.options), f"no option like {option!r} in {newest.options}"
        if "channel" in spec:
            assert newest.channel == spec["channel"], f"sent on {newest.channel}, expected {spec['channel']}"


def _expect_case_events(conv: Conversation, actions: list[str]) -> None:
    with conv.db.session() as session:
        ticket = _newest_case(conv, session)
        found = session.scalars(select(TicketEvent.action).where(TicketEvent.ticket_id == ticket.id)
                                .order_by(TicketEvent.id)).all()
        assert list(found) == actions, f"case #{ticket.id} events {list(found)}, expected {actions}"


SETUP["mentors"] = _setup_mentors
EXPECT["offered_to"] = _expect_offered_to
EXPECT["outbox"] = _expect_outbox
EXPECT["case_events"] = _expect_case_events
