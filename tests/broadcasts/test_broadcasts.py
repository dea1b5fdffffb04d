"""Broadcasts: preview, template errors refused before anything is queued, bulk enqueue exactly once,
cancel, scheduling, progress. Every test runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from bot import broadcasts, events
from bot.clock import utcnow
from storage.models import OutboxMessage, Owner
from storage.models.events import Broadcast, BroadcastRecipient
from tests.broadcasts.factories import bulk_owners, make_owner


def outbox_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage))


def written(db, content) -> list[OutboxMessage]:
    """The outbox rows with their words written for each owner, as the sender writes them."""
    with db.session() as session:
        return broadcasts.write_texts(session, list(session.execute(select(OutboxMessage)).scalars()), content)


def new_event(db, content, **fields):
    values = dict(title="Pelatihan GMP Jakarta Timur", kind="gmp_training",
                  starts_at=utcnow() + timedelta(days=3), place="Gedung PPKUKM, Jl. Raya Bekasi", quota=2)
    values.update(fields)
    with db.session() as session:
        return events.create_event(session, content, **values).id


def test_preview_counts_recipients_and_renders_one_sample(db, content):
    with db.session() as session:
        siti = make_owner(session, name="Siti Aminah", products=["keripik pisang"])
        make_owner(session, name="Budi", sector="cosmetics")
        make_owner(session, name="Tono", opted_out_at=utcnow())
        checked = broadcasts.plan(session, content, segment="sector=food",
                                  template="Halo {{ first_name }}, produk {{ products }} Anda ...")
    assert checked.recipients == 1
    assert checked.sample_owner_id == siti.id
    assert checked.sample == "Halo Siti, produk keripik pisang Anda ..."
    assert outbox_count(db) == 0


@pytest.mark.parametrize("template, words", [
    ("Halo {{ nama }}", ["unknown variable `nama`", "Did you mean `name`"]),
    ("Halo {{ first_name }", ["template error on line 1"]),
    ("{% if first_name %}Halo", ["template error", "endif"]),
    ("Jadwal: {{ event_when }}", ["not linked to an event"]),
    ("   ", ["empty"]),
    ("{{ first_name.__class__.__mro__ }}", ["cannot be written"]),  # the sandbox refuses
    ("x" * 1700, ["at most 1600"]),
    ("{{ products[0] }}", ["cannot be written"]),  # an owner without products: caught before queueing
])
def test_template_errors_are_refused_before_anything_is_queued(db, content, template, words):
    with db.session() as session:
        make_owner(session, name="Siti")
    with pytest.raises(broadcasts.BroadcastError) as caught:
        with db.session() as session:
            broadcasts.create(session, content, segment="all", template=template)
    for word in words:
        assert word in str(caught.value)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0
    assert outbox_count(db) == 0


def test_a_message_that_breaks_for_one_owner_out_of_many_queues_nothing(db, content):
    bulk_owners(db, 50)  # half of them have one product
    with db.session() as session:
        make_owner(session, name="Siti", products=["jamu", "param", "minyak gosok"])
    # Fine for an owner with no details and for one product; breaks only for three products.
    template = "Halo {{ first_name }}{% if products.count(',') > 1 %} {{ products.split(', ')[5] }}{% endif %}"
    with pytest.raises(broadcasts.BroadcastError) as caught:
        with db.session() as session:
            broadcasts.create(session, content, segment="all", template=template)
    assert "cannot be written for owner" in str(caught.value)
    assert outbox_count(db) == 0


def test_bad_segment_is_refused_and_nothing_is_stored(db, content):
    with pytest.raises(broadcasts.BroadcastError) as caught:
        with db.session() as session:
            broadcasts.create(session, content, segment="sektr=food", template="Halo")
    assert "Segment: Unknown field `sektr`" in str(caught.value)
    with db.session() as session:
        assert session.scalar(select(func.count()).select_from(Broadcast)) == 0


def test_enqueue_writes_one_row_per_reachable_owner_with_a_dedupe_key(db, content):
    bulk_owners(db, 120)
    with db.session() as session:
        stopped = make_owner(session, opted_out_at=utcnow()).id
    broadcast, checked = broadcasts.send_now(db, content, segment="all", template="Halo {{ name }}!",
                                             template_en="Hello {{ name }}!")
    assert checked.recipients == 120
    with db.session() as session:
        rows = session.execute(select(OutboxMessage)).scalars().all()
        recipients = session.scalar(select(func.count()).select_from(BroadcastRecipient))
        stored = session.get(Broadcast, broadcast.id)
    assert len(rows) == 120 and recipients == 120
    assert {r.dedupe_key for r in rows} == {f"bc:{broadcast.id}:{r.owner_id}" for r in rows}
    assert stopped not in {r.owner_id for r in rows}
    assert all(r.kind == "broadcast" and r.status == "pending" and r.priority == 20 for r in rows)
    # Queued without words: each is written once, for its owner, when the sender takes it.
    assert all(r.text == "" and broadcasts.needs_text(r) for r in rows)
    rows = written(db, content)
    english = [r for r in rows if r.text.startswith("Hello")]
    assert len(english) == 12 and all(r.text.startswith("Hello Pemilik ") for r in english)
    assert stored.status == "queued" and stored.queued_count == 120


def test_enqueue_again_after_an_interruption_writes_only_what_is_missing(db, content):
    bulk_owners(db, 30)
    with db.session() as session:
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo {{ first_name }}")
    # A first run dies after one chunk of 10: the broadcast stays "queuing".
    with pytest.raises(RuntimeError):
        def die(_count):
            raise RuntimeError("killed")
        broadcasts.enqueue(db, content, broadcast.id, on_chunk=die, chunk_size=10)
    assert outbox_count(db) == 10
    assert broadcasts.sweep_due(db, content) == [broadcast.id]  # the scheduler resumes it
    assert broadcasts.enqueue(db, content, broadcast.id) == 0  # and a third run is a no-op
    with db.session() as session:
        keys = session.execute(select(OutboxMessage.dedupe_key)).scalars().all()
        assert session.get(Broadcast, broadcast.id).status == "queued"
    assert len(keys) == 30 == len(set(keys))


def test_rows_written_meanwhile_by_another_process_are_not_written_twice(db, content):
    """Two schedulers queue the same broadcast: the first one's plain INSERT meets the other's rows,
    its chunk fails whole, and it goes on skipping what exists."""
    bulk_owners(db, 25)
    with db.session() as session:
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo {{ first_name }}")
    with db.session() as session:  # the other process's row for one owner of the second chunk
        other = session.scalars(select(Owner.id).order_by(Owner.id).offset(12).limit(1)).one()
        row = OutboxMessage(owner_id=other, channel="whatsapp", address="+62", kind="broadcast", priority=20, text="",
                            options=[], template_vars={"broadcast": broadcast.id}, status="pending", attempts=0,
                            dedupe_key=f"bc:{broadcast.id}:{other}", created_at=utcnow())
        session.add(row)
        session.flush()
        session.add(BroadcastRecipient(broadcast_id=broadcast.id, owner_id=other, outbox_id=row.id))
    assert broadcasts.enqueue(db, content, broadcast.id, chunk_size=10) == 24
    with db.session() as session:
        keys = session.execute(select(OutboxMessage.dedupe_key)).scalars().all()
        assert session.get(Broadcast, broadcast.id).queued_count == 25
    assert len(keys) == 25 == len(set(keys))


def test_cancel_withdraws_messages_not_yet_sent(db, content):
    bulk_owners(db, 20)
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template="Halo")
    with db.session() as session:  # the sender got through five of them
        first = session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(5)).scalars().all()
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(first)).values(status="sent"))
    assert broadcasts.cancel(db, broadcast.id) == 15
    assert broadcasts.cancel(db, broadcast.id) == 0
    with db.session() as session:
        counts = broadcasts.progress(session, broadcast.id)
    assert counts["sent"] == 5 and counts["cancelled"] == 15 and counts["queued"] == 0


def test_scheduled_broadcast_is_queued_when_due_and_not_before(db, content, clock):
    with db.session() as session:
        make_owner(session)
        make_owner(session)
        at = utcnow() + timedelta(hours=3)
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo", scheduled_at=at)
    assert broadcasts.sweep_due(db, content) == []
    assert outbox_count(db) == 0
    clock.shift(timedelta(hours=3))
    assert broadcasts.sweep_due(db, content) == [broadcast.id]
    assert outbox_count(db) == 2
    assert broadcasts.sweep_due(db, content) == []


def test_cancelled_scheduled_broadcast_is_never_queued(db, content, clock):
    with db.session() as session:
        make_owner(session)
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo",
                                         scheduled_at=utcnow() + timedelta(hours=1))
    broadcasts.cancel(db, broadcast.id)
    clock.shift(timedelta(hours=2))
    assert broadcasts.sweep_due(db, content) == []
    assert outbox_count(db) == 0


def test_event_invitation_uses_the_standard_text_footer_and_register_option(db, content, clock):
    event_id = new_event(db, content, starts_at=datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc))
    with db.session() as session:
        make_owner(session, name="Siti Aminah")
        make_owner(session, name="John", lang="en")
    broadcasts.send_now(db, content, segment="all", template=None, event_id=event_id)
    rows = {r.text.split(" ")[0]: r for r in written(db, content)}
    siti = rows["Halo"]
    assert "Halo Siti" in siti.text and "Selasa, 1 Desember 2026, pukul 09.00 WIB" in siti.text
    assert siti.text.endswith(content.t("events.invite_footer", "id"))
    assert siti.options == ["Daftar"]
    assert siti.template_vars["event_title"] == "Pelatihan GMP Jakarta Timur"
    assert rows["Hello"].options == ["Register"] and "Tuesday 1 December 2026" in rows["Hello"].text


def test_progress_counts_each_state(db, content):
    bulk_owners(db, 10)
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template="Halo")
    with db.session() as session:
        ids = session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id)).scalars().all()
        for status, chunk in (("sent", ids[0:2]), ("delivered", ids[2:5]), ("read", ids[5:6]), ("failed", ids[6:7])):
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(chunk)).values(status=status))
        counts = broadcasts.progress(session, broadcast.id)
    assert counts == {"queued": 3, "sent": 2, "delivered": 3, "read": 1, "failed": 1, "cancelled": 0,
                      "total": 10, "done": 7}
