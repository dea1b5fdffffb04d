"""Small builders shared by the GMP and reminder tests."""
from __future__ import annotations

from datetime import datetime, timezone

from storage.models import Owner

WIB_0900 = datetime(2026, 11, 23, 2, 0, tzinfo=timezone.utc)  # the `clock` fixture's moment


def add_owner(session, n: int = 1, lang: str = "id", channel: str = "whatsapp", **fields) -> Owner:
    owner = Owner(channel=channel, address=f"+628120000{n:05d}", lang=lang, products=[], has_permits=[],
                  **fields)
    session.add(owner)
    session.flush()
    return owner
