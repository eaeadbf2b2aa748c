"""programme, points, wallet

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import memberops.db

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('gift_items',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('sku', sa.String(length=60), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('points_price', sa.BigInteger(), nullable=False),
    sa.Column('stock', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points_price > 0', name=op.f('ck_gift_items_price_positive')),
    sa.CheckConstraint('stock >= 0', name=op.f('ck_gift_items_stock_not_negative')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_items')),
    sa.UniqueConstraint('sku', name=op.f('uq_gift_items_sku'))
    )
    op.create_table('programme_config',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('data', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=200), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_programme_config')),
    sa.UniqueConstraint('kind', 'version', name=op.f('uq_programme_config_kind_version'))
    )
    op.create_table('gift_redemptions',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('gift_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('redemption_ref', sa.String(length=120), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.CheckConstraint('quantity > 0', name=op.f('ck_gift_redemptions_quantity_positive')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_gift_redemptions_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['gift_id'], ['gift_items.id'], name=op.f('fk_gift_redemptions_gift_id_gift_items')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_gift_redemptions_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_gift_redemptions')),
    sa.UniqueConstraint('redemption_ref', name=op.f('uq_gift_redemptions_redemption_ref'))
    )
    with op.batch_alter_table('gift_redemptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_gift_redemptions_member_id'), ['member_id'], unique=False)

    op.create_table('points_lots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=30), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('original', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('earned_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('available_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint('remaining >= 0 AND remaining <= original', name=op.f('ck_points_lots_remaining_in_range')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_points_lots_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_points_lots_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_lots'))
    )
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.create_index('ix_points_lots_due', ['status', 'available_at'], unique=False)
        batch_op.create_index('ix_points_lots_expiry', ['status', 'expires_at'], unique=False)
        batch_op.create_index('ix_points_lots_member_use', ['member_id', 'status', 'expires_at', 'id'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_lots_reference'), ['reference'], unique=False)

    op.create_table('recharges',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_ref', sa.String(length=120), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('bonus', sa.BigInteger(), nullable=False),
    sa.Column('bonus_breakdown', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('referrer_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('referrer_points', sa.BigInteger(), nullable=False),
    sa.Column('campaign_points', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('payment_status', sa.String(length=10), nullable=False),
    sa.Column('review_status', sa.String(length=10), nullable=False),
    sa.Column('risk_rule', sa.String(length=40), nullable=True),
    sa.Column('risk_reason', sa.String(length=500), nullable=True),
    sa.Column('reviewed_by', sa.String(length=200), nullable=True),
    sa.Column('reviewed_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_reason', sa.String(length=500), nullable=True),
    sa.Column('scheme_version', sa.Integer(), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('settled_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint('amount > 0 AND bonus >= 0', name=op.f('ck_recharges_amounts_valid')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_recharges_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_recharges_member_id_members')),
    sa.ForeignKeyConstraint(['referrer_id'], ['members.id'], name=op.f('fk_recharges_referrer_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_recharges')),
    sa.UniqueConstraint('payment_ref', name=op.f('uq_recharges_payment_ref'))
    )
    with op.batch_alter_table('recharges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_recharges_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recharges_member_id'), ['member_id'], unique=False)
        batch_op.create_index('ix_recharges_member_time', ['member_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_recharges_status'), ['status'], unique=False)

    op.create_table('wallet_cash_outs',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('cash_out_ref', sa.String(length=120), nullable=False),
    sa.Column('principal_refunded', sa.BigInteger(), nullable=False),
    sa.Column('bonus_forfeited', sa.BigInteger(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_wallet_cash_outs_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_wallet_cash_outs_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_cash_outs')),
    sa.UniqueConstraint('cash_out_ref', name=op.f('uq_wallet_cash_outs_cash_out_ref'))
    )
    with op.batch_alter_table('wallet_cash_outs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_cash_outs_member_id'), ['member_id'], unique=False)

    op.create_table('wallet_lots',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('original', sa.BigInteger(), nullable=False),
    sa.Column('remaining', sa.BigInteger(), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint('remaining >= 0 AND remaining <= original', name=op.f('ck_wallet_lots_remaining_in_range')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_wallet_lots_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_wallet_lots_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_lots'))
    )
    with op.batch_alter_table('wallet_lots', schema=None) as batch_op:
        batch_op.create_index('ix_wallet_lots_member_use', ['member_id', 'kind', 'remaining', 'id'], unique=False)

    op.create_table('wallet_payments',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_ref', sa.String(length=120), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('principal_part', sa.BigInteger(), nullable=False),
    sa.Column('bonus_part', sa.BigInteger(), nullable=False),
    sa.Column('cashback', sa.BigInteger(), nullable=False),
    sa.Column('refunded', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0 AND amount = principal_part + bonus_part', name=op.f('ck_wallet_payments_parts_add_up')),
    sa.CheckConstraint('refunded >= 0 AND refunded <= amount', name=op.f('ck_wallet_payments_refund_in_range')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_wallet_payments_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_wallet_payments_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_payments')),
    sa.UniqueConstraint('payment_ref', name=op.f('uq_wallet_payments_payment_ref'))
    )
    with op.batch_alter_table('wallet_payments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_payments_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_payments_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_payments_reference'), ['reference'], unique=False)

    op.create_table('points_bonus_claims',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('action', sa.String(length=40), nullable=False),
    sa.Column('period', sa.String(length=20), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], name=op.f('fk_points_bonus_claims_lot_id_points_lots')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_points_bonus_claims_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_bonus_claims'))
    )
    with op.batch_alter_table('points_bonus_claims', schema=None) as batch_op:
        batch_op.create_index('ix_points_bonus_claims_period', ['member_id', 'action', 'period'], unique=False)

    op.create_table('points_uses',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('lot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('points', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('returned', sa.BigInteger(), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('points > 0 AND returned >= 0 AND returned <= points', name=op.f('ck_points_uses_points_in_range')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_points_uses_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['lot_id'], ['points_lots.id'], name=op.f('fk_points_uses_lot_id_points_lots')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_points_uses_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_points_uses'))
    )
    with op.batch_alter_table('points_uses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_points_uses_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_uses_lot_id'), ['lot_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_uses_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_points_uses_reference'), ['reference'], unique=False)

    op.create_table('wallet_refunds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('payment_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('member_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('refund_ref', sa.String(length=120), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('principal_part', sa.BigInteger(), nullable=False),
    sa.Column('bonus_part', sa.BigInteger(), nullable=False),
    sa.Column('cashback_clawback', sa.BigInteger(), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0 AND amount = principal_part + bonus_part', name=op.f('ck_wallet_refunds_parts_add_up')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_wallet_refunds_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_wallet_refunds_member_id_members')),
    sa.ForeignKeyConstraint(['payment_id'], ['wallet_payments.id'], name=op.f('fk_wallet_refunds_payment_id_wallet_payments')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wallet_refunds')),
    sa.UniqueConstraint('refund_ref', name=op.f('uq_wallet_refunds_refund_ref'))
    )
    with op.batch_alter_table('wallet_refunds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wallet_refunds_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_wallet_refunds_payment_id'), ['payment_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('wallet_refunds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_refunds_payment_id'))
        batch_op.drop_index(batch_op.f('ix_wallet_refunds_member_id'))

    op.drop_table('wallet_refunds')
    with op.batch_alter_table('points_uses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_uses_reference'))
        batch_op.drop_index(batch_op.f('ix_points_uses_member_id'))
        batch_op.drop_index(batch_op.f('ix_points_uses_lot_id'))
        batch_op.drop_index(batch_op.f('ix_points_uses_entry_id'))

    op.drop_table('points_uses')
    with op.batch_alter_table('points_bonus_claims', schema=None) as batch_op:
        batch_op.drop_index('ix_points_bonus_claims_period')

    op.drop_table('points_bonus_claims')
    with op.batch_alter_table('wallet_payments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_payments_reference'))
        batch_op.drop_index(batch_op.f('ix_wallet_payments_member_id'))
        batch_op.drop_index(batch_op.f('ix_wallet_payments_created_at'))

    op.drop_table('wallet_payments')
    with op.batch_alter_table('wallet_lots', schema=None) as batch_op:
        batch_op.drop_index('ix_wallet_lots_member_use')

    op.drop_table('wallet_lots')
    with op.batch_alter_table('wallet_cash_outs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_wallet_cash_outs_member_id'))

    op.drop_table('wallet_cash_outs')
    with op.batch_alter_table('recharges', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_recharges_status'))
        batch_op.drop_index('ix_recharges_member_time')
        batch_op.drop_index(batch_op.f('ix_recharges_member_id'))
        batch_op.drop_index(batch_op.f('ix_recharges_created_at'))

    op.drop_table('recharges')
    with op.batch_alter_table('points_lots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_points_lots_reference'))
        batch_op.drop_index('ix_points_lots_member_use')
        batch_op.drop_index('ix_points_lots_expiry')
        batch_op.drop_index('ix_points_lots_due')

    op.drop_table('points_lots')
    with op.batch_alter_table('gift_redemptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_gift_redemptions_member_id'))

    op.drop_table('gift_redemptions')
    op.drop_table('programme_config')
    op.drop_table('gift_items')
