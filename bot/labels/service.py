"""A label photo the owner sent, checked and kept: the glue between a turn, the OCR and the store.

The photo is the file the channel already kept as evidence (bot/channels/evidence.py) and the
message log names; a `LabelCheck` row keeps the words read and the result for the mentor's case
card. HAPUS DATA erases both (the row cascades with the owner; the file is one of the owner's
evidence files).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.content import Content
from bot.labels import check, ocr
from bot.legality import pathway
from storage.models import Owner
from storage.models.labels import LabelCheck


@dataclass
class OwnerContext:
    route: str | None
    halal_certified: bool | None
    product_names: list[str]
    product: str  # the product's name when the owner has exactly one


def evidence_root() -> Path:
    from bot.channels.config import ChannelSettings
    from bot.config import load_settings

    return ChannelSettings.from_env(load_settings()).evidence_dir


def photo_path(url: str, root: Path | None = None) -> Path | None:
    """The kept file a message-log url names ("evidence/whatsapp/SM1-0.jpg"), if it is there and
    inside the evidence folder."""
    if not url or "://" in url:
        return None
    root = (root or evidence_root())
    path = (root.parent / url).resolve()
    if not path.is_relative_to(root.resolve()) or not path.is_file():
        return None
    return path


def owner_context(session: Session, owner: Owner) -> OwnerContext:
    products = pathway.products_of(session, owner)
    routes = {p.route for p in products if p.route}
    halal_rows = pathway.steps_for_kind(session, owner, "halal")
    return OwnerContext(
        route=routes.pop() if len(routes) == 1 else None,
        halal_certified=any(r.status == "selesai" for r in halal_rows),
        product_names=[p.name for p in products],
        product=products[0].name if len(products) == 1 else "",
    )


def check_photo(session: Session, owner: Owner, url: str, path: Path, content: Content,
                today: date | None = None) -> tuple[LabelCheck, check.LabelResult, OwnerContext]:
    context = owner_context(session, owner)
    reading = ocr.read_file(path)
    result = check.check_reading(reading, content, route=context.route, halal_certified=context.halal_certified,
                                 product_names=context.product_names, today=today)
    stored = result.as_dict()
    stored.pop("text", None)  # kept in its own column; the words keep their confidence
    row = LabelCheck(owner_id=owner.id, photo_url=url, readable=result.readable, verdict=result.verdict,
                     route=context.route, text=result.text[:4000], result=stored)
    session.add(row)
    session.flush()
    return row, result, context


def latest_for_owner(session: Session, owner_id: int) -> LabelCheck | None:
    return session.scalars(select(LabelCheck).where(LabelCheck.owner_id == owner_id)
                           .order_by(LabelCheck.created_at.desc(), LabelCheck.id.desc())).first()
