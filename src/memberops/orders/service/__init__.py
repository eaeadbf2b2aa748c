"""Order use cases: quote, place (commit) and refund. Import them from here."""

from memberops.orders import queries as _queries  # noqa: F401  (registers timeline text)
from memberops.orders.service.place import place, quote, wallet_payment_ref
from memberops.orders.service.pricing import Priced
from memberops.orders.service.refund import plan as refund_plan
from memberops.orders.service.refund import refund

__all__ = ["Priced", "place", "quote", "refund", "refund_plan", "wallet_payment_ref"]
