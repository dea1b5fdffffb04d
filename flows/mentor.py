"""Ask for a human mentor (JakOfficer).

Entry: PENDAMPING, "mau bicara dengan pendamping", "tolong", the menu item.
Steps: none; starting the flow opens (or joins) the owner's "asked" case and says what happens next.

    Owner: mau bicara dengan pendamping
    Bot:   Baik, permintaan Anda sudah saya teruskan ke pendamping ... dalam 1×24 jam kerja.
"""
from __future__ import annotations

from bot.cases import open_case
from bot.turn import Turn
from flows.base import Flow


def start(turn: Turn) -> None:
    _ticket, created = open_case(turn.session, turn.owner, topic="asked",
                                 reason=turn.text or "owner asked for a mentor", actor="owner")
    turn.end_flow()
    turn.say("mentor.opened" if created else "mentor.already_open")


FLOW = Flow(name="mentor", steps={}, start=start, description="Owner asks for a mentor.")
