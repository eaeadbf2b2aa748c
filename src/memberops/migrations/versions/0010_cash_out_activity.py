"""cash-out activity: a cash-out's principal comes off the recharge total that qualifies
for a tier, as tier activity of kind 'cash_out' with a negative amount

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07
"""
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

NAME = 'ck_tier_activity_amount_sign'
BEFORE = "(kind = 'refund' AND amount <= 0) OR (kind IN ('spend', 'recharge') AND amount >= 0)"
AFTER = ("(kind IN ('refund', 'cash_out') AND amount <= 0) OR "
         "(kind IN ('spend', 'recharge') AND amount >= 0)")


def _replace(condition: str) -> None:
    # SQLite cannot alter a constraint: batch mode copies the table with the new one.
    with op.batch_alter_table('tier_activity', schema=None, recreate='auto') as batch_op:
        batch_op.drop_constraint(op.f(NAME), type_='check')
        batch_op.create_check_constraint('amount_sign', condition)


def upgrade() -> None:
    _replace(AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM tier_activity WHERE kind = 'cash_out'")
    _replace(BEFORE)
