"""The pipeline's guarantees: one transaction per turn, duplicates dropped, one turn per owner at a time."""
from __future__ import annotations

import threading

from sqlalchemy import func, select

from bot.messages import Inbound
from bot.pipeline import handle
from storage.models import InboundMessage, MessageLog, OutboxMessage, Owner


def _inbound(text: str, message_id: str = "", address: str = "+6281200000001", synchronous: bool = False) -> Inbound:
    return Inbound(channel="whatsapp", address=address, text=text, message_id=message_id, synchronous=synchronous)


def test_turn_saves_log_and_outbox_together(db, content):
    replies = handle(_inbound("halo", "m1"), db=db, content=content)
    assert len(replies) == 2
    with db.session() as s:
        owner = s.scalars(select(Owner)).one()
        logged = s.scalars(select(MessageLog).order_by(MessageLog.id)).all()
        outbox = s.scalars(select(OutboxMessage).order_by(OutboxMessage.id)).all()
        assert [m.direction for m in logged] == ["in", "out", "out"]
        assert [o.text for o in outbox] == [r.text for r in replies]
        assert {o.status for o in outbox} == {"pending"}
        assert {o.owner_id for o in outbox} == {owner.id}
        assert owner.conversation.flow == "registration" and owner.conversation.step == "consent"


def test_duplicate_message_id_is_processed_once(db, content):
    assert handle(_inbound("halo", "dup-1"), db=db, content=content)
    assert handle(_inbound("halo", "dup-1"), db=db, content=content) == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == 1
        assert s.scalar(select(func.count()).select_from(MessageLog).where(MessageLog.direction == "in")) == 1


def test_failed_turn_leaves_nothing_behind(db, content, monkeypatch):
    """A crash mid-turn rolls back the state, the log and the outbox together (so a retry is clean)."""
    import flows.registration as registration

    def explode(turn):
        raise RuntimeError("boom")

    monkeypatch.setitem(registration.FLOW.steps, "consent", registration.Step(registration.ask_consent, explode))
    handle(_inbound("halo", "a"), db=db, content=content)
    try:
        handle(_inbound("1", "b"), db=db, content=content)
    except RuntimeError:
        pass
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(InboundMessage).where(InboundMessage.message_id == "b")) == 0
        assert s.scalar(select(func.count()).select_from(MessageLog)) == 3
        assert s.scalars(select(Owner)).one().consent_at is None


def test_concurrent_duplicates_and_turns_on_postgres(pg_db, content):
    """Several workers receive the same owner's messages at once (redeliveries included): each
    message is handled exactly once and the conversation ends in a consistent state."""
    handle(_inbound("halo", "start"), db=pg_db, content=content)
    errors: list[BaseException] = []

    def worker(message_id: str, text: str):
        try:
            handle(_inbound(text, message_id), db=pg_db, content=content)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=("same", "1")) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with pg_db.session() as s:
        owner = s.scalars(select(Owner)).one()
        assert owner.consent_at is not None
        assert owner.conversation.step == "name"
        assert s.scalar(select(func.count()).select_from(MessageLog).where(MessageLog.direction == "in")) == 2


def test_many_owners_first_contact_at_once_on_postgres(pg_db, content):
    """First messages from the same new owner on two workers create one owner, not two."""
    barrier = threading.Barrier(4)
    errors: list[BaseException] = []

    def worker(i: int):
        try:
            barrier.wait()
            handle(_inbound("halo", f"first-{i}", address="+6281299999999"), db=pg_db, content=content)
        except BaseException as exc:  # pragma: no cover
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    with pg_db.session() as s:
        assert s.scalar(select(func.count()).select_from(Owner)) == 1


def test_synchronous_callers_get_replies_marked_sent(db, content):
    handle(_inbound("halo", synchronous=True), db=db, content=content)
    with db.session() as s:
        assert {o.status for o in s.scalars(select(OutboxMessage))} == {"sent"}


def test_hapus_data_erases_kept_photos_too(db, content, tmp_path, monkeypatch):
    """UU PDP: deleting an owner's data also deletes the photos they sent, not just the rows."""
    from bot.messages import Media

    monkeypatch.setenv("UMKM_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("EVIDENCE_DIR", raising=False)
    photo = tmp_path / "evidence" / "whatsapp" / "SM1-0.jpg"
    photo.parent.mkdir(parents=True)
    photo.write_bytes(b"jpeg")
    other = tmp_path / "evidence" / "whatsapp" / "SM2-0.jpg"
    other.write_bytes(b"someone else's")
    handle(_inbound("halo", "m1"), db=db, content=content)
    handle(_inbound("1", "m2"), db=db, content=content)
    handle(Inbound(channel="whatsapp", address="+6281200000001", message_id="m3",
                   media=(Media(kind="image", url="evidence/whatsapp/SM1-0.jpg", content_type="image/jpeg"),)),
           db=db, content=content)
    handle(_inbound("hapus data", "m4"), db=db, content=content)
    replies = handle(_inbound("ya", "m5"), db=db, content=content)
    assert replies[0].text == content.t("global.delete_done")
    assert not photo.exists()
    assert other.exists()
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(Owner)) == 0
        assert s.scalar(select(func.count()).select_from(MessageLog)) == 0
