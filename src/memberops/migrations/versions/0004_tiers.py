"""tiers

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23
"""
from datetime import UTC, datetime

from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import memberops.db

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')
JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql')
MOVED = 'tier_multiplier_pct'
# The reference ladder as it stood when the tier multipliers moved into it (a frozen
# copy: a migration never imports the live code).
REFERENCE_LADDER = {
    'tiers': [
        {'code': 'regular', 'name_zh': '普通', 'name_en': 'Regular',
         'qualify': {'net_spend': 0, 'orders': None, 'recharge': None},
         'benefits': {'discount_pct': 0, 'points_multiplier_pct': 100, 'free_shipping': False,
                      'birthday_coupon': False, 'priority_service': False}},
        {'code': 'silver', 'name_zh': '银卡', 'name_en': 'Silver',
         'qualify': {'net_spend': 100000, 'orders': None, 'recharge': None},
         'benefits': {'discount_pct': 2, 'points_multiplier_pct': 120, 'free_shipping': False,
                      'birthday_coupon': True, 'priority_service': False}},
        {'code': 'gold', 'name_zh': '金卡', 'name_en': 'Gold',
         'qualify': {'net_spend': 500000, 'orders': None, 'recharge': None},
         'benefits': {'discount_pct': 5, 'points_multiplier_pct': 150, 'free_shipping': True,
                      'birthday_coupon': True, 'priority_service': False}},
        {'code': 'diamond', 'name_zh': '钻石', 'name_en': 'Diamond',
         'qualify': {'net_spend': 2000000, 'orders': None, 'recharge': 1000000},
         'benefits': {'discount_pct': 8, 'points_multiplier_pct': 200, 'free_shipping': True,
                      'birthday_coupon': True, 'priority_service': True}},
    ],
    'window_months': 12, 'recharge_window_months': 12, 'hold_months': 12, 'retention_pct': 80,
}


def upgrade() -> None:
    op.create_table('member_tiers',
    sa.Column('member_id', ID, nullable=False),
    sa.Column('reached_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('reviewed_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('review_due', sa.Date(), nullable=True),
    sa.Column('held_by_floor', sa.Boolean(), nullable=False),
    sa.Column('floor_tier', sa.String(length=20), nullable=True),
    sa.Column('floor_reason', sa.String(length=500), nullable=True),
    sa.Column('floor_until', sa.Date(), nullable=True),
    sa.Column('floor_set_by', sa.String(length=200), nullable=True),
    sa.Column('floor_set_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('updated_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint('(floor_tier IS NULL) = (floor_until IS NULL) AND '
                       '(floor_tier IS NULL) = (floor_reason IS NULL)',
                       name=op.f('ck_member_tiers_floor_complete')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_member_tiers_member_id_members')),
    sa.PrimaryKeyConstraint('member_id', name=op.f('pk_member_tiers'))
    )
    with op.batch_alter_table('member_tiers', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_member_tiers_floor_until'), ['floor_until'], unique=False)
        batch_op.create_index(batch_op.f('ix_member_tiers_review_due'), ['review_due'], unique=False)

    op.create_table('tier_activity',
    sa.Column('id', ID, nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('orders', sa.Integer(), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=False),
    sa.Column('occurred_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.CheckConstraint("(kind = 'refund' AND amount <= 0) OR "
                       "(kind IN ('spend', 'recharge') AND amount >= 0)",
                       name=op.f('ck_tier_activity_amount_sign')),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_tier_activity_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_activity')),
    sa.UniqueConstraint('kind', 'reference', name=op.f('uq_tier_activity_kind_reference'))
    )
    with op.batch_alter_table('tier_activity', schema=None) as batch_op:
        batch_op.create_index('ix_tier_activity_member_time', ['member_id', 'occurred_at'], unique=False)

    op.create_table('tier_changes',
    sa.Column('id', ID, nullable=False),
    sa.Column('member_id', ID, nullable=False),
    sa.Column('from_tier', sa.String(length=20), nullable=False),
    sa.Column('to_tier', sa.String(length=20), nullable=False),
    sa.Column('reason', sa.String(length=24), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=True),
    sa.Column('details', JSON, nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['members.id'], name=op.f('fk_tier_changes_member_id_members')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_tier_changes'))
    )
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.create_index('ix_tier_changes_member', ['member_id', 'id'], unique=False)
        batch_op.create_index('ix_tier_changes_reason', ['reason', 'id'], unique=False)

    _move_tier_multipliers()


def _move_tier_multipliers() -> None:
    """The tier multipliers moved from earning_rules into the tier ladder (its one source):
    stored earning-rules versions lose the field, and multipliers an operator had changed
    are carried into a first `tiers` version, so points are earned exactly as before."""
    config = sa.table('programme_config', sa.column('id', ID), sa.column('kind', sa.String),
                      sa.column('version', sa.Integer), sa.column('data', JSON),
                      sa.column('note', sa.String),
                      sa.column('created_at', memberops.db.UTCDateTime(timezone=True)),
                      sa.column('created_by', sa.String))
    bind = op.get_bind()
    rows = bind.execute(sa.select(config.c.id, config.c.data).where(
        config.c.kind == 'earning_rules').order_by(config.c.version)).all()
    latest = None
    for row_id, data in rows:
        if isinstance(data, dict) and MOVED in data:
            latest = data[MOVED]
            bind.execute(config.update().where(config.c.id == row_id).values(
                data={k: v for k, v in data.items() if k != MOVED}))
        elif isinstance(data, dict):
            latest = None  # a later version without the field: the reference multipliers
    if not latest or bind.execute(sa.select(config.c.id).where(
            config.c.kind == 'tiers')).first() is not None:
        return
    ladder = {**REFERENCE_LADDER, 'tiers': [
        {**tier, 'benefits': {**tier['benefits'], 'points_multiplier_pct': int(
            latest.get(tier['code'], tier['benefits']['points_multiplier_pct']))}}
        for tier in REFERENCE_LADDER['tiers']]}
    if ladder != REFERENCE_LADDER:
        bind.execute(config.insert().values(
            kind='tiers', version=1, data=ladder, created_at=datetime.now(UTC),
            created_by='migration:0004',
            note='tier multipliers carried over from earning_rules.tier_multiplier_pct'))


def downgrade() -> None:
    with op.batch_alter_table('tier_changes', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_changes_reason')
        batch_op.drop_index('ix_tier_changes_member')

    op.drop_table('tier_changes')
    with op.batch_alter_table('tier_activity', schema=None) as batch_op:
        batch_op.drop_index('ix_tier_activity_member_time')

    op.drop_table('tier_activity')
    with op.batch_alter_table('member_tiers', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_member_tiers_review_due'))
        batch_op.drop_index(batch_op.f('ix_member_tiers_floor_until'))

    op.drop_table('member_tiers')
    # Earning-rules versions stay without tier_multiplier_pct: the code of 0003 reads a
    # missing field as the reference multipliers. A `tiers` version is left alone.
