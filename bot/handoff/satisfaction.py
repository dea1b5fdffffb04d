"""The owners' satisfaction with mentors, from the 1-5 rating asked when a case is closed.

The programme reports an IKEPU-like satisfaction index; ours is the mean rating scaled to 0-100
(1 -> 20, 5 -> 100), with the share of 4-5 ratings beside it. Only rated cases count.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from storage.models import Ticket


@dataclass(frozen=True)
class Satisfaction:
    rated: int
    average: float | None
    index: float | None  # 0-100
    satisfied_share: float | None  # ratings 4 or 5, 0-100


def satisfaction(session: Session, since: datetime | None = None, until: datetime | None = None) -> Satisfaction:
    query = select(func.count(Ticket.id), func.avg(Ticket.rating),
                   func.sum(case((Ticket.rating >= 4, 1), else_=0))).where(Ticket.rating.is_not(None))
    if since is not None:
        query = query.where(Ticket.resolved_at >= since)
    if until is not None:
        query = query.where(Ticket.resolved_at < until)
    rated, average, satisfied = session.execute(query).one()
    if not rated:
        return Satisfaction(0, None, None, None)
    average = float(average)
    return Satisfaction(rated, round(average, 2), round(average * 20, 1), round(100 * (satisfied or 0) / rated, 1))

