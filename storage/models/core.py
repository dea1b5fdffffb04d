"""The foundation's tables: owners, their conversation state, the message log, the outbox,
and mentor cases (tickets) that any flow may open."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy import text as sql_text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime


class Owner(Base):
    """A business owner (pelaku UMKM), known by one channel address. Never holds an NIK."""

    __tablename__ = "owners"
    __table_args__ = (UniqueConstraint("channel", "address", name="uq_owners_channel_address"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(160))  # widened by the channels migration (WhatsApp BSUIDs)
    lang: Mapped[str] = mapped_column(String(2), default="id")
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    consent_declined_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    name: Mapped[str | None] = mapped_column(String(120))
    business_name: Mapped[str | None] = mapped_column(String(160))
    sector: Mapped[str | None] = mapped_column(String(16))  # food | cosmetics | herbal | other
    products: Mapped[list] = mapped_column(JSON, default=list)
    city: Mapped[str | None] = mapped_column(String(64))  # an area key from content/locations, or free text
    district: Mapped[str | None] = mapped_column(String(64))  # kecamatan key, or free text outside Jakarta
    in_jakarta: Mapped[bool | None] = mapped_column()
    has_permits: Mapped[list | None] = mapped_column(JSON)  # nib, pirt, bpom, halal, pkp; None = not asked yet
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opted_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # From an office's owner list (bot/owners_import.py); the staff migration adds these.
    imported_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    import_source: Mapped[str | None] = mapped_column(String(120))
    # WhatsApp opt-in recorded outside the chat (a sign-up form): where and when the owner agreed.
    opt_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    opt_in_source: Mapped[str | None] = mapped_column(String(160))

    conversation: Mapped["ConversationState | None"] = relationship(
        back_populates="owner", cascade="all, delete-orphan", uselist=False
    )

    @property
    def is_registered(self) -> bool:
        return self.registered_at is not None

    @property
    def first_name(self) -> str:
        return (self.name or "").split(" ")[0]


class ConversationState(Base):
    """Where an owner is: the active flow, its step and the step's small data. One row per owner."""

    __tablename__ = "conversation_states"

    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), primary_key=True)
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    data: Mapped[dict] = mapped_column(JSON, default=dict)
    history: Mapped[list] = mapped_column(JSON, default=list)  # earlier steps of this flow, for "kembali"
    interrupt: Mapped[str | None] = mapped_column(String(32))  # a short question asked over the flow
    misses: Mapped[int] = mapped_column(Integer, default=0)  # misunderstood messages in a row
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    owner: Mapped[Owner] = relationship(back_populates="conversation")


class InboundMessage(Base):
    """Provider message ids already handled, so a redelivered webhook is dropped."""

    __tablename__ = "inbound_messages"
    __table_args__ = (UniqueConstraint("channel", "message_id", name="uq_inbound_messages_channel_message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    message_id: Mapped[str] = mapped_column(String(128))
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MessageLog(Base):
    """Append-only record of what was said, both ways, for mentors and developers to read."""

    __tablename__ = "message_log"
    __table_args__ = (Index("ix_message_log_owner_created", "owner_id", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    text: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[list] = mapped_column(JSON, default=list)
    media: Mapped[list] = mapped_column(JSON, default=list)  # [{"kind", "url", "content_type"}]
    flow: Mapped[str | None] = mapped_column(String(32))
    step: Mapped[str | None] = mapped_column(String(48))
    kind: Mapped[str] = mapped_column(String(16), default="reply")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class OutboxMessage(Base):
    """A message waiting to be delivered, written in the same transaction as the state change
    that produced it. The sender claims rows, sends them, and records the provider's answer."""

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_pending", "status", "channel", "priority", "id"),
        Index("ix_outbox_owner", "owner_id", "id"),
        Index("ix_outbox_address", "channel", "address", "id"),  # added by the channels migration
        UniqueConstraint("dedupe_key", name="uq_outbox_dedupe_key"),
        # Only sent rows have a provider id: new rows skip this index (throughput migration).
        Index("ix_outbox_provider_id", "provider_id", postgresql_where=sql_text("provider_id IS NOT NULL"),
              sqlite_where=sql_text("provider_id IS NOT NULL")),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int | None] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))
    address: Mapped[str] = mapped_column(String(160))  # widened by the channels migration
    kind: Mapped[str] = mapped_column(String(16), default="reply")
    priority: Mapped[int] = mapped_column(Integer, default=0)  # lower goes first: replies 0, bulk 10
    text: Mapped[str] = mapped_column(Text, default="")
    options: Mapped[list] = mapped_column(JSON, default=list)
    template_vars: Mapped[dict] = mapped_column(JSON, default=dict)
    dedupe_key: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    # pending | sending | sent | delivered | read | failed | unsendable
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    provider_id: Mapped[str | None] = mapped_column(String(128))  # partial index: see __table_args__
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Ticket(Base):
    """A case for a human mentor. `topic` says what it is about; an owner has at most one open
    case per topic."""

    __tablename__ = "tickets"
    __table_args__ = (Index("ix_tickets_owner_status", "owner_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    topic: Mapped[str] = mapped_column(String(64))  # e.g. asked, misunderstood, permit_rejected:pirt, gmp_critical
    reason: Mapped[str] = mapped_column(Text, default="")
    priority: Mapped[int] = mapped_column(Integer, default=2)  # 1 urgent, 2 normal, 3 low
    status: Mapped[str] = mapped_column(String(16), default="open")  # open | taken | resolved
    context: Mapped[dict] = mapped_column(JSON, default=dict)
    mentor_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    taken_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution_note: Mapped[str | None] = mapped_column(Text)
    rating: Mapped[int | None] = mapped_column(Integer)
    rating_comment: Mapped[str | None] = mapped_column(Text)

    events: Mapped[list["TicketEvent"]] = relationship(
        back_populates="ticket", cascade="all, delete-orphan", order_by="TicketEvent.id"
    )


class TicketEvent(Base):
    """Every action on a case: who did it, what, when."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    actor: Mapped[str] = mapped_column(String(64))  # "owner", "bot", "mentor:<id>", "staff:<id>", "system"
    action: Mapped[str] = mapped_column(String(32))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    ticket: Mapped[Ticket] = relationship(back_populates="events")
