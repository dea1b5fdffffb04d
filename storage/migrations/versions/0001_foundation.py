"""foundation

Revision ID: 0001_foundation
Revises: 
Create Date: 2026-11-22 08:00:56.071186
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = '0001_foundation'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('inbound_messages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('message_id', sa.String(length=128), nullable=False),
    sa.Column('received_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbound_messages')),
    sa.UniqueConstraint('channel', 'message_id', name='uq_inbound_messages_channel_message_id')
    )
    op.create_table('owners',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('consent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('consent_declined_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=True),
    sa.Column('business_name', sa.String(length=160), nullable=True),
    sa.Column('sector', sa.String(length=16), nullable=True),
    sa.Column('products', sa.JSON(), nullable=False),
    sa.Column('city', sa.String(length=64), nullable=True),
    sa.Column('district', sa.String(length=64), nullable=True),
    sa.Column('in_jakarta', sa.Boolean(), nullable=True),
    sa.Column('has_permits', sa.JSON(), nullable=True),
    sa.Column('registered_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('opted_out_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('unreachable_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_inbound_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_owners')),
    sa.UniqueConstraint('channel', 'address', name='uq_owners_channel_address')
    )
    op.create_table('conversation_states',
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=True),
    sa.Column('step', sa.String(length=48), nullable=True),
    sa.Column('data', sa.JSON(), nullable=False),
    sa.Column('history', sa.JSON(), nullable=False),
    sa.Column('interrupt', sa.String(length=32), nullable=True),
    sa.Column('misses', sa.Integer(), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_conversation_states_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('owner_id', name=op.f('pk_conversation_states'))
    )
    op.create_table('message_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('direction', sa.String(length=3), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('media', sa.JSON(), nullable=False),
    sa.Column('flow', sa.String(length=32), nullable=True),
    sa.Column('step', sa.String(length=48), nullable=True),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_message_log_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_message_log'))
    )
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.create_index('ix_message_log_owner_created', ['owner_id', 'created_at'], unique=False)

    op.create_table('outbox',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('template_vars', sa.JSON(), nullable=False),
    sa.Column('dedupe_key', sa.String(length=128), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('not_before', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('provider_id', sa.String(length=128), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('sent_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_outbox_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('dedupe_key', name='uq_outbox_dedupe_key')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_owner', ['owner_id', 'id'], unique=False)
        batch_op.create_index('ix_outbox_pending', ['status', 'channel', 'priority', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_outbox_provider_id'), ['provider_id'], unique=False)

    op.create_table('tickets',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('context', sa.JSON(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolved_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('resolution_note', sa.Text(), nullable=True),
    sa.Column('rating', sa.Integer(), nullable=True),
    sa.Column('rating_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_tickets_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tickets'))
    )
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.create_index('ix_tickets_owner_status', ['owner_id', 'status'], unique=False)

    op.create_table('ticket_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('actor', sa.String(length=64), nullable=False),
    sa.Column('action', sa.String(length=32), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_ticket_events_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ticket_events'))
    )
    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ticket_events_ticket_id'), ['ticket_id'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('ticket_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ticket_events_ticket_id'))

    op.drop_table('ticket_events')
    with op.batch_alter_table('tickets', schema=None) as batch_op:
        batch_op.drop_index('ix_tickets_owner_status')

    op.drop_table('tickets')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_outbox_provider_id'))
        batch_op.drop_index('ix_outbox_pending')
        batch_op.drop_index('ix_outbox_owner')

    op.drop_table('outbox')
    with op.batch_alter_table('message_log', schema=None) as batch_op:
        batch_op.drop_index('ix_message_log_owner_created')

    op.drop_table('message_log')
    op.drop_table('conversation_states')
    op.drop_table('owners')
    op.drop_table('inbound_messages')

