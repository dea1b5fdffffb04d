"""How long the service keeps what it keeps, applied by the scheduler (`retention` job, hourly).

| data | kept | then |
|---|---|---|
| inbound queue (`channel_inbox`), handled | 2 days (late redeliveries are still recognised) | deleted |
| inbound queue, failed for good | 14 days (time to look into why) | deleted |
| provider message ids (`inbound_messages`, duplicate guard) | 30 days | deleted |
| outbox, finished (sent, delivered, read, failed, unsendable) | 30 days with text and address | emptied (status kept for broadcast counts), deleted after 365 days |
| outbox, farewell of an erased owner | until delivered or given up | emptied at the next run |
| message log (the conversation mentors read) | 365 days | deleted |
| audit log (who looked at or changed what) | 730 days | deleted |
Owner profiles, pathways, checks and cases stay while the owner uses the service; HAPUS DATA
erases them at once (bot/erasure.py). The same table is in docs/security.md.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, update

from bot.clock import utcnow
from bot.erasure import FINAL_STATUSES, scrub_farewells
from storage.models import InboundMessage, MessageLog, OutboxMessage
from storage.models.channels import ChannelInbox
from storage.models.staff import AuditLog

log = logging.getLogger(__name__)

INBOX_DONE = timedelta(days=2)
INBOX_FAILED = timedelta(days=14)
PROVIDER_IDS = timedelta(days=30)
OUTBOX_CONTENT = timedelta(days=30)
OUTBOX_ROWS = timedelta(days=365)
MESSAGE_LOG = timedelta(days=365)
AUDIT_LOG = timedelta(days=730)
EVERY_SECONDS = 3600


@dataclass
class RetentionReport:
    inbox: int = 0
    provider_ids: int = 0
    outbox_emptied: int = 0
    outbox_deleted: int = 0
    farewells: int = 0
    message_log: int = 0
    audit_log: int = 0


def apply(db, now: datetime | None = None) -> RetentionReport:
    """One run of the schedule; each step in its own short transaction."""
    now = now or utcnow()
    report = RetentionReport()

    def run(statement) -> int:
        with db.session() as session:
            return session.execute(statement.execution_options(synchronize_session=False)).rowcount or 0

    report.inbox = run(delete(ChannelInbox).where(
        ChannelInbox.status == "done", ChannelInbox.processed_at < now - INBOX_DONE))
    report.inbox += run(delete(ChannelInbox).where(
        ChannelInbox.status == "failed", ChannelInbox.processed_at < now - INBOX_FAILED))
    report.provider_ids = run(delete(InboundMessage).where(InboundMessage.received_at < now - PROVIDER_IDS))
    finished = OutboxMessage.status.in_(FINAL_STATUSES)
    report.outbox_deleted = run(delete(OutboxMessage).where(finished, OutboxMessage.created_at < now - OUTBOX_ROWS))
    report.outbox_emptied = run(update(OutboxMessage).where(
        finished, OutboxMessage.created_at < now - OUTBOX_CONTENT, OutboxMessage.address != "")
        .values(address="", text="", options=[], template_vars={}))
    with db.session() as session:
        report.farewells = scrub_farewells(session)
    report.message_log = run(delete(MessageLog).where(MessageLog.created_at < now - MESSAGE_LOG))
    report.audit_log = run(delete(AuditLog).where(AuditLog.at < now - AUDIT_LOG))
    if any(vars(report).values()):
        log.info("retention: %s", ", ".join(f"{k} {v}" for k, v in vars(report).items() if v))
    return report


def retention_job(services) -> RetentionReport:
    return apply(services.db)
