"""legality: products, pathway steps, terms seen

Revision ID: legality_0001
Revises: 0001_foundation
Create Date: 2026-11-22 08:16:17.927270
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = 'legality_0001'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('legality_products',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('product_key', sa.String(length=48), nullable=True),
    sa.Column('sector', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=32), nullable=True),
    sa.Column('halal_route', sa.String(length=16), nullable=True),
    sa.Column('answers', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_legality_products_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legality_products')),
    sa.UniqueConstraint('owner_id', 'name', name='uq_legality_products_owner_name')
    )
    with op.batch_alter_table('legality_products', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_legality_products_owner_id'), ['owner_id'], unique=False)

    op.create_table('legality_terms_seen',
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('term', sa.String(length=32), nullable=False),
    sa.Column('seen_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_legality_terms_seen_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('owner_id', 'term', name=op.f('pk_legality_terms_seen'))
    )
    op.create_table('legality_steps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=True),
    sa.Column('slot', sa.String(length=16), nullable=False),
    sa.Column('step', sa.String(length=24), nullable=False),
    sa.Column('permit_kind', sa.String(length=16), nullable=True),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('number', sa.String(length=40), nullable=True),
    sa.Column('issued_on', sa.Date(), nullable=True),
    sa.Column('expires_on', sa.Date(), nullable=True),
    sa.Column('rejection_reason', sa.Text(), nullable=True),
    sa.Column('ticket_id', sa.Integer(), nullable=True),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('started_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', storage.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_legality_steps_owner_id_owners'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['product_id'], ['legality_products.id'], name=op.f('fk_legality_steps_product_id_legality_products'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['ticket_id'], ['tickets.id'], name=op.f('fk_legality_steps_ticket_id_tickets'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_legality_steps')),
    sa.UniqueConstraint('owner_id', 'slot', 'step', name='uq_legality_steps_owner_slot_step')
    )
    with op.batch_alter_table('legality_steps', schema=None) as batch_op:
        batch_op.create_index('ix_legality_steps_expires_on', ['expires_on'], unique=False)
        batch_op.create_index('ix_legality_steps_owner_status', ['owner_id', 'status'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('legality_steps', schema=None) as batch_op:
        batch_op.drop_index('ix_legality_steps_owner_status')
        batch_op.drop_index('ix_legality_steps_expires_on')

    op.drop_table('legality_steps')
    op.drop_table('legality_terms_seen')
    with op.batch_alter_table('legality_products', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_legality_products_owner_id'))

    op.drop_table('legality_products')
