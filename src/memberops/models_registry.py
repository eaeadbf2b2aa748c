"""Imports every model module so that Base.metadata knows every table (for Alembic and tests)."""

from __future__ import annotations

import importlib

MODEL_MODULES = (
    "memberops.outbox",
    "memberops.idempotency",
    "memberops.audit.models",
    "memberops.access.models",
    "memberops.members.models",
    "memberops.ledger.models",
    "memberops.programme.models",
    "memberops.points.models",
    "memberops.wallet.models",
    "memberops.orders.models",
    "memberops.coupons.models",
    "memberops.tiers.models",
    "memberops.plus.models",
    "memberops.segments.models",
)


def load_all() -> None:
    for name in MODEL_MODULES:
        importlib.import_module(name)
