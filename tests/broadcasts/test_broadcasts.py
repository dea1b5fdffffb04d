"""Broadcasts: preview, template errors refused before anything is queued, recipients recorded in bulk
exactly once (the segment fixed then), each message written once by the sender, cancel, scheduling,
progress. Every test runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import func, select, update

from bot import broadcasts, events
from bot.clock import utcnow
from storage.models import OutboxMessage, Owner
from storage.models.events import Broadcast, BroadcastQueued, BroadcastRecipient
from tests.broadcasts.factories import bulk_owners, make_owner, write_queued


def outbox_count(db) -> int:
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(OutboxMessage))


def queued_count(db) -> int:
    """Recipients recorded whose message is not written yet."""
    with db.session() as session:
        return session.scalar(select(func.count()).select_from(BroadcastQueued))


def written(db, content) -> list[OutboxMessage]:
    """The outbox rows, each written for its owner, as the senders write them."""
    write_queued(db, content)
    with db.session() as session:
        return list(session.execute(select(OutboxMessage).order_by(OutboxMessage.id)).scalars())


def feed(db, content, limit: int, channel: str = "whatsapp") -> int:
    """One claim's worth of what a sender writes."""
    with db.session() as session:
        return broadcasts.feed_outbox(session, content, channel=channel, limit=limit)


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


def test_enqueue_records_each_reachable_owner_and_the_sender_writes_each_message_once(db, content):
    bulk_owners(db, 120)
    with db.session() as session:
        stopped = make_owner(session, opted_out_at=utcnow()).id
    broadcast, checked = broadcasts.send_now(db, content, segment="all", template="Halo {{ name }}!",
                                             template_en="Hello {{ name }}!")
    assert checked.recipients == 120
    # Queueing records the recipients only: no outbox row, no text yet.
    assert outbox_count(db) == 0 and queued_count(db) == 120
    with db.session() as session:
        stored = session.get(Broadcast, broadcast.id)
        assert stored.status == "queued" and stored.queued_count == stored.recipient_count == 120
        assert broadcasts.progress(session, broadcast.id)["queued"] == 120
    rows = written(db, content)
    with db.session() as session:
        links = dict(session.execute(select(BroadcastRecipient.owner_id, BroadcastRecipient.outbox_id)).all())
    assert len(rows) == 120 and queued_count(db) == 0
    assert {r.dedupe_key for r in rows} == {f"bc:{broadcast.id}:{r.owner_id}" for r in rows}
    assert links == {r.owner_id: r.id for r in rows}
    assert stopped not in {r.owner_id for r in rows}
    assert all(r.kind == "broadcast" and r.status == "pending" and r.priority == 20 for r in rows)
    with db.session() as session:
        owners = {o.id: (o.lang, o.name) for o in session.scalars(select(Owner))}
    # Each in its owner's words and language: "Halo Pemilik 7!", "Hello Pemilik 10!".
    assert {r.owner_id: r.text for r in rows} == {
        r.owner_id: f"{'Hello' if owners[r.owner_id][0] == 'en' else 'Halo'} {owners[r.owner_id][1]}!" for r in rows}
    assert sum(r.text.startswith("Hello ") for r in rows) == 12
    assert [r.owner_id for r in rows] == sorted(r.owner_id for r in rows)  # in owner order
    # Written again (a second sender, a restart): nothing more.
    assert write_queued(db, content) == 0 and outbox_count(db) == 120


def test_enqueue_again_after_an_interruption_records_only_what_is_missing(db, content):
    bulk_owners(db, 30)
    with db.session() as session:
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo {{ first_name }}")
    # A first run dies after one chunk of 10: the broadcast stays "queuing".
    with pytest.raises(RuntimeError):
        def die(_count):
            raise RuntimeError("killed")
        broadcasts.enqueue(db, content, broadcast.id, on_chunk=die, chunk_size=10)
    assert queued_count(db) == 10
    # Meanwhile the sender writes five of them: the queue says "queuing", so they go.
    assert feed(db, content, 5) == 5
    assert broadcasts.sweep_due(db, content) == [broadcast.id]  # the scheduler resumes it
    assert broadcasts.enqueue(db, content, broadcast.id) == 0  # and a third run is a no-op
    with db.session() as session:
        stored = session.get(Broadcast, broadcast.id)
        assert (stored.status, stored.queued_count) == ("queued", 30)
    keys = [r.dedupe_key for r in written(db, content)]
    assert len(keys) == 30 == len(set(keys))


def test_rows_written_meanwhile_by_another_process_are_not_written_twice(db, content):
    """Two schedulers queue the same broadcast: the first one's plain INSERT meets the other's rows,
    its chunk fails whole, and it goes on skipping what exists."""
    bulk_owners(db, 25)
    with db.session() as session:
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo {{ first_name }}")
    with db.session() as session:  # the other process's recipient, one owner of the second chunk
        other = session.scalars(select(Owner.id).order_by(Owner.id).offset(12).limit(1)).one()
        session.add(BroadcastQueued(broadcast_id=broadcast.id, channel="whatsapp", owner_id=other))
    assert broadcasts.enqueue(db, content, broadcast.id, chunk_size=10) == 24
    with db.session() as session:
        assert session.get(Broadcast, broadcast.id).queued_count == 25
    keys = [r.dedupe_key for r in written(db, content)]
    assert len(keys) == 25 == len(set(keys))


