"""One clarifying question, only when two or three interpretations are close.

    Owner: halal
    Bot:   Maksud Anda yang mana?  1. Pertanyaan soal izin  2. Catat kemajuan izin saya

The options are the close interpretations only (2-3, never one, no "Tanya pendamping" filler).
The pick runs that interpretation on the message the owner first wrote.
"""
from __future__ import annotations

from typing import TYPE_CHECKING

from bot.choices import Option

if TYPE_CHECKING:
    from bot.nlu.understand import Candidate
    from bot.turn import Turn

INTERRUPT = "nlu_clarify"
DATA_KEY = "nlu_clarify"


def _options(turn: "Turn", names: list[str]) -> list[Option]:
    from bot.nlu.rules import RULES_BY_NAME

    return [turn.option(name, RULES_BY_NAME[name].option) for name in names if name in RULES_BY_NAME]


def ask(turn: "Turn", candidates: list["Candidate"]) -> None:
    turn.data[DATA_KEY] = {"text": turn.text, "options": [{"name": c.name, "slots": c.slots} for c in candidates]}
    turn.state.interrupt = INTERRUPT
    turn.say("nlu.clarify", options=_options(turn, [c.name for c in candidates]))


def handle_pick(turn: "Turn") -> bool:
    from bot.nlu import act
    from bot.nlu.rules import RULES_BY_NAME
    from bot.nlu.understand import Candidate, _run

    pending = turn.data.pop(DATA_KEY, None) or {}
    options = pending.get("options") or []
    choice = turn.choose(_options(turn, [o["name"] for o in options]))
    if choice is None:
        return False
    picked = next(o for o in options if o["name"] == choice.key)
    rule = RULES_BY_NAME[picked["name"]]
    with act.with_text(turn, pending.get("text") or turn.text):
        taken = _run(turn, Candidate(rule, 1.0, dict(picked.get("slots") or {})))
    if not taken:
        turn.say("common.question_unknown")  # the pick was the owner's answer: never re-read "2"
    return True
