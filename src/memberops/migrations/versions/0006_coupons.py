"""coupons

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import memberops.db

revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')


def upgrade() -> None:
    op.create_table('coupon_templates',
    sa.Column('id', ID, nullable=False),
    sa.Column('code', sa.String(length=40), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('description', sa.String(length=500), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('amount_off', sa.BigInteger(), nullable=True),
    sa.Column('percent_off', sa.Integer(), nullable=True),
    sa.Column('max_discount', sa.BigInteger(), nullable=True),
    sa.Column('min_spend', sa.BigInteger(), nullable=False),
    sa.Column('gift_sku', sa.String(length=60), nullable=True),
    sa.Column('validity', sa.String(length=20), nullable=False),
    sa.Column('starts_on', sa.Date(), nullable=True),
    sa.Column('ends_on', sa.Date(), nullable=True),
    sa.Column('valid_days', sa.Integer(), nullable=True),
    sa.Column('quantity', sa.Integer(), nullable=True),
    sa.Column('issued', sa.Integer(), nullable=False),
    sa.Column('per_member_limit', sa.Integer(), nullable=True),
    sa.Column('stackable', sa.Boolean(), nullable=False),
    sa.Column('eligible_tiers', JSON, nullable=False),
    sa.Column('trigger', sa.String(length=20), nullable=True),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('issued >= 0 AND (quantity IS NULL OR issued <= quantity)', name=op.f('ck_coupon_templates_within_budget')),
    sa.CheckConstraint('min_spend >= 0', name=op.f('ck_coupon_templates_min_spend_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupon_templates')),
    sa.UniqueConstraint('code', name=op.f('uq_coupon_templates_code'))
    )
    with op.batch_alter_table('coupon_templates', schema=None) as batch_op:
        batch_op.create_index('ix_coupon_templates_trigger', ['trigger', 'status'], unique=False)

    op.create_table('coupons',
    sa.Column('id', ID, nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('template_id', ID, nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('issue_key', sa.String(length=120), nullable=True),
    sa.Column('batch_ref', sa.String(length=64), nullable=True),
    sa.Column('issued_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_from', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('valid_until', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('order_ref', sa.String(length=120), nullable=True),
    sa.Column('discount', sa.BigInteger(), nullable=True),
    sa.Column('used_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expired_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('details', JSON, nullable=False),
    sa.CheckConstraint('valid_until > valid_from', name=op.f('ck_coupons_window_valid')),
    sa.CheckConstraint('discount IS NULL OR discount >= 0', name=op.f('ck_coupons_discount_not_negative')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_coupons_member_id_members')),
    sa.ForeignKeyConstraint(['template_id'], ['coupon_templates.id'], name=op.f('fk_coupons_template_id_coupon_templates')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_coupons')),
    sa.UniqueConstraint('code', name=op.f('uq_coupons_code')),
    sa.UniqueConstraint('issue_key', name=op.f('uq_coupons_issue_key'))
    )
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_coupons_batch_ref'), ['batch_ref'], unique=False)
        batch_op.create_index(batch_op.f('ix_coupons_order_ref'), ['order_ref'], unique=False)
        batch_op.create_index('ix_coupons_member', ['member_id', 'status', 'id'], unique=False)
        batch_op.create_index('ix_coupons_template_member', ['template_id', 'member_id'], unique=False)
        batch_op.create_index('ix_coupons_due', ['status', 'valid_until'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('coupons', schema=None) as batch_op:
        batch_op.drop_index('ix_coupons_due')
        batch_op.drop_index('ix_coupons_template_member')
        batch_op.drop_index('ix_coupons_member')
        batch_op.drop_index(batch_op.f('ix_coupons_order_ref'))
        batch_op.drop_index(batch_op.f('ix_coupons_batch_ref'))

    op.drop_table('coupons')
    with op.batch_alter_table('coupon_templates', schema=None) as batch_op:
        batch_op.drop_index('ix_coupon_templates_trigger')

    op.drop_table('coupon_templates')
