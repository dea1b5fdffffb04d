"""Inbox batches: how many SQL statements a batch of turns costs, and that batching keeps every
guarantee (one failing turn rolled back alone and retried, a mentor's take seen by the owner's
message later in the same batch).

Messages enter where real traffic enters (signed Twilio webhooks, Telegram Update JSON, through the
real app, which only stores them); `Inbox.work_until_idle` then handles them as an inbox worker does.
The statement budget is counted with SQLAlchemy's `before_cursor_execute` event, so it cannot
silently grow back to one query per question per turn (bench/inbox_batch_cost.py prints the costs)."""
from __future__ import annotations

from collections import Counter
from contextlib import contextmanager
from datetime import timedelta

import pytest
from sqlalchemy import event, func, select

from bot import pipeline
from storage.models import InboundMessage, MessageLog, OutboxMessage, Ticket
from storage.models.channels import ChannelInbox
from tests.channels.conftest import TG_SECRET, fake, harness, make_harness  # noqa: F401  (fixtures)
from tests.handoff.conftest import make_owner, roster  # noqa: F401
from tests.handoff.test_telegram_mentor import OWNER, command, owner_asks_for_a_mentor, to_mentor

BATCH = 32


def store(harness, form: dict) -> None:
    """A signed Twilio webhook, stored by the app but not handled yet (the worker runs later)."""
    from twilio.request_validator import RequestValidator

    from tests.channels.conftest import AUTH_TOKEN, PUBLIC

    signature = RequestValidator(AUTH_TOKEN).compute_signature(f"{PUBLIC}/webhooks/twilio", form)
    response = harness.client.post("/webhooks/twilio", data=form, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 200


@contextmanager
def counting(db):
    statements: Counter[str] = Counter()

    def count(conn, cursor, statement, parameters, context, executemany):
        statements[statement.split()[0].upper()] += 1

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield statements
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def _count(db, query) -> int:
    with db.session() as s:
        return s.scalar(query)


def test_a_batch_of_turns_stays_within_its_statement_budget(harness, clock):
    """64 new owners write twice ("halo", then "1": agree to data storage): 128 turns in 4 batches.
    One statement per question per turn would be about 10 per turn (1,280 in all); batched, the
    batch asks each question once (claim, mentors, owners, message ids, taken cases, held relays)
    and writes once (owners' last message time, message log, outbox, inbox rows)."""
    if not harness.db.is_postgres:
        pytest.skip("SQLite handles one message per batch (one writer at a time)")
    owners = 64
    for text in ("halo", "1"):
        for n in range(owners):
            store(harness, harness.twilio_form(text, sender=f"whatsapp:+62812{n:08d}"))
    with counting(harness.db) as statements:
        handled = harness.rt.inbox.work_until_idle(BATCH)
    assert handled == 2 * owners
    assert _count(harness.db, select(func.count()).select_from(ChannelInbox)
                  .where(ChannelInbox.status == "done")) == 2 * owners
    total = sum(statements.values())
    batches = -(-2 * owners // BATCH)
    # Measured: 53 statements (4 batches of about 13: claim, mentors, held relays, owners, new owners,
    # message ids, taken cases, the new owners' states and the states' changes, owners' last message
    # time, message log, outbox, inbox rows), where one query per question per turn was about 1,300,
    # and 429 while the registration's repeat check still asked per turn (each such query also
    # flushed the turn's state on its own). Budget: 16 per batch and 0.25 per turn.
    budget = 16 * batches + int(0.25 * 2 * owners)
    assert total <= budget, f"{total} statements for {2 * owners} turns (budget {budget}): {dict(statements)}"
    assert statements["SAVEPOINT"] == 0  # no savepoint round trips unless a turn fails
    # and every owner got the consent question, then the next registration question, once each
    with harness.db.session() as s:
        per_owner = Counter(s.scalars(select(OutboxMessage.owner_id)))
        assert len(per_owner) == owners and all(count >= 2 for count in per_owner.values())


def test_one_failing_turn_is_rolled_back_alone_and_handled_once_later(harness, clock):
    """A turn that raises in a batch: the batch runs again with a savepoint per turn, the others
    commit with their replies, the failing message waits (attempt 1, its error kept) and is handled
    exactly once when it is due again."""
    owners = [f"+62813{n:08d}" for n in range(6)]
    broken = owners[2]

    def breaks(session, inbound, content):
        if inbound.address == broken:
            raise RuntimeError("a bug in one turn")
        return None

    for address in owners:
        store(harness, harness.twilio_form("halo", sender=f"whatsapp:{address}"))
    pipeline.INBOUND_HOOKS.insert(0, breaks)
    try:
        harness.rt.inbox.work_until_idle(BATCH)
    finally:
        pipeline.INBOUND_HOOKS.remove(breaks)
    db = harness.db
    with db.session() as s:
        rows = {r.address: r for r in s.scalars(select(ChannelInbox))}
        assert {a for a, r in rows.items() if r.status == "done"} == set(owners) - {broken}
        failed = rows[broken]
        assert (failed.status, failed.attempts) == ("pending", 1) and "a bug in one turn" in failed.error
        # nothing of the failed turn stayed: no message id recorded, no log, no reply
        assert s.scalar(select(func.count()).select_from(InboundMessage)) == len(owners) - 1
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.address == broken)) == 0
        # the others' replies were queued with their turns
        assert {a for (a,) in s.execute(select(OutboxMessage.address).distinct())} == set(owners) - {broken}

    clock.shift(timedelta(seconds=5))  # the retry is due (backoff 2 s after the first attempt)
    assert harness.rt.inbox.work_until_idle(BATCH) == 1
    with db.session() as s:
        assert s.scalar(select(ChannelInbox.status).where(ChannelInbox.address == broken)) == "done"
        said = s.scalars(select(MessageLog.text).where(MessageLog.direction == "in")).all()
        assert sorted(said) == ["halo"] * len(owners)  # every message handled exactly once
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.address == broken)) >= 1


