"""ledger

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22
"""
from alembic import op
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql

import memberops.db

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger_balances',
    sa.Column('address', sa.String(length=120), nullable=False),
    sa.Column('asset', sa.String(length=16), nullable=False),
    sa.Column('balance', sa.BigInteger(), nullable=False),
    sa.Column('updated_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('address', 'asset', name=op.f('pk_ledger_balances'))
    )
    op.create_table('ledger_entries',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('input_hash', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=60), nullable=False),
    sa.Column('reference', sa.String(length=120), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=True),
    sa.Column('reverses_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=False),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['reverses_id'], ['ledger_entries.id'], name=op.f('fk_ledger_entries_reverses_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_entries')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_entries_idempotency_key')),
    sa.UniqueConstraint('reverses_id', name=op.f('uq_ledger_entries_reverses_id'))
    )
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_entries_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_kind'), ['kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_entries_reference'), ['reference'], unique=False)

    op.create_table('ledger_holds',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('idempotency_key', sa.String(length=255), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('destination', sa.String(length=120), nullable=False),
    sa.Column('asset', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('expires_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', memberops.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('resolved_at', memberops.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('hold_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('resolve_entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_holds_amount_positive')),
    sa.ForeignKeyConstraint(['hold_entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_holds_hold_entry_id_ledger_entries')),
    sa.ForeignKeyConstraint(['resolve_entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_holds_resolve_entry_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_holds')),
    sa.UniqueConstraint('idempotency_key', name=op.f('uq_ledger_holds_idempotency_key'))
    )
    with op.batch_alter_table('ledger_holds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_ledger_holds_expires_at'), ['expires_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_holds_status'), ['status'], unique=False)

    op.create_table('ledger_postings',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source', sa.String(length=120), nullable=False),
    sa.Column('destination', sa.String(length=120), nullable=False),
    sa.Column('asset', sa.String(length=16), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_ledger_postings_amount_positive')),
    sa.CheckConstraint('source <> destination', name=op.f('ck_ledger_postings_distinct_accounts')),
    sa.ForeignKeyConstraint(['entry_id'], ['ledger_entries.id'], name=op.f('fk_ledger_postings_entry_id_ledger_entries')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_ledger_postings'))
    )
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.create_index('ix_ledger_postings_destination', ['destination', 'asset', 'entry_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_ledger_postings_entry_id'), ['entry_id'], unique=False)
        batch_op.create_index('ix_ledger_postings_source', ['source', 'asset', 'entry_id'], unique=False)



    _append_only("ledger_entries", "ledger_postings")


# Entries and postings are never edited (corrections are reversal entries): the database
# itself refuses UPDATE and DELETE on them.
def _append_only(*tables: str) -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    if not sqlite:
        op.execute(
            "CREATE FUNCTION refuse_change() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION '% is append-only', TG_TABLE_NAME; END $$"
        )
    for table in tables:
        if sqlite:
            for verb in ("UPDATE", "DELETE"):
                op.execute(
                    f"CREATE TRIGGER {table}_no_{verb.lower()} BEFORE {verb} ON {table} "
                    f"BEGIN SELECT RAISE(ABORT, '{table} is append-only'); END"
                )
        else:
            op.execute(
                f"CREATE TRIGGER {table}_no_change BEFORE UPDATE OR DELETE ON {table} "
                "FOR EACH ROW EXECUTE FUNCTION refuse_change()"
            )


def _drop_append_only(*tables: str) -> None:
    sqlite = op.get_context().dialect.name == "sqlite"
    for table in tables:
        if sqlite:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_update")
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_delete")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {table}_no_change ON {table}")
    if not sqlite:
        op.execute("DROP FUNCTION IF EXISTS refuse_change()")


def downgrade() -> None:
    _drop_append_only("ledger_entries", "ledger_postings")
    with op.batch_alter_table('ledger_postings', schema=None) as batch_op:
        batch_op.drop_index('ix_ledger_postings_source')
        batch_op.drop_index(batch_op.f('ix_ledger_postings_entry_id'))
        batch_op.drop_index('ix_ledger_postings_destination')

    op.drop_table('ledger_postings')
    with op.batch_alter_table('ledger_holds', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_holds_status'))
        batch_op.drop_index(batch_op.f('ix_ledger_holds_expires_at'))

    op.drop_table('ledger_holds')
    with op.batch_alter_table('ledger_entries', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_ledger_entries_reference'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_kind'))
        batch_op.drop_index(batch_op.f('ix_ledger_entries_created_at'))

    op.drop_table('ledger_entries')
    op.drop_table('ledger_balances')
