"""HAPUS DATA: every copy of an owner's personal data goes, not only the rows keyed to them.

The database cascades from `owners` (profile, conversation, message log, pathway, checks,
reminders, cases, registrations, the owner's own outbox rows). What the cascade cannot reach,
`erase_owner` removes in the same transaction, just before the owner row is deleted:

- the inbound queue (`channel_inbox`): every row of the owner's address, whatever its status
  (a `failed` row keeps the whole message; a `done` row the number);
- outbox rows not tied to the owner that speak about them: mentor alerts and relays carry the
  owner's name, business, kecamatan or number. Unsent ones are dropped, sent ones emptied;
- the audit log: `owner:<id>` subjects become `owner:erased`, details naming the owner are
  emptied (who looked and when stays: that is the staff's trail, not the owner's data);
- evidence files (photos kept from GMP checks and messages): returned to the caller, which
  deletes them once the transaction commits.
The farewell ("your data is erased") must still reach the owner, so it is the one row that
keeps the address; `scrub_farewells` (run by the retention job, bot/retention.py) empties it as
soon as it is delivered or given up.
"""
from __future__ import annotations

import logging

from sqlalchemy import and_, delete, exists, or_, select, update
from sqlalchemy.orm import Session

from storage.models import MessageLog, OutboxMessage, Owner
from storage.models.channels import ChannelInbox
from storage.models.staff import AuditLog

log = logging.getLogger(__name__)

ERASED_SUBJECT = "owner:erased"
FINAL_STATUSES = ("sent", "delivered", "read", "failed", "unsendable")
MIN_NEEDLE = 4  # shorter names ("Bu", "Ani") would match too much of other owners' alerts


def needles(owner: Owner) -> list[str]:
    """The strings that identify this owner inside free text."""
    values = {owner.address or "", (owner.address or "").lstrip("+"), owner.name or "", owner.business_name or ""}
    return sorted(v.strip() for v in values if len(v.strip()) >= MIN_NEEDLE)


def erase_owner(session: Session, owner: Owner) -> list[str]:
    """Erase every copy outside the cascade (see the module doc); returns the evidence files to
    delete after commit. The caller deletes the owner row itself."""
    files = _evidence_files(session, owner.id)
    session.execute(delete(ChannelInbox).where(ChannelInbox.channel == owner.channel,
                                               ChannelInbox.address == owner.address))
    words = needles(owner)
    if words:
        mentions = or_(*[OutboxMessage.text.contains(word, autoescape=True) for word in words])
        others = and_(OutboxMessage.owner_id.is_(None), mentions)
        session.execute(delete(OutboxMessage).where(others, OutboxMessage.status == "pending"))
        session.execute(update(OutboxMessage).where(others).values(text="", options=[], template_vars={}))
        named = or_(*[AuditLog.detail.contains(word, autoescape=True) for word in words])
        session.execute(update(AuditLog).where(named).values(detail=""))
    session.execute(update(AuditLog).where(AuditLog.subject == f"owner:{owner.id}")
                    .values(subject=ERASED_SUBJECT, detail=""))
    log.info("erased the copies of owner=%s outside the cascade", owner.id)
    return files


def _evidence_files(session: Session, owner_id: int) -> list[str]:
    media = session.scalars(select(MessageLog.media).where(MessageLog.owner_id == owner_id,
                                                           MessageLog.direction == "in")).all()
    urls = [item["url"] for items in media for item in items or [] if isinstance(item, dict) and item.get("url")]
    try:
        from storage.models.gmp import GmpEvidence
    except ImportError:  # pragma: no cover - without the GMP area
        return urls
    urls += [url for url in session.scalars(select(GmpEvidence.url).where(GmpEvidence.owner_id == owner_id)) if url]
    return list(dict.fromkeys(urls))


def scrub_farewells(session: Session) -> int:
    """Empty the address and text of finished outbox rows that belong to nobody: no owner row
    and no mentor has that address any more (the farewell of an erased owner)."""
    from storage.models.handoff import Mentor

    known_owner = exists().where(Owner.channel == OutboxMessage.channel, Owner.address == OutboxMessage.address)
    known_mentor = exists().where(or_(
        and_(OutboxMessage.channel == "telegram", Mentor.telegram == OutboxMessage.address),
        and_(OutboxMessage.channel == "whatsapp", Mentor.whatsapp == OutboxMessage.address)))
    result = session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.owner_id.is_(None), OutboxMessage.status.in_(FINAL_STATUSES),
               OutboxMessage.address != "", ~known_owner, ~known_mentor)
        .values(address="", text="", options=[], template_vars={})
        .execution_options(synchronize_session=False))
    return result.rowcount or 0
