"""orders

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import memberops.db

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('orders',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_ref', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('store', sa.String(length=60), nullable=True),
    sa.Column('channel', sa.String(length=30), nullable=True),
    sa.Column('status', sa.String(length=20), nullable=False),
    sa.Column('tier', sa.String(length=20), nullable=False),
    sa.Column('plus', sa.Boolean(), nullable=False),
    sa.Column('subtotal', sa.BigInteger(), nullable=False),
    sa.Column('tier_discount', sa.BigInteger(), nullable=False),
    sa.Column('plus_discount', sa.BigInteger(), nullable=False),
    sa.Column('coupon_discount', sa.BigInteger(), nullable=False),
    sa.Column('coupons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('points_used', sa.BigInteger(), nullable=False),
    sa.Column('points_value', sa.BigInteger(), nullable=False),
    sa.Column('wallet_paid', sa.BigInteger(), nullable=False),
    sa.Column('external_paid', sa.BigInteger(), nullable=False),
    sa.Column('points_earned', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.Column('refunded_points', sa.BigInteger(), nullable=False),
    sa.Column('refunded_points_value', sa.BigInteger(), nullable=False),
    sa.Column('refunded_wallet', sa.BigInteger(), nullable=False),
    sa.Column('refunded_external', sa.BigInteger(), nullable=False),
    sa.Column('clawed_points', sa.BigInteger(), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('refunded >= 0 AND refunded <= points_value + wallet_paid + external_paid', name=op.f('ck_orders_refunded_within_paid')),
    sa.CheckConstraint('subtotal >= 0', name=op.f('ck_orders_subtotal_not_negative')),
    sa.CheckConstraint('wallet_paid >= 0 AND external_paid >= 0 AND points_value >= 0', name=op.f('ck_orders_payments_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_orders_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_orders')),
    sa.UniqueConstraint('order_ref', name=op.f('uq_orders_order_ref'))
    )
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_orders_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_orders_member_created', ['member_id', 'created_at'], unique=False)
        batch_op.create_index('ix_orders_store_created', ['store', 'created_at'], unique=False)

    op.create_table('order_lines',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('line_no', sa.Integer(), nullable=False),
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('category', sa.String(length=60), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('unit_price', sa.BigInteger(), nullable=False),
    sa.Column('net', sa.BigInteger(), nullable=False),
    sa.Column('refunded_quantity', sa.Integer(), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_order_lines_quantity_positive')),
    sa.CheckConstraint('refunded_quantity >= 0 AND refunded_quantity <= quantity', name=op.f('ck_order_lines_refunded_within_quantity')),
    sa.CheckConstraint('unit_price >= 0', name=op.f('ck_order_lines_unit_price_not_negative')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_lines_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_lines'))
    )
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_lines_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_lines_sku'), ['sku'], unique=False)

    op.create_table('order_refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('refund_ref', sa.String(length=100), nullable=False),
    sa.Column('request_hash', sa.String(length=64), nullable=False),
    sa.Column('order_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('items', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('points_returned', sa.BigInteger(), nullable=False),
    sa.Column('points_value', sa.BigInteger(), nullable=False),
    sa.Column('wallet_refunded', sa.BigInteger(), nullable=False),
    sa.Column('external_refunded', sa.BigInteger(), nullable=False),
    sa.Column('points_clawed', sa.BigInteger(), nullable=False),
    sa.Column('coupons_released', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_order_refunds_amount_positive')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_order_refunds_member_id_members')),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_order_refunds_order_id_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_order_refunds')),
    sa.UniqueConstraint('refund_ref', name=op.f('uq_order_refunds_refund_ref'))
    )
    with op.batch_alter_table('order_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_order_refunds_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_refunds_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_order_refunds_order_id'), ['order_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('order_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_refunds_order_id'))
        batch_op.drop_index(batch_op.f('ix_order_refunds_member_id'))
        batch_op.drop_index(batch_op.f('ix_order_refunds_created_at'))

    op.drop_table('order_refunds')
    with op.batch_alter_table('order_lines', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_order_lines_sku'))
        batch_op.drop_index(batch_op.f('ix_order_lines_order_id'))

    op.drop_table('order_lines')
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_index('ix_orders_store_created')
        batch_op.drop_index('ix_orders_member_created')
        batch_op.drop_index(batch_op.f('ix_orders_created_at'))

    op.drop_table('orders')
