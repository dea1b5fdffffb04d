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


def write_marked(db, content, now=None) -> int:
    """What a running sender does at the start of each claim: write the outbox messages of the
    reminders a sweep marked (bot/reminders.py `feed_outbox`), here all of them at once."""
    from bot.reminders import feed_outbox

    with db.session() as session:
        return feed_outbox(session, content, now, limit=1_000_000)


def sweep_due(db, content, now=None, **kwargs):
    """The reminder sweep, then the sender's first step (`write_marked`): for tests that read the
    outbox messages a sweep leads to."""
    from bot.reminders import sweep_due as sweep

    report = sweep(db, content, now, **kwargs)
    write_marked(db, content, now)
    return report
