"""gmp: self-checks, answers, evidence, reminders, reminder opt-outs

Only the GMP area's tables; foreign keys only to foundation tables (owners, tickets) or our own.

Revision ID: gmp_0001
Revises: 0001_foundation
Create Date: 2026-11-22 08:07:52.847029
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = 'gmp_0001'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('reminder_opt_outs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_reminder_opt_outs_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminder_opt_outs')),
    sa.UniqueConstraint('owner_id', 'kind', name='uq_reminder_opt_outs_owner_kind')
    )
    op.create_table('reminders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('subject', sa.String(length=96), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=False),
    sa.Column('due_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('outcome', sa.String(length=32), nullable=True),
    sa.Column('occurrence', sa.Integer(), nullable=False),
    sa.Column('snooze_count', sa.Integer(), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('last_queued_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_reminders_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reminders')),
    sa.UniqueConstraint('dedupe_key', name='uq_reminders_dedupe_key')
    )
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.create_index('ix_reminders_owner_status', ['owner_id', 'status'], unique=False)
        batch_op.create_index('ix_reminders_status_due', ['status', 'due_at'], unique=False)

    op.create_table('gmp_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('checklist', sa.String(length=32), nullable=False),
    sa.Column('checklist_reviewed', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('current_item', sa.String(length=32), nullable=True),
    sa.Column('started_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('completed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('level', sa.String(length=4), nullable=True),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('findings_total', sa.Integer(), nullable=False),
    sa.Column('unknown_total', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_gmp_checks_owner_id_owners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_gmp_checks_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gmp_checks'))
    )
    with op.batch_alter_table('gmp_checks', schema=None) as batch_op:
        batch_op.create_index('ix_gmp_checks_owner_completed', ['owner_id', 'completed_at'], unique=False)
        batch_op.create_index('ix_gmp_checks_owner_status', ['owner_id', 'status'], unique=False)

    op.create_table('gmp_answers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.String(length=32), nullable=False),
    sa.Column('aspect', sa.String(length=8), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('answer', sa.String(length=8), nullable=False),
    sa.Column('answered_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['gmp_checks.id'], name=op.f('fk_gmp_answers_check_id_gmp_checks'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gmp_answers')),
    sa.UniqueConstraint('check_id', 'item_id', name='uq_gmp_answers_check_item')
    )
    op.create_table('gmp_evidence',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('check_id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('aspect', sa.String(length=8), nullable=False),
    sa.Column('media_kind', sa.String(length=16), nullable=False),
    sa.Column('url', sa.Text(), nullable=False),
    sa.Column('content_type', sa.String(length=64), nullable=False),
    sa.Column('provider_id', sa.String(length=128), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['check_id'], ['gmp_checks.id'], name=op.f('fk_gmp_evidence_check_id_gmp_checks'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_gmp_evidence_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gmp_evidence'))
    )
    with op.batch_alter_table('gmp_evidence', schema=None) as batch_op:
        batch_op.create_index('ix_gmp_evidence_check_aspect', ['check_id', 'aspect'], unique=False)
        batch_op.create_index(batch_op.f('ix_gmp_evidence_owner_id'), ['owner_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('gmp_evidence', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gmp_evidence_owner_id'))
        batch_op.drop_index('ix_gmp_evidence_check_aspect')

    op.drop_table('gmp_evidence')
    op.drop_table('gmp_answers')
    with op.batch_alter_table('gmp_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_gmp_checks_owner_status')
        batch_op.drop_index('ix_gmp_checks_owner_completed')

    op.drop_table('gmp_checks')
    with op.batch_alter_table('reminders', schema=None) as batch_op:
        batch_op.drop_index('ix_reminders_status_due')
        batch_op.drop_index('ix_reminders_owner_status')

    op.drop_table('reminders')
    op.drop_table('reminder_opt_outs')
