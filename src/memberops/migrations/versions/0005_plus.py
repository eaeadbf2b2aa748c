"""paid membership (PLUS)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa

import memberops.db

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plus_periods',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_code', sa.String(length=20), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('payment_method', sa.String(length=10), nullable=False),
    sa.Column('payment_ref', sa.String(length=120), nullable=False),
    sa.Column('price', sa.BigInteger(), nullable=False),
    sa.Column('starts_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('extra_discount_pct', sa.Integer(), nullable=False),
    sa.Column('points_multiplier_pct', sa.Integer(), nullable=False),
    sa.Column('cancel_within_days', sa.Integer(), nullable=False),
    sa.Column('used_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_order_ref', sa.String(length=120), nullable=True),
    sa.Column('refund_status', sa.String(length=10), nullable=False),
    sa.Column('refund_ref', sa.String(length=120), nullable=True),
    sa.Column('refund_amount', sa.BigInteger(), nullable=False),
    sa.Column('refund_requested_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('refunded_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('settlement_ref', sa.String(length=120), nullable=True),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('price > 0 AND refund_amount >= 0 AND refund_amount <= price', name=op.f('ck_plus_periods_amounts_valid')),
    sa.CheckConstraint('ends_at > starts_at', name=op.f('ck_plus_periods_period_not_empty')),
    sa.CheckConstraint("payment_method IN ('wallet', 'external')", name=op.f('ck_plus_periods_payment_known')),
    sa.CheckConstraint("refund_status IN ('none', 'refunded', 'due')", name=op.f('ck_plus_periods_refund_known')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_plus_periods_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plus_periods')),
    sa.UniqueConstraint('payment_ref', name=op.f('uq_plus_periods_payment_ref')),
    sa.UniqueConstraint('refund_ref', name=op.f('uq_plus_periods_refund_ref'))
    )
    with op.batch_alter_table('plus_periods', schema=None) as batch_op:
        batch_op.create_index('ix_plus_periods_member', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_plus_periods_refunds', ['refund_status', 'id'], unique=False)

    op.create_table('plus_subscriptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('plan_code', sa.String(length=20), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('started_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('ends_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('period_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_method', sa.String(length=10), nullable=False),
    sa.Column('payment_ref', sa.String(length=120), nullable=False),
    sa.Column('price_paid', sa.BigInteger(), nullable=False),
    sa.Column('extra_discount_pct', sa.Integer(), nullable=False),
    sa.Column('points_multiplier_pct', sa.Integer(), nullable=False),
    sa.Column('used_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('used_order_ref', sa.String(length=120), nullable=True),
    sa.Column('cancelled_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("status IN ('active', 'cancelled', 'expired')", name=op.f('ck_plus_subscriptions_status_known')),
    sa.CheckConstraint('ends_at >= started_at', name=op.f('ck_plus_subscriptions_ends_after_start')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_plus_subscriptions_member_id_members')),
    sa.ForeignKeyConstraint(['period_id'], ['plus_periods.id'], name=op.f('fk_plus_subscriptions_period_id_plus_periods')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plus_subscriptions')),
    sa.UniqueConstraint('member_id', name=op.f('uq_plus_subscriptions_member_id'))
    )
    with op.batch_alter_table('plus_subscriptions', schema=None) as batch_op:
        batch_op.create_index('ix_plus_subscriptions_status_ends', ['status', 'ends_at', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('plus_subscriptions', schema=None) as batch_op:
        batch_op.drop_index('ix_plus_subscriptions_status_ends')

    op.drop_table('plus_subscriptions')
    with op.batch_alter_table('plus_periods', schema=None) as batch_op:
        batch_op.drop_index('ix_plus_periods_refunds')
        batch_op.drop_index('ix_plus_periods_member')

    op.drop_table('plus_periods')
