"""Free-text understanding lives in bot/nlu/ (the routing table: bot/nlu/rules.py).

This module keeps the names areas imported before the table existed. `recognizer` and
`answer_hook` no longer register anything: the table lists each area's functions by name
(bot/nlu/rules.py FEATURE_PHRASES, ANSWER_HOOKS), so nothing depends on import order.
"""
from __future__ import annotations

from typing import Callable

from bot.nlu.understand import act, interpret, understand

__all__ = ["act", "answer_hook", "interpret", "recognizer", "understand"]


def recognizer(priority: int, name: str | None = None) -> Callable:
    """Deprecated no-op: list the function in bot/nlu/rules.py instead."""
    return lambda func: func


def answer_hook(func: Callable) -> Callable:
    """Deprecated no-op: list the function in bot/nlu/rules.py ANSWER_HOOKS instead."""
    return func
