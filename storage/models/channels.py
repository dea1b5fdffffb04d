"""Tables of the real channels: the inbound queue between a webhook and the pipeline, and the
delivery events of the outbox sender.

`ChannelInbox` lets a webhook answer its provider at once: the request only stores the message
(dropping a redelivered provider id on the unique key) and inbox workers hand it to the pipeline
in batches, one at a time per owner address, oldest first (bot/channels/inbox.py).

`OutboxEvent` is an append-only record of what happened to outgoing messages beyond their current
status: retries and their errors, messages recorded as unsendable and why, owners found
unreachable, a WhatsApp 24-hour window closed by the provider (error 63016), resends of a message
whose sender died mid-send.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime

ADDRESS_LENGTH = 160
_UNFINISHED = "status IN ('pending', 'processing')"  # WhatsApp business-scoped user ids are "CC." + up to 128 characters


class ChannelInbox(Base):
    __tablename__ = "channel_inbox"
    __table_args__ = (
        UniqueConstraint("channel", "message_id", name="uq_channel_inbox_channel_message_id"),
        # Only unfinished rows are indexed for the claim (throughput migration).
        Index("ix_channel_inbox_unfinished", "id", postgresql_where=text(_UNFINISHED),
              sqlite_where=text(_UNFINISHED)),
        Index("ix_channel_inbox_unfinished_address", "channel", "address", "id",
              postgresql_where=text(_UNFINISHED), sqlite_where=text(_UNFINISHED)),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(ADDRESS_LENGTH))
    # The parsed message (text, media, payload, ...); emptied once handled, so it keeps no words.
    payload: Mapped[dict] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | processing | done | failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # processing: the lease end, after which another worker may take the row over;
    # pending after an error: the earliest retry.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    error: Mapped[str | None] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class OutboxEvent(Base):
    __tablename__ = "outbox_events"
    __table_args__ = (
        Index("ix_outbox_events_owner_event", "owner_id", "event", "created_at"),
        Index("ix_outbox_events_outbox", "outbox_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    outbox_id: Mapped[int | None] = mapped_column(ForeignKey("outbox.id", ondelete="CASCADE"))
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    # retry | failed | unsendable | unreachable | window_closed | in_doubt_resend | status
    event: Mapped[str] = mapped_column(String(32))
    code: Mapped[str | None] = mapped_column(String(16))  # provider error code, e.g. 63016
    detail: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