def test_a_message_written_already_is_not_written_again(db, content):
    """A recipient whose message exists (a sender wrote it and died before deleting the queue row
    could not happen, but an outbox row of the same key can: queued before the recipients queue
    existed) gets no second message."""
    with db.session() as session:
        owner = make_owner(session, name="Siti").id
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template="Halo {{ first_name }}")
    with db.session() as session:
        session.add(OutboxMessage(owner_id=owner, channel="whatsapp", address="+62", kind="broadcast", priority=20,
                                  text="", options=[], template_vars={"broadcast": broadcast.id}, status="pending",
                                  attempts=0, dedupe_key=f"bc:{broadcast.id}:{owner}", created_at=utcnow()))
    assert write_queued(db, content) == 0
    assert outbox_count(db) == 1 and queued_count(db) == 0


def test_the_segment_is_fixed_when_the_broadcast_is_queued(db, content):
    """Who joins the segment after the broadcast was queued (a new registration, a changed sector)
    does not get it; who leaves it afterwards still does, unless they stopped messages."""
    with db.session() as session:
        siti = make_owner(session, name="Siti", sector="food").id
        budi = make_owner(session, name="Budi", sector="food").id
        dewi = make_owner(session, name="Dewi", sector="cosmetics").id
    broadcast, checked = broadcasts.send_now(db, content, segment="sector=food", template="Halo {{ first_name }}")
    assert checked.recipients == 2
    with db.session() as session:
        session.execute(update(Owner).where(Owner.id == dewi).values(sector="food"))  # joins
        session.execute(update(Owner).where(Owner.id == budi).values(sector="herbal"))  # leaves
        late = make_owner(session, name="Rina", sector="food").id  # registers afterwards
    assert broadcasts.sweep_due(db, content) == []  # nothing queues it again
    rows = written(db, content)
    assert sorted(r.owner_id for r in rows) == [siti, budi]
    assert dewi not in {r.owner_id for r in rows} and late not in {r.owner_id for r in rows}
    with db.session() as session:
        assert broadcasts.progress(session, broadcast.id)["total"] == 2


def test_an_owner_erased_before_the_message_is_written_gets_nothing(db, content):
    with db.session() as session:
        kept = make_owner(session, name="Siti").id
        erased = make_owner(session, name="Budi").id
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template="Halo {{ first_name }}")
    with db.session() as session:
        session.delete(session.get(Owner, erased))
    assert [r.owner_id for r in written(db, content)] == [kept]
    with db.session() as session:
        counts = broadcasts.progress(session, broadcast.id)
    assert queued_count(db) == 0 and counts["total"] == 1


def test_cancel_withdraws_messages_not_yet_sent(db, content):
    bulk_owners(db, 20)
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template="Halo")
    assert feed(db, content, 8) == 8  # the sender wrote eight messages and sent five of them
    with db.session() as session:
        first = session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id).limit(5)).scalars().all()
        session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(first)).values(status="sent"))
    assert broadcasts.cancel(db, broadcast.id) == 15  # three written, twelve not written yet
    assert broadcasts.cancel(db, broadcast.id) == 0
    assert write_queued(db, content) == 0 and feed(db, content, 100) == 0  # nothing more is written
    with db.session() as session:
        counts = broadcasts.progress(session, broadcast.id)
        assert session.get(Broadcast, broadcast.id).cancelled_count == 15
        assert not broadcasts.has_queued(session, "whatsapp")
    assert counts["sent"] == 5 and counts["cancelled"] == 15 and counts["queued"] == 0 and counts["total"] == 20
    assert outbox_count(db) == 8


def test_scheduled_broadcast_is_queued_when_due_and_not_before(db, content, clock):
    with db.session() as session:
        make_owner(session)
        make_owner(session)
        at = utcnow() + timedelta(hours=3)
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo", scheduled_at=at)
    assert broadcasts.sweep_due(db, content) == []
    assert queued_count(db) == 0
    clock.shift(timedelta(hours=3))
    assert broadcasts.sweep_due(db, content) == [broadcast.id]
    assert queued_count(db) == 2
    assert broadcasts.sweep_due(db, content) == []
    assert queued_count(db) == 2 and outbox_count(db) == 0


def test_cancelled_scheduled_broadcast_is_never_queued(db, content, clock):
    with db.session() as session:
        make_owner(session)
        broadcast, _ = broadcasts.create(session, content, segment="all", template="Halo",
                                         scheduled_at=utcnow() + timedelta(hours=1))
    broadcasts.cancel(db, broadcast.id)
    clock.shift(timedelta(hours=2))
    assert broadcasts.sweep_due(db, content) == []
    assert outbox_count(db) == 0 and queued_count(db) == 0


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
    bulk_owners(db, 12)
    broadcast, _ = broadcasts.send_now(db, content, segment="all", template="Halo")
    assert feed(db, content, 10) == 10  # two recipients not written yet: queued too
    with db.session() as session:
        ids = session.execute(select(OutboxMessage.id).order_by(OutboxMessage.id)).scalars().all()
        for status, chunk in (("sent", ids[0:2]), ("delivered", ids[2:5]), ("read", ids[5:6]), ("failed", ids[6:7]),
                              ("sending", ids[7:8])):
            session.execute(update(OutboxMessage).where(OutboxMessage.id.in_(chunk)).values(status=status))
        counts = broadcasts.progress(session, broadcast.id)
    assert counts == {"queued": 5, "sent": 2, "delivered": 3, "read": 1, "failed": 1, "cancelled": 0,
                      "total": 12, "done": 7}
