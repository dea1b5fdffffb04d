"""labels: label checks (a label photo, the words read, the checklist result)

Only the labels area's table; its one foreign key is to owners (foundation).

Revision ID: labels_0001
Revises: 0001_foundation
Create Date: 2026-11-26 06:40:00
"""
from alembic import op
import sqlalchemy as sa
import storage.types


revision = 'labels_0001'
down_revision = '0001_foundation'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('label_checks',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('photo_url', sa.String(length=300), nullable=False),
    sa.Column('readable', sa.Boolean(), nullable=False),
    sa.Column('verdict', sa.String(length=16), nullable=False),
    sa.Column('route', sa.String(length=24), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('result', sa.JSON(), nullable=False),
    sa.Column('created_at', storage.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['owner_id'], ['owners.id'], name=op.f('fk_label_checks_owner_id_owners'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_label_checks'))
    )
    with op.batch_alter_table('label_checks', schema=None) as batch_op:
        batch_op.create_index('ix_label_checks_owner_created', ['owner_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('label_checks', schema=None) as batch_op:
        batch_op.drop_index('ix_label_checks_owner_created')
    op.drop_table('label_checks')
