"""Free-text understanding: what the owner's words mean when they are no answer to a step.

Recognizers are tried in order of `priority` (lower first). Each gets the Turn and returns True
when it handled the message (said something, maybe started a flow). Feature modules register
their own with `@recognizer(priority)`: flow entry phrases (foundation), the FAQ (legality), ...
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable

if TYPE_CHECKING:
    from bot.turn import Turn


@dataclass(frozen=True)
class Recognizer:
    priority: int
    name: str
    func: Callable[["Turn"], bool]


RECOGNIZERS: list[Recognizer] = []


def recognizer(priority: int, name: str | None = None):
    def register(func: Callable[["Turn"], bool]) -> Callable[["Turn"], bool]:
        RECOGNIZERS.append(Recognizer(priority, name or func.__name__, func))
        RECOGNIZERS.sort(key=lambda r: r.priority)
        return func

    return register


# Step e2 of the pipeline: answers to a message the bot sent on its own (an event invitation)
# after the owner's last turn, tried before the active flow's step. Each returns True when it
# took the message. Register with `@answer_hook`.
ANSWER_HOOKS: list[Callable[["Turn"], bool]] = []


def answer_hook(func: Callable[["Turn"], bool]) -> Callable[["Turn"], bool]:
    ANSWER_HOOKS.append(func)
    return func


def understand(turn: "Turn") -> bool:
    import flows  # noqa: F401  (flow modules register their recognizers on import)

    return any(r.func(turn) for r in RECOGNIZERS)
