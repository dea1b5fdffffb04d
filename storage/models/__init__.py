"""All models. Each feature keeps its tables in its own module here; importing this package
registers every module's tables on `Base.metadata` (Alembic and the tests rely on that)."""
from __future__ import annotations

import importlib
import pkgutil

from storage.models.base import Base
from storage.models.core import (
    ConversationState,
    InboundMessage,
    MessageLog,
    OutboxMessage,
    Owner,
    Ticket,
    TicketEvent,
)

for _module in pkgutil.iter_modules(__path__):
    importlib.import_module(f"{__name__}.{_module.name}")

__all__ = [
    "Base",
    "ConversationState",
    "InboundMessage",
    "MessageLog",
    "OutboxMessage",
    "Owner",
    "Ticket",
    "TicketEvent",
]
