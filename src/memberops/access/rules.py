"""Roles and permissions: the one table that says who may do what.

Each API route names one permission (see `memberops.api.permissions`); each role
holds a set of permissions. A test walks both tables against every role.
"""

from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    OPERATOR = "operator"
    ANALYST = "analyst"
    FINANCE = "finance"
    TILL = "till"


class Permission(StrEnum):
    MEMBERS_READ = "members.read"          # look a member up, search, timeline
    MEMBERS_REGISTER = "members.register"  # create a member (a till does this)
    MEMBERS_WRITE = "members.write"        # edit profile, tags, consent, status
    MEMBERS_IMPORT = "members.import"
    MEMBERS_EXPORT = "members.export"      # bulk personal data leaves the system
    AUDIT_READ = "audit.read"
    ACCESS_MANAGE = "access.manage"        # operators and API keys
    CONFIG_READ = "config.read"            # see the programme's rules
    CONFIG_WRITE = "config.write"          # change the programme's rules, gift catalogue
    POINTS_READ = "points.read"            # balances, lots, statements
    POINTS_EARN = "points.earn"            # bonus actions (check-in, review, …)
    POINTS_REDEEM = "points.redeem"        # gifts and deductions
    POINTS_ADJUST = "points.adjust"        # manual adjustments: admin only
    WALLET_READ = "wallet.read"
    WALLET_RECHARGE = "wallet.recharge"
    WALLET_PAY = "wallet.pay"
    WALLET_REFUND = "wallet.refund"
    WALLET_CASH_OUT = "wallet.cash_out"
    PAYMENT_CALLBACK = "payment.callback"  # the payment gateway confirms or fails a payment
    RISK_REVIEW = "risk.review"            # the review queue for held recharges
    LEDGER_READ = "ledger.read"            # liabilities, verification
    REPORTS_READ = "reports.read"          # the KPI report (members, sales, value, CAC)
    COUPONS_READ = "coupons.read"          # templates, a member's coupons, a coupon by code
    COUPONS_MANAGE = "coupons.manage"      # create, edit, pause and resume coupon templates
    COUPONS_ISSUE = "coupons.issue"        # issue coupons to a member or a list
    COUPONS_VALIDATE = "coupons.validate"  # check coupon codes against an order
    PLUS_SELL = "plus.sell"                # buy or renew a paid membership (may debit the wallet)
    PLUS_CANCEL = "plus.cancel"            # cancel one, refunding it under the 7-day rule
    PLUS_REFUND = "plus.refund"            # record a refund due on an external payment as paid
    TIERS_FLOOR = "tiers.floor"            # set or remove a member's tier floor: admin only
    TIERS_SIMULATE = "tiers.simulate"      # what-if replays of a proposed tier ladder
    ORDERS_READ = "orders.read"            # orders and refunds, per member and per store
    ORDERS_CREATE = "orders.create"        # quote and commit an order (a till does this)
    ORDERS_REFUND = "orders.refund"        # refund an order, fully or in part
    INSIGHT_READ = "insight.read"          # analyses of everyone's behaviour (association rules)
    RECOMMENDATIONS_READ = "recommendations.read"  # a member's recommended products
    SEGMENTS_WRITE = "segments.write"      # save, change, delete segments; take snapshots


ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    Role.ADMIN: frozenset(Permission),
    Role.OPERATOR: frozenset({
        Permission.MEMBERS_READ, Permission.MEMBERS_REGISTER, Permission.MEMBERS_WRITE,
        Permission.MEMBERS_IMPORT, Permission.MEMBERS_EXPORT, Permission.CONFIG_READ,
        Permission.CONFIG_WRITE, Permission.POINTS_READ, Permission.POINTS_EARN,
        Permission.POINTS_REDEEM, Permission.WALLET_READ, Permission.WALLET_RECHARGE,
        Permission.COUPONS_READ, Permission.COUPONS_MANAGE, Permission.COUPONS_ISSUE,
        Permission.COUPONS_VALIDATE,
        Permission.WALLET_REFUND, Permission.PLUS_CANCEL,
        Permission.TIERS_SIMULATE,  # they change the ladder: they try it first
        Permission.ORDERS_READ, Permission.ORDERS_REFUND,
        Permission.REPORTS_READ,  # the dashboard's KPIs
        # cross-sell offers are theirs to design: the rules and a member's recommendations
        Permission.INSIGHT_READ, Permission.RECOMMENDATIONS_READ,
        # segments are the audiences of their campaigns: they save them and freeze snapshots
        Permission.SEGMENTS_WRITE,
    }),
    # Analysts read and export for analysis; they change nothing.
    Role.ANALYST: frozenset({
        Permission.MEMBERS_READ, Permission.MEMBERS_EXPORT, Permission.CONFIG_READ,
        Permission.POINTS_READ, Permission.WALLET_READ, Permission.LEDGER_READ,
        Permission.COUPONS_READ, Permission.TIERS_SIMULATE, Permission.ORDERS_READ,
        Permission.REPORTS_READ,
        Permission.INSIGHT_READ, Permission.RECOMMENDATIONS_READ,
    }),
    # Finance reviews held recharges, refunds and cash-outs, and reads the liabilities;
    # it cancels paid memberships with their refunds and pays out those due outside.
    Role.FINANCE: frozenset({
        Permission.MEMBERS_READ, Permission.MEMBERS_EXPORT, Permission.CONFIG_READ,
        Permission.POINTS_READ, Permission.WALLET_READ, Permission.WALLET_REFUND,
        Permission.WALLET_CASH_OUT, Permission.PAYMENT_CALLBACK, Permission.RISK_REVIEW,
        Permission.COUPONS_READ,
        Permission.LEDGER_READ, Permission.PLUS_CANCEL, Permission.PLUS_REFUND,
        Permission.ORDERS_READ, Permission.ORDERS_REFUND, Permission.REPORTS_READ,
    }),
    # A till serves the member at the counter: register, look up, earn, redeem, recharge,
    # pay and refund, sell a paid membership; nothing about configuration, exports or other
    # people's accounts (cancelling a paid membership is for the service desk or finance).
    Role.TILL: frozenset({
        Permission.MEMBERS_READ, Permission.MEMBERS_REGISTER, Permission.POINTS_READ,
        Permission.POINTS_EARN, Permission.POINTS_REDEEM, Permission.WALLET_READ,
        Permission.WALLET_RECHARGE, Permission.WALLET_PAY, Permission.WALLET_REFUND,
        Permission.COUPONS_READ, Permission.COUPONS_VALIDATE,
        Permission.PAYMENT_CALLBACK, Permission.PLUS_SELL,
        Permission.ORDERS_READ, Permission.ORDERS_CREATE, Permission.ORDERS_REFUND,
        # "with your latte, a croissant?": the list is made from the member's orders, which
        # the till reads already; the store-wide rules are not the counter's business
        Permission.RECOMMENDATIONS_READ,
    }),
}


def allows(role: str, permission: Permission) -> bool:
    try:
        return permission in ROLE_PERMISSIONS[Role(role)]
    except ValueError:
        return False
