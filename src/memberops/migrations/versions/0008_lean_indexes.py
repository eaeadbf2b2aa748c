"""lean indexes: drop the indexes no query uses on the tables every payment and order
writes (each is one more B-tree page written at every commit)

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

# (table, index, columns): nothing filters or sorts on these columns alone; lookups go
# through the unique keys (idempotency key, payment_ref, order_ref), the member, the
# store or the account. Analytics read these tables whole.
DROPPED = (
    ('ledger_entries', 'ix_ledger_entries_kind', ['kind']),
    ('ledger_entries', 'ix_ledger_entries_reference', ['reference']),
    ('ledger_entries', 'ix_ledger_entries_created_at', ['created_at']),
    ('wallet_payments', 'ix_wallet_payments_created_at', ['created_at']),
    ('wallet_payments', 'ix_wallet_payments_reference', ['reference']),
    ('orders', 'ix_orders_created_at', ['created_at']),
    ('order_lines', 'ix_order_lines_sku', ['sku']),
    ('points_uses', 'ix_points_uses_member_id', ['member_id']),
)


def upgrade() -> None:
    for table, index, _ in DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(index)


def downgrade() -> None:
    for table, index, columns in DROPPED:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(index, columns, unique=False)
