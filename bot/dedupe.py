"""Provider message ids already handled, so a redelivered webhook is dropped."""
from __future__ import annotations

from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from bot.messages import Inbound
from storage.models import InboundMessage

TABLE = InboundMessage.__table__


def first_delivery(session: Session, inbound: Inbound) -> bool:
    """Record the message id; False when it was seen before. A message without an id (the
    console) is never a duplicate.

    One statement, `INSERT ... ON CONFLICT DO NOTHING RETURNING`: a row back means this is the
    first delivery. Two workers racing on the same id: the unique constraint lets exactly one of
    them through (the second waits for the first's transaction, then sees the conflict)."""
    if not inbound.message_id:
        return True
    dialect_insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    inserted = session.execute(
        dialect_insert(TABLE)
        .values(channel=inbound.channel, message_id=inbound.message_id, received_at=inbound.received_at)
        .on_conflict_do_nothing(index_elements=["channel", "message_id"])
        .returning(TABLE.c.id)
    ).first()
    return inserted is not None
