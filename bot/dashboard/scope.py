"""What a signed-in person may see.

- admin and staff: every owner and every case.
- mentor: owners in the kecamatan (or whole city areas) their roster row covers, and cases of
  those owners; plus cases offered to them or held by them (a transfer may bring one from
  elsewhere), and those cases' owners. A supervisor sees everything, as in the mentor chat.
  A mentor account not linked to an active roster row sees nothing.

The rule is a SQL condition, used by every list and checked again on every single page, so an
id typed into the address bar is refused (404, the same answer as for an id that does not exist).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import and_, false, or_, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from storage.models import Owner, Ticket
from storage.models.staff import StaffUser

try:  # the roster belongs to the handoff area
    from storage.models.handoff import CaseOffer, Mentor, MentorArea
except ImportError:  # pragma: no cover - only before the handoff area is merged
    CaseOffer = Mentor = MentorArea = None  # type: ignore[assignment,misc]


@dataclass
class Viewer:
    user: StaffUser
    mentor: object | None = None
    areas: list[tuple[str, str]] = field(default_factory=list)  # (city, kecamatan or "" for the whole city)
    everything: bool = False

    @property
    def mentor_id(self) -> int | None:
        return getattr(self.mentor, "id", None)


def viewer_for(session: Session, user: StaffUser) -> Viewer:
    if user.role in ("admin", "staff"):
        return Viewer(user, everything=True)
    if Mentor is None or user.mentor_id is None:
        return Viewer(user)
    mentor = session.get(Mentor, user.mentor_id)
    if mentor is None or not mentor.active:
        return Viewer(user)
    areas = [(a.city, a.kecamatan or "") for a in mentor.areas]
    return Viewer(user, mentor=mentor, areas=areas, everything=mentor.is_supervisor)


def in_area(viewer: Viewer) -> ColumnElement[bool]:
    if not viewer.areas:
        return false()
    return or_(*(
        Owner.city == city if not kecamatan else and_(Owner.city == city, Owner.district == kecamatan)
        for city, kecamatan in viewer.areas
    ))


def _mine_or_offered(viewer: Viewer) -> ColumnElement[bool]:
    if viewer.mentor_id is None:
        return false()
    offered = select(CaseOffer.ticket_id).where(CaseOffer.mentor_id == viewer.mentor_id)
    return or_(Ticket.mentor_id == viewer.mentor_id, Ticket.id.in_(offered))


def owner_visibility(viewer: Viewer) -> ColumnElement[bool] | None:
    """A condition on Owner, or None when the viewer sees every owner."""
    if viewer.everything:
        return None
    if viewer.mentor_id is None:
        return false()
    via_case = select(Ticket.owner_id).where(_mine_or_offered(viewer))
    return or_(in_area(viewer), Owner.id.in_(via_case))


def case_visibility(viewer: Viewer) -> ColumnElement[bool] | None:
    """A condition on Ticket (joined to Owner), or None when the viewer sees every case."""
    if viewer.everything:
        return None
    if viewer.mentor_id is None:
        return false()
    return or_(in_area(viewer), _mine_or_offered(viewer))


def can_see_owner(session: Session, viewer: Viewer, owner_id: int) -> bool:
    condition = owner_visibility(viewer)
    query = select(Owner.id).where(Owner.id == owner_id)
    if condition is not None:
        query = query.where(condition)
    return session.scalar(query) is not None


def can_see_case(session: Session, viewer: Viewer, ticket_id: int) -> bool:
    condition = case_visibility(viewer)
    query = select(Ticket.id).join(Owner, Owner.id == Ticket.owner_id).where(Ticket.id == ticket_id)
    if condition is not None:
        query = query.where(condition)
    return session.scalar(query) is not None
