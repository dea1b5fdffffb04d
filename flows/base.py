"""What a flow is: a visible table of steps.

A flow module defines `FLOW = Flow(name, steps={...}, start=...)`. Each `Step` has a `prompt`
(say the question) and a `handle` (read the answer, then `turn.goto(...)` or `turn.end_flow()`),
returning `NOT_UNDERSTOOD` when the text is no answer to this step, so the pipeline can try the
owner's words as a question or a command while keeping the place in the flow.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from bot.turn import Turn


class _NotUnderstood:
    def __repr__(self) -> str:
        return "NOT_UNDERSTOOD"


NOT_UNDERSTOOD: Any = _NotUnderstood()


@dataclass(frozen=True)
class Step:
    prompt: Callable[["Turn"], None]
    handle: Callable[["Turn"], Any]
    accepts_media: bool = False  # photos are answers here (e.g. GMP evidence)
    # Called when the step got no answer, nothing else took the message and it was no question,
    # with the misses in a row; True when it said what to say (else the pipeline's "not understood").
    on_miss: Callable[["Turn", int], bool] | None = None
    # The question asks what the owner has: "blm ada ijin apa2" answers it, though it reads as a question.
    reads_statements: bool = False
    # The step answers these messages itself, even when they read as a clear question of their own
    # ("ibu gak ngerti hp" at the data question: no phone skills needed, said there and then).
    answers_first: Callable[["Turn"], bool] | None = None


@dataclass(frozen=True)
class Flow:
    name: str
    steps: dict[str, Step]
    # Entering the flow: picks the step (and may resume where the owner left off).
    start: Callable[["Turn"], None]
    requires_consent: bool = True
    # Said when the owner types BATAL inside this flow; the default is common.cancelled.
    on_cancel: Callable[["Turn"], None] | None = None
    description: str = ""
    entry: dict[str, Any] = field(default_factory=dict)
