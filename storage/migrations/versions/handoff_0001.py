"""handoff: mentors, their areas, case routing and offers

Revision ID: handoff_0001
Revises: 0001_foundation
Create Date: 2026-11-22 08:01:20.340525

tickets.mentor_id gets no foreign key: adding one on SQLite means recreating `tickets`, and
dropping the old table with foreign keys on would cascade-delete its ticket_events. Mentors are
never deleted (only made inactive), so the id always resolves.
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = 'handoff_0001'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('mentors',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=32), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('telegram', sa.String(length=64), nullable=True),
    sa.Column('whatsapp', sa.String(length=32), nullable=True),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('sectors', sa.JSON(), nullable=False),
    sa.Column('lang', sa.String(length=2), nullable=False),
    sa.Column('current_ticket_id', sa.Integer(), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentors')),
    sa.UniqueConstraint('code', name=op.f('uq_mentors_code')),
    sa.UniqueConstraint('telegram', name=op.f('uq_mentors_telegram')),
    sa.UniqueConstraint('whatsapp', name=op.f('uq_mentors_whatsapp'))
    )
    op.create_table('mentor_areas',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('city', sa.String(length=64), nullable=False),
    sa.Column('kecamatan', sa.String(length=64), nullable=False),
    sa.ForeignKeyConstraint(['mentor_id'], ['mentors.id'], name=op.f('fk_mentor_areas_mentor_id_mentors'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_mentor_areas')),
    sa.UniqueConstraint('mentor_id', 'city', 'kecamatan', name='uq_mentor_areas_mentor_city_kecamatan')
    )
    with op.batch_alter_table('mentor_areas', schema=None) as batch_op:
        batch_op.create_index('ix_mentor_areas_city_kecamatan', ['city', 'kecamatan'], unique=False)

    op.create_table('case_offers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('mentor_id', sa.Integer(), nullable=False),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['mentor_id'], ['mentors.id'], name=op.f('fk_case_offers_mentor_id_mentors'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_case_offers_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_case_offers')),
    sa.UniqueConstraint('ticket_id', 'mentor_id', name='uq_case_offers_ticket_mentor')
    )
    with op.batch_alter_table('case_offers', schema=None) as batch_op:
        batch_op.create_index('ix_case_offers_mentor', ['mentor_id', 'ticket_id'], unique=False)

    op.create_table('case_routing',
    sa.Column('ticket_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('routed_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reminded_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('escalated_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_case_routing_ticket_id_tickets'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('ticket_id', name=op.f('pk_case_routing'))
    )


def downgrade() -> None:
    op.drop_table('case_routing')
    with op.batch_alter_table('case_offers', schema=None) as batch_op:
        batch_op.drop_index('ix_case_offers_mentor')

    op.drop_table('case_offers')
    with op.batch_alter_table('mentor_areas', schema=None) as batch_op:
        batch_op.drop_index('ix_mentor_areas_city_kecamatan')

    op.drop_table('mentor_areas')
    op.drop_table('mentors')
