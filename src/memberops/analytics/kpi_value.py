"""Stored value, points and coupon KPIs for one period (docs/metrics.md "Stored value and
points", "Coupons"). Balances come from the ledger's postings up to the period's end, so
at today's date they are the liability report's figures (`memberops ledger liabilities`)."""

from __future__ import annotations

import polars as pl

from memberops.analytics.kpi_members import Scalars
from memberops.analytics.kpi_prepare import Prepared, View, between, ratio

# Member accounts (member:{id}:…) as the ledger names them.
ACCOUNTS = {"wallet:principal": "outstanding_principal", "wallet:bonus": "outstanding_bonus",
            "points": "points_available", "points:pending": "points_pending"}


def _sums(rows: pl.DataFrame, key: str) -> dict[str, int]:
    grouped = rows.group_by(key).agg(pl.col("delta").sum())
    return {k: int(n) for k, n in grouped.iter_rows() if k is not None}


def stored_value(prep: Prepared, v: View) -> Scalars:
    """Recharges in the period, recharge conversion and balances at the period's end."""
    recharges = v.for_members(prep.recharges).filter(pl.col("at") < v.end)
    in_period = recharges.filter(pl.col("at") >= v.start)
    population = v.population["id"].implode()
    ever = recharges.filter(pl.col("member_id").is_in(population))["member_id"].n_unique()
    times = recharges.group_by("member_id").len()
    rechargers = times.filter(pl.col("member_id").is_in(in_period["member_id"].implode()))
    return {
        "recharge_conversion": ratio(ever, v.population.height),
        "recharges": in_period.height,
        "recharge_members": rechargers.height,
        "re_recharge_rate": ratio(rechargers.filter(pl.col("len") >= 2).height,
                                  rechargers.height),
        "recharge_amount": int(in_period["amount"].sum()),
        "recharge_bonus_cost": int(in_period["bonus"].sum()),
    }


def balances_and_points(prep: Prepared, v: View) -> Scalars:
    """Outstanding stored value and points at the end; points issued, redeemed, expired."""
    moves = v.for_members(prep.moves).filter(pl.col("at") < v.end)
    held = _sums(moves, "account")
    values: Scalars = {name: held.get(account, 0) for account, name in ACCOUNTS.items()}
    values["outstanding_stored_value"] = int(values["outstanding_principal"] or 0) + int(
        values["outstanding_bonus"] or 0)
    values["points_outstanding"] = int(values["points_available"] or 0) + int(
        values["points_pending"] or 0)
    flows = _sums(moves.filter(pl.col("at") >= v.start), "flow")
    # Claw-backs return points to `issued`, returned points come back from `redeemed`:
    # both are netted, so each flow is what stayed moved.
    values["points_issued"] = flows.get("issued", 0)
    values["points_redeemed"] = -flows.get("redeemed", 0)
    values["points_expired"] = -flows.get("expired", 0)
    return values


def coupons(prep: Prepared, v: View) -> Scalars:
    """Coupons issued and redeemed in the period, redemption rate, discount given."""
    rows = v.for_members(prep.coupons)
    issued = rows.filter(between("issued_at", v.start, v.end))
    used = pl.col("status") == "used"
    redeemed = rows.filter(used & between("used_at", v.start, v.end))
    return {
        "coupons_issued": issued.height,
        "coupons_redeemed": redeemed.height,
        "coupon_redemption_rate": ratio(issued.filter(used).height, issued.height),
        "coupon_discount_cost": int(redeemed["discount"].fill_null(0).sum()),
    }
