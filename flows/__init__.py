"""Conversation logic, one module per flow. Every module here that defines `FLOW` is registered."""
from __future__ import annotations

import importlib
import pkgutil

from flows.base import NOT_UNDERSTOOD, Flow, Step

FLOWS: dict[str, Flow] = {}

for _module in pkgutil.iter_modules(__path__):
    if _module.name == "base":
        continue
    _loaded = importlib.import_module(f"{__name__}.{_module.name}")
    _flow = getattr(_loaded, "FLOW", None)
    if isinstance(_flow, Flow):
        FLOWS[_flow.name] = _flow


def get_flow(name: str | None) -> Flow | None:
    return FLOWS.get(name) if name else None


__all__ = ["FLOWS", "NOT_UNDERSTOOD", "Flow", "Step", "get_flow"]