def test_a_take_earlier_in_the_batch_relays_the_owners_message_later_in_it(roster, harness, clock):
    """The mentor takes the case and the owner writes; both wait in the inbox and are handled in
    one batch, the mentor's first: the owner's message goes to the mentor, the bot stays quiet."""
    owner_asks_for_a_mentor(harness)
    with harness.db.session() as s:
        case_id = s.scalars(select(Ticket.id)).one()
    response = harness.client.post("/webhooks/telegram", json=command(harness, f"/ambil {case_id}"),
                                   headers={"X-Telegram-Bot-Api-Secret-Token": TG_SECRET})
    assert response.status_code == 200
    store(harness, harness.twilio_form("foto labelnya sudah saya siapkan", sender=f"whatsapp:{OWNER}"))
    replies_before = _count(harness.db, select(func.count()).select_from(OutboxMessage)
                            .where(OutboxMessage.address == OWNER, OutboxMessage.kind == "reply"))
    harness.work()
    harness.send()
    assert any("foto labelnya sudah saya siapkan" in t for t in to_mentor(harness))
    with harness.db.session() as s:
        assert s.get(Ticket, case_id).status == "taken"
        # the owner only hears that the mentor took the case, never a bot answer to their message
        assert s.scalar(select(func.count()).select_from(OutboxMessage)
                        .where(OutboxMessage.address == OWNER, OutboxMessage.kind == "reply")) == replies_before


CONVERSATION = ["halo", "ya", "Bu Sari", "menu", "1", "apa itu NIB?", "apa itu NIB?", "bantuan", "bantuan",
                "kembali", "apa itu PIRT?", "terima kasih", "2"]


def test_facts_read_once_per_batch_answer_as_each_turn_asking_for_itself(harness, clock, monkeypatch):
    """The repeat check, the words already explained and the event-invitation check are read once
    per batch for all its owners (bot/turn_batch.py). Two groups of owners have the same
    conversation through signed webhooks in batches: the first with every turn asking for itself
    (the batch's facts switched off), the second with the batch's facts. Every owner of both groups
    reads the same replies, in the same order; the long help asked twice in a row is answered in
    full once and then with the short reminder; and the batch reads each fact once."""
    from bot import turn_batch

    if not harness.db.is_postgres:
        pytest.skip("SQLite handles one message per batch (one writer at a time)")
    owners = 12
    asking = [f"whatsapp:+62814{n:08d}" for n in range(owners)]
    batched = [f"whatsapp:+62815{n:08d}" for n in range(owners)]

    def converse(senders: list[str]) -> Counter[str]:
        with counting(harness.db) as statements:
            for text in CONVERSATION:
                for sender in senders:
                    store(harness, harness.twilio_form(text, sender=sender))
                assert harness.rt.inbox.work_until_idle(BATCH) == len(senders)
        return statements

    with monkeypatch.context() as m:  # every turn asks the database itself, as outside a batch
        for name in ("previous_out", "may_be_invited", "terms_seen"):
            m.setattr(turn_batch.BatchFacts, name, lambda self, session, owner_id: None)
        converse(asking)
    reads: Counter[str] = Counter()

    def count_reads(conn, cursor, statement, parameters, context, executemany):
        for table in ("message_log", "legality_terms_seen", "broadcast_recipients"):
            if statement.lstrip().upper().startswith("SELECT") and table in statement:
                reads[table] += 1

    event.listen(harness.db.engine, "before_cursor_execute", count_reads)
    try:
        converse(batched)
    finally:
        event.remove(harness.db.engine, "before_cursor_execute", count_reads)
    # one batch per round: each fact read at most once in it, whatever the number of owners
    assert all(count <= len(CONVERSATION) for count in reads.values()), reads
    assert reads["message_log"] >= 1 and reads["legality_terms_seen"] >= 1

    with harness.db.session() as s:
        def replies(sender: str) -> list[str]:
            return list(s.scalars(select(OutboxMessage.text).where(OutboxMessage.address == sender.split(":", 1)[1])
                                  .order_by(OutboxMessage.id)))

        expected = replies(asking[0])
        assert all(replies(sender) == expected for sender in asking + batched)
    reminder = harness.rt.inbox.content.t("common.repeat_same", "id")
    help_text = next(text for text in expected if len(text) > 250 and "BANTUAN" not in text and "MENU" in text)
    assert expected.count(help_text) == 1 and any(reminder in text for text in expected), expected
