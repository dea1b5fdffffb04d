"""How free text starts things: greetings and the flow entry phrases of content/intents.yaml.

These are recognizers (see bot/understanding.py): the pipeline tries them when a message is no
answer to the current step and no global word. The FAQ comes after them.
"""
from __future__ import annotations

from rapidfuzz import fuzz

from bot.normalize import normalize
from bot.turn import Turn
from bot.understanding import recognizer


FUZZY_CUTOFF = 88
MIN_FUZZY_LEN = 5


def _normalized(turn: Turn, phrases) -> list[str]:
    return [normalize(str(p), turn.content) for p in phrases]


@recognizer(10)
def greeting(turn: Turn) -> bool:
    if turn.norm not in _normalized(turn, turn.content.data("intents.yaml").get("greetings") or []):
        return False
    if turn.owner.consent_at is None and turn.owner.consent_declined_at is None:
        turn.start_flow("registration")
    elif turn.state.flow and turn.state.flow != "menu":
        return True  # a greeting mid-flow: the pipeline re-asks the step
    else:
        turn.show_menu()
    return True


def entry_flow(turn: Turn) -> str | None:
    """The flow whose entry phrase the owner typed, if any."""
    from flows import FLOWS

    norm = turn.norm
    padded = f" {norm} "
    question = turn.looks_like_question()
    for flow_name, phrases in (turn.content.data("intents.yaml").get("flows") or {}).items():
        if flow_name not in FLOWS:
            continue
        for phrase in _normalized(turn, phrases):
            if norm == phrase:
                return flow_name
            if len(phrase) >= MIN_FUZZY_LEN and fuzz.ratio(norm, phrase) >= FUZZY_CUTOFF:
                return flow_name
            if " " in phrase and not question and f" {phrase} " in padded:
                return flow_name
    return None


@recognizer(20)
def flow_entry(turn: Turn) -> bool:
    name = entry_flow(turn)
    if name is None:
        return False
    turn.start_flow(name)
    return True


__all__ = ["entry_flow", "flow_entry", "greeting"]
