"""Setup and expectation kinds for GMP and reminder dialogues (tests/dialogues/gmp_*.yaml).

Setup:
    gmp_history: {checklist: cppb_irt, findings_total: 4, level: II, days_ago: 30}   # a finished check
    reminder: {kind: self_check, key: k, due_in: "-2h", queued: true, payload: {...}}  # or a list of these
Expect:
    gmp_check: {checklist, status, level, findings_total, unknown_total, counts: {...}, answers: 37,
                evidence: [A, D], ticket: true}        # the owner's newest check; null: none
    reminder: {kind, status, due: "2026-12-07 09:00", count}   # due in Asia/Jakarta time
"""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select

from bot.clock import JAKARTA, as_utc, utcnow
from storage.models.gmp import GmpAnswer, GmpCheck, GmpEvidence
from storage.models.reminders import Reminder


def _owner(conv, session):
    owner = conv.owner(session)
    if owner is None:
        from storage.models import Owner

        owner = Owner(channel=conv.channel, address=conv.user, lang=conv.lang, products=[])
        session.add(owner)
        session.flush()
    return owner


def setup_gmp_history(conv, spec: dict) -> None:
    with conv.db.session() as session:
        owner = _owner(conv, session)
        done = utcnow() - timedelta(days=int(spec.get("days_ago", 30)))
        session.add(GmpCheck(owner_id=owner.id, checklist=spec.get("checklist", "cppb_irt"), status="completed",
                             started_at=done, updated_at=done, completed_at=done, level=spec.get("level", "II"),
                             counts=spec.get("counts", {}), findings_total=int(spec["findings_total"]),
                             unknown_total=0, checklist_reviewed="2026-11-22"))


def setup_reminder(conv, spec) -> None:
    from tests.dialogue_runner import parse_duration

    for item in spec if isinstance(spec, list) else [spec]:
        with conv.db.session() as session:
            owner = _owner(conv, session)
            due = str(item.get("due_in", "0s"))
            delta = -parse_duration(due[1:]) if due.startswith("-") else parse_duration(due)
            queued = bool(item.get("queued"))
            session.add(Reminder(
                owner_id=owner.id, kind=item["kind"], subject="", dedupe_key=item.get("key", f"{item['kind']}:{owner.id}"),
                due_at=utcnow() + delta, status="queued" if queued else "pending", occurrence=0, snooze_count=0,
                payload=item.get("payload", {}), last_queued_at=utcnow() + delta if queued else None,
                created_at=utcnow(), updated_at=utcnow()))


def expect_gmp_check(conv, spec: dict | None) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session)
        check = session.scalars(select(GmpCheck).where(GmpCheck.owner_id == owner.id)
                                .order_by(GmpCheck.id.desc())).first() if owner else None
        if spec is None:
            assert check is None, f"expected no self-check, found one ({check.status})"
            return
        assert check is not None, "no self-check stored"
        for key, expected in spec.items():
            if key == "answers":
                actual = session.scalar(select(func.count()).select_from(GmpAnswer).where(GmpAnswer.check_id == check.id))
            elif key == "evidence":
                actual = sorted(session.scalars(select(GmpEvidence.aspect).where(GmpEvidence.check_id == check.id)))
                expected = sorted(expected)
            elif key == "evidence_urls":
                actual = len([u for u in session.scalars(select(GmpEvidence.url).where(GmpEvidence.check_id == check.id)) if u])
            elif key == "ticket":
                actual = check.ticket_id is not None
            elif key == "counts":
                actual = {k: v for k, v in (check.counts or {}).items() if v}
                expected = {k: v for k, v in expected.items() if v}
            elif key == "answer":
                actual = dict(session.execute(select(GmpAnswer.item_id, GmpAnswer.answer)
                                              .where(GmpAnswer.check_id == check.id)).tuples().all())
                actual = {k: actual.get(k) for k in expected}
            else:
                actual = getattr(check, key)
            assert actual == expected, f"gmp_check.{key}: expected {expected!r}, got {actual!r}"


def expect_reminder(conv, spec: dict) -> None:
    with conv.db.session() as session:
        owner = conv.owner(session)
        rows = session.scalars(select(Reminder).where(Reminder.owner_id == owner.id)).all()

        def matches(row) -> bool:
            for key, expected in spec.items():
                if key == "count":
                    continue
                if key == "due":
                    local = as_utc(row.due_at).astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M")
                    if local != expected:
                        return False
                elif getattr(row, key) != expected:
                    return False
            return True

        found = [r for r in rows if matches(r)]
        described = [(r.kind, r.status, as_utc(r.due_at).astimezone(JAKARTA).strftime("%Y-%m-%d %H:%M")) for r in rows]
        if "count" in spec:
            assert len(found) == spec["count"], f"expected {spec['count']} reminders like {spec}, have {described}"
        else:
            assert found, f"no reminder like {spec}; have {described}"


def register(setup: dict, expect: dict) -> None:
    setup.update(gmp_history=setup_gmp_history, reminder=setup_reminder)
    expect.update(gmp_check=expect_gmp_check, reminder=expect_reminder)


