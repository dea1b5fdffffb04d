"""Training events, who registered for them, and the broadcasts that announce them.

A `Broadcast` is one message sent to a segment of owners. Queueing it records its recipients in
`broadcast_queue` (one lean row each: the segment is fixed then); the sender writes each one's
outbox message when it claims work and moves the recipient to `broadcast_recipients`, which says
who it was written for and which outbox row carries it (the outbox row's dedupe_key is
"bc:<broadcast>:<owner>", so nobody gets the same broadcast twice, even across restarts).
An `EventRegistration` is one owner's place at one event: registered, waitlisted, cancelled
or attended.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime

EVENT_STATUSES = ("scheduled", "cancelled")
REGISTRATION_STATUSES = ("registered", "waitlisted", "cancelled", "attended")
BROADCAST_STATUSES = ("scheduled", "queuing", "queued", "cancelled")


class TrainingEvent(Base):
    """A training, course, clinic or class that program staff invite owners to."""

    __tablename__ = "training_events"
    __table_args__ = (Index("ix_training_events_starts_at", "starts_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))  # a key of content/events/kinds.yaml
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)  # entered in Asia/Jakarta, stored UTC
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    place: Mapped[str | None] = mapped_column(Text)
    link: Mapped[str | None] = mapped_column(Text)
    quota: Mapped[int | None] = mapped_column(Integer)  # None: no limit
    segment: Mapped[str] = mapped_column(Text, default="")  # target segment spec, see bot/segment.py
    description: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16), default="scheduled")
    created_by: Mapped[str] = mapped_column(String(64), default="staff")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    registrations: Mapped[list["EventRegistration"]] = relationship(
        back_populates="event", cascade="all, delete-orphan", order_by="EventRegistration.id"
    )


class EventRegistration(Base):
    """One owner's place at one event. The waiting list is ordered by `waitlisted_at`, then id."""

    __tablename__ = "event_registrations"
    __table_args__ = (
        UniqueConstraint("event_id", "owner_id", name="uq_event_registrations_event_owner"),
        Index("ix_event_registrations_event_status", "event_id", "status", "id"),
        Index("ix_event_registrations_owner", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(ForeignKey("training_events.id", ondelete="CASCADE"))
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16))  # registered | waitlisted | cancelled | attended
    broadcast_id: Mapped[int | None] = mapped_column(ForeignKey("broadcasts.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    registered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # got a seat (maybe by promotion)
    waitlisted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    event: Mapped[TrainingEvent] = relationship(back_populates="registrations")


class Broadcast(Base):
    """One message to a segment of owners, sent now or at `scheduled_at`."""

    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_scheduled", "status", "scheduled_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int | None] = mapped_column(ForeignKey("training_events.id", ondelete="SET NULL"))
    segment: Mapped[str] = mapped_column(Text)
    template: Mapped[str] = mapped_column(Text)  # Jinja2, Bahasa Indonesia (and the fallback)
    template_en: Mapped[str | None] = mapped_column(Text)  # for owners who chose English
    status: Mapped[str] = mapped_column(String(16), default="scheduled")  # scheduled|queuing|queued|cancelled
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recipient_count: Mapped[int] = mapped_column(Integer, default=0)  # matched the segment when queued
    queued_count: Mapped[int] = mapped_column(Integer, default=0)  # recipients recorded when queued
    # recipients withdrawn by cancel (outbox rows not yet claimed, and recipients not yet written)
    cancelled_count: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64), default="staff")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    event: Mapped[TrainingEvent | None] = relationship()


class BroadcastRecipient(Base):
    """Who a broadcast was written for, and the outbox row that carries it to them."""

    __tablename__ = "broadcast_recipients"
    __table_args__ = (Index("ix_broadcast_recipients_owner", "owner_id", "broadcast_id"),)

    # Not a foreign key either (sweeps migration): the enqueue writes these rows under its own
    # lock on the broadcast row, and broadcasts are never deleted.
    broadcast_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), primary_key=True)
    # Not a foreign key on purpose: PostgreSQL checks each one with a trigger, about a second per
    # 100,000 rows of a broadcast; the row is written in the same statement as the outbox row.
    outbox_id: Mapped[int | None] = mapped_column(Integer)


class BroadcastQueued(Base):
    """A recipient of a broadcast whose message is not written yet (bot/broadcasts.py).

    Queueing a broadcast writes one such row per owner of the segment with one INSERT ... SELECT per
    chunk: three integers' worth, one index, no foreign key, so 100,000 recipients cost a few tenths
    of a second where their outbox rows (six indexes and a foreign-key trigger) took seconds. The
    sender takes them in (broadcast, channel, owner) order when it claims work for that channel
    (`feed_outbox`), writes the outbox message in the owner's words and deletes the row, in one
    transaction. A cancelled broadcast keeps its rows: they are who it was withdrawn from.

    No foreign key to owners either (PostgreSQL checks each one with a trigger): the sender drops
    the row of an owner erased meanwhile."""

    __tablename__ = "broadcast_queue"
    __table_args__ = {"sqlite_with_rowid": False}

    broadcast_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    owner_id: Mapped[int] = mapped_column(Integer, primary_key=True)
