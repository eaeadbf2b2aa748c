"""Stored-value use cases, one module per use case; callers import them from here.

`verb(uow, *, …)`: validate → lock (the member row first, via members.lock_active) →
change → post to the ledger → emit. Services never commit.
"""

from memberops.wallet.service.cash_out import cash_out
from memberops.wallet.service.recharge import recharge
from memberops.wallet.service.review import approve, confirm_payment, reject
from memberops.wallet.service.spend import pay, refund_payment

__all__ = ["approve", "cash_out", "confirm_payment", "pay", "recharge", "refund_payment",
           "reject"]
