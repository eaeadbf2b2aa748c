"""segments: saved segment definitions and frozen snapshots of their membership

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import memberops.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('segments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.Column('updated_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segments')),
    sa.UniqueConstraint('name', name=op.f('uq_segments_name'))
    )
    op.create_table('segment_snapshots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('segment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('as_of', sa.Date(), nullable=False),
    sa.Column('taken_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('taken_by', sa.String(length=200), nullable=False),
    sa.Column('member_count', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.ForeignKeyConstraint(['segment_id'], ['segments.id'], name=op.f('fk_segment_snapshots_segment_id_segments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_segment_snapshots'))
    )
    with op.batch_alter_table('segment_snapshots', schema=None) as batch_op:
        batch_op.create_index('ix_segment_snapshots_segment_taken', ['segment_id', 'taken_at'], unique=False)

    op.create_table('segment_snapshot_members',
    sa.Column('snapshot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_segment_snapshot_members_member_id_members')),
    sa.ForeignKeyConstraint(['snapshot_id'], ['segment_snapshots.id'], name=op.f('fk_segment_snapshot_members_snapshot_id_segment_snapshots')),
    sa.PrimaryKeyConstraint('snapshot_id', 'member_id', name=op.f('pk_segment_snapshot_members'))
    )


def downgrade() -> None:
    op.drop_table('segment_snapshot_members')
    with op.batch_alter_table('segment_snapshots', schema=None) as batch_op:
        batch_op.drop_index('ix_segment_snapshots_segment_taken')

    op.drop_table('segment_snapshots')
    op.drop_table('segments')
