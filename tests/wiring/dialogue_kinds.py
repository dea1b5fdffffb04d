"""Expectation kinds for dialogues that cross areas (tests/dialogues/wiring_*.yaml).

    - expect:
        sweep: {queued: 1, contains: ["Sertifikat PKP"]}   # run the reminder sweep now (as the
                                                           # scheduler would): it queues exactly this many,
                                                           # and each text queued for the owner contains these
        case_pathway: {keripik singkong: ["P-IRT: selesai"]}   # the newest case's pathway lines contain these
"""
from __future__ import annotations

from sqlalchemy import select

from tests.gmp.helpers import sweep_due  # the sweep, then the sender writing its messages
from storage.models import OutboxMessage, Ticket
from tests.dialogue_runner import EXPECT, Conversation


def _expect_sweep(conv: Conversation, spec: dict) -> None:
    with conv.db.session() as session:
        before = session.scalar(select(OutboxMessage.id).order_by(OutboxMessage.id.desc()).limit(1)) or 0
    report = sweep_due(conv.db, conv.content, collect_ids=True)
    assert report.queued == spec.get("queued", 0), f"sweep queued {report.queued}, expected {spec.get('queued', 0)}"
    with conv.db.session() as session:
        texts = list(session.scalars(select(OutboxMessage.text).where(
            OutboxMessage.id > before, OutboxMessage.kind == "reminder", OutboxMessage.address == conv.user)))
    needles = spec.get("contains", [])
    assert texts or not needles, f"nothing queued for the owner, expected a reminder containing {needles!r}"
    for text in texts:
        for needle in [needles] if isinstance(needles, str) else needles:
            assert str(needle).lower() in text.lower(), f"{needle!r} not in the reminder:\n{text}"


def _expect_case_pathway(conv: Conversation, spec: dict) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session)
        ticket = session.scalars(select(Ticket).where(Ticket.owner_id == owner.id).order_by(Ticket.id.desc())).first()
        assert ticket is not None, "the owner has no case"
        pathway = (ticket.context or {}).get("pathway") or {}
        for where, needles in spec.items():
            assert where in pathway, f"case #{ticket.id} pathway has no line for {where!r}: {pathway}"
            for needle in [needles] if isinstance(needles, str) else needles:
                assert needle in pathway[where], f"{needle!r} not in case pathway line {where!r}: {pathway[where]!r}"


EXPECT["sweep"] = _expect_sweep
EXPECT["case_pathway"] = _expect_case_pathway
