"""Provider message ids already handled, so a redelivered webhook is dropped."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from bot.messages import Inbound
from storage.models import InboundMessage


def first_delivery(session: Session, inbound: Inbound) -> bool:
    """Record the message id; False when it was seen before. A message without an id (the
    console) is never a duplicate. Two workers racing on the same id: the unique constraint
    lets exactly one of them through."""
    if not inbound.message_id:
        return True
    seen = session.scalar(select(InboundMessage.id).where(InboundMessage.channel == inbound.channel,
                                                          InboundMessage.message_id == inbound.message_id))
    if seen is not None:
        return False
    try:
        with session.begin_nested():
            session.add(InboundMessage(channel=inbound.channel, message_id=inbound.message_id,
                                       received_at=inbound.received_at))
    except IntegrityError:
        return False
    return True
