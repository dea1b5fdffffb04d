"""The legality pathway: each owner's products, and the permit steps each one needs, in order.

Owner-level steps (NIB, PKP, CPPOB, CPKB, UMOT/UKOT, CPOTB) have `product_id` NULL and are shared by
all the owner's products; product-level steps (label, P-IRT, MD, notification, TR, halal) belong to
one product. `slot` ("owner" or the product id) makes (owner, slot, step) unique on both databases,
since NULLs never collide in a unique constraint.

Reminders read `expires_on` with `permit_kind` and `number` (see `expiring_steps` in
bot/legality/pathway.py): a P-IRT expires 5 years after issue, a cosmetics notification 3.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from bot.clock import utcnow
from storage.models.base import Base
from storage.types import UTCDateTime

STEP_STATUSES = ("belum", "sedang", "selesai", "ditolak")  # not started, in progress, done, rejected
OWNER_SLOT = "owner"


class LegalityProduct(Base):
    """One product of an owner, as classified: its sector, permit route and halal route."""

    __tablename__ = "legality_products"
    __table_args__ = (UniqueConstraint("owner_id", "name", name="uq_legality_products_owner_name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(120))  # the owner's own words ("keripik pisang")
    product_key: Mapped[str | None] = mapped_column(String(48))  # entry of content/legality/products.yaml
    sector: Mapped[str] = mapped_column(String(16))  # food | cosmetics | herbal | outside
    route: Mapped[str] = mapped_column(String(24))  # pirt | md | food_none | cosmetics | umot | ukot | outside ...
    reason: Mapped[str | None] = mapped_column(String(32))
    halal_route: Mapped[str | None] = mapped_column(String(16))  # halal_sd | halal_reg | none
    answers: Mapped[dict] = mapped_column(JSON, default=dict)  # facts from words and yes/no answers
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    steps: Mapped[list["PathwayStep"]] = relationship(
        back_populates="product", cascade="all, delete-orphan", order_by="PathwayStep.position"
    )


class PathwayStep(Base):
    """One permit or step on an owner's pathway, with its status and, once issued, its number,
    issue date and expiry."""

    __tablename__ = "legality_steps"
    __table_args__ = (
        UniqueConstraint("owner_id", "slot", "step", name="uq_legality_steps_owner_slot_step"),
        Index("ix_legality_steps_expires_on", "expires_on"),
        Index("ix_legality_steps_owner_status", "owner_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"))
    product_id: Mapped[int | None] = mapped_column(ForeignKey("legality_products.id", ondelete="CASCADE"))
    slot: Mapped[str] = mapped_column(String(16))  # "owner", or str(product_id)
    step: Mapped[str] = mapped_column(String(24))  # key in content/legality/steps.yaml
    permit_kind: Mapped[str | None] = mapped_column(String(16))  # nib | pirt | md | notif | tr | halal | pkp ...
    position: Mapped[int] = mapped_column(Integer, default=0)  # order on the pathway (NIB first)
    status: Mapped[str] = mapped_column(String(16), default="belum")
    number: Mapped[str | None] = mapped_column(String(40))
    issued_on: Mapped[date | None] = mapped_column(Date)
    expires_on: Mapped[date | None] = mapped_column(Date)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id", ondelete="SET NULL"))
    source: Mapped[str] = mapped_column(String(16), default="pathway")  # pathway | registration | owner | mentor
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    product: Mapped[LegalityProduct | None] = relationship(back_populates="steps")


class TermSeen(Base):
    """A technical word the owner has already had explained (so it is explained only once)."""

    __tablename__ = "legality_terms_seen"

    owner_id: Mapped[int] = mapped_column(ForeignKey("owners.id", ondelete="CASCADE"), primary_key=True)
    term: Mapped[str] = mapped_column(String(32), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
