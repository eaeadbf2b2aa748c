"""The one table of who may call what: every API route names its permission here.

`create_app` refuses to start if a route is missing from this table, and
tests/api/test_permissions.py walks it for every role.
"""

from __future__ import annotations

from memberops.access.rules import Permission

API_PREFIX = "/api/v1"
PUBLIC = "public"

ROUTE_PERMISSIONS: dict[tuple[str, str], Permission | str] = {
    ("GET", "/api/v1/health"): PUBLIC,
    # members
    ("POST", "/api/v1/members"): Permission.MEMBERS_REGISTER,
    ("GET", "/api/v1/members"): Permission.MEMBERS_READ,
    ("GET", "/api/v1/members/{member_id}"): Permission.MEMBERS_READ,
    ("PATCH", "/api/v1/members/{member_id}"): Permission.MEMBERS_WRITE,
    ("POST", "/api/v1/members/{member_id}/tags"): Permission.MEMBERS_WRITE,
    ("DELETE", "/api/v1/members/{member_id}/tags/{tag}"): Permission.MEMBERS_WRITE,
    ("PUT", "/api/v1/members/{member_id}/consents/{channel}"): Permission.MEMBERS_WRITE,
    ("POST", "/api/v1/members/{member_id}/status"): Permission.MEMBERS_WRITE,
    ("GET", "/api/v1/members/{member_id}/timeline"): Permission.MEMBERS_READ,
    ("GET", "/api/v1/members/export"): Permission.MEMBERS_EXPORT,
    ("POST", "/api/v1/members/import"): Permission.MEMBERS_IMPORT,
    # access
    ("GET", "/api/v1/api-keys"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/api-keys"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/api-keys/{key_id}/revoke"): Permission.ACCESS_MANAGE,
    ("GET", "/api/v1/operators"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/operators"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/operators/{operator_id}/disable"): Permission.ACCESS_MANAGE,
    ("POST", "/api/v1/operators/{operator_id}/enable"): Permission.ACCESS_MANAGE,
    # programme configuration
    ("GET", "/api/v1/programme"): Permission.CONFIG_READ,
    ("GET", "/api/v1/programme/{kind}"): Permission.CONFIG_READ,
    ("PUT", "/api/v1/programme/{kind}"): Permission.CONFIG_WRITE,
    ("GET", "/api/v1/programme/{kind}/history"): Permission.CONFIG_READ,
    # stored value
    ("POST", "/api/v1/members/{member_id}/recharges"): Permission.WALLET_RECHARGE,
    ("GET", "/api/v1/members/{member_id}/recharges"): Permission.WALLET_READ,
    ("GET", "/api/v1/members/{member_id}/wallet"): Permission.WALLET_READ,
    ("GET", "/api/v1/members/{member_id}/wallet/statement"): Permission.WALLET_READ,
    ("GET", "/api/v1/members/{member_id}/wallet/lots"): Permission.WALLET_READ,
    ("GET", "/api/v1/members/{member_id}/wallet/payments"): Permission.WALLET_READ,
    ("POST", "/api/v1/members/{member_id}/wallet/payments"): Permission.WALLET_PAY,
    ("POST", "/api/v1/wallet/payments/{payment_ref}/refunds"): Permission.WALLET_REFUND,
    ("POST", "/api/v1/members/{member_id}/wallet/cash-out"): Permission.WALLET_CASH_OUT,
    ("POST", "/api/v1/payments/{payment_ref}/callback"): Permission.PAYMENT_CALLBACK,
    ("GET", "/api/v1/recharges/review"): Permission.RISK_REVIEW,
    # a proposed recharge scheme replayed on the last 12 months: whoever reads the programme
    ("POST", "/api/v1/recharges/what-if"): Permission.CONFIG_READ,
    ("POST", "/api/v1/recharges/{recharge_id}/approve"): Permission.RISK_REVIEW,
    ("POST", "/api/v1/recharges/{recharge_id}/reject"): Permission.RISK_REVIEW,
    # points
    ("GET", "/api/v1/members/{member_id}/points"): Permission.POINTS_READ,
    ("GET", "/api/v1/members/{member_id}/points/statement"): Permission.POINTS_READ,
    ("GET", "/api/v1/members/{member_id}/points/lots"): Permission.POINTS_READ,
    ("POST", "/api/v1/members/{member_id}/points/bonus"): Permission.POINTS_EARN,
    ("POST", "/api/v1/members/{member_id}/points/redemptions"): Permission.POINTS_REDEEM,
    ("POST", "/api/v1/members/{member_id}/points/adjustments"): Permission.POINTS_ADJUST,
    ("GET", "/api/v1/gifts"): Permission.POINTS_READ,
    ("POST", "/api/v1/gifts"): Permission.CONFIG_WRITE,
    ("PATCH", "/api/v1/gifts/{sku}"): Permission.CONFIG_WRITE,
    # finance reports
    ("GET", "/api/v1/reports/liabilities"): Permission.LEDGER_READ,
    ("GET", "/api/v1/ledger/verify"): Permission.LEDGER_READ,
    # the KPIs: operators, analysts and finance read them; a till does not
    ("GET", "/api/v1/reports/kpis"): Permission.REPORTS_READ,
    # paid membership (PLUS): seen by whoever sees members, sold at the till, cancelled by
    # the service desk or finance, its refunds read and paid out by finance
    ("GET", "/api/v1/members/{member_id}/plus"): Permission.MEMBERS_READ,
    ("POST", "/api/v1/members/{member_id}/plus"): Permission.PLUS_SELL,
    ("POST", "/api/v1/members/{member_id}/plus/cancel"): Permission.PLUS_CANCEL,
    ("GET", "/api/v1/plus/members"): Permission.MEMBERS_READ,
    ("GET", "/api/v1/plus/refunds"): Permission.LEDGER_READ,
    ("POST", "/api/v1/plus/refunds/{refund_ref}/settle"): Permission.PLUS_REFUND,
    # coupons: marketing (operator) manages templates and issues; a till validates codes
    # and sees a member's coupons; the read-only roles read
    ("GET", "/api/v1/coupon-templates"): Permission.COUPONS_READ,
    ("POST", "/api/v1/coupon-templates"): Permission.COUPONS_MANAGE,
    ("GET", "/api/v1/coupon-templates/{template_id}"): Permission.COUPONS_READ,
    ("PATCH", "/api/v1/coupon-templates/{template_id}"): Permission.COUPONS_MANAGE,
    ("POST", "/api/v1/coupon-templates/{template_id}/pause"): Permission.COUPONS_MANAGE,
    ("POST", "/api/v1/coupon-templates/{template_id}/resume"): Permission.COUPONS_MANAGE,
    ("POST", "/api/v1/coupon-templates/{template_id}/issue"): Permission.COUPONS_ISSUE,
    ("POST", "/api/v1/coupon-templates/{template_id}/issue-file"): Permission.COUPONS_ISSUE,
    ("GET", "/api/v1/members/{member_id}/coupons"): Permission.COUPONS_READ,
    ("GET", "/api/v1/coupons/{code}"): Permission.COUPONS_READ,
    ("POST", "/api/v1/coupons/validate"): Permission.COUPONS_VALIDATE,
    # tiers
    ("GET", "/api/v1/tiers"): Permission.MEMBERS_READ,
    ("POST", "/api/v1/tiers/what-if"): Permission.TIERS_SIMULATE,
    ("GET", "/api/v1/members/{member_id}/tier"): Permission.MEMBERS_READ,
    ("GET", "/api/v1/members/{member_id}/tier/history"): Permission.MEMBERS_READ,
    ("PUT", "/api/v1/members/{member_id}/tier/floor"): Permission.TIERS_FLOOR,
    ("DELETE", "/api/v1/members/{member_id}/tier/floor"): Permission.TIERS_FLOOR,
    # orders
    ("POST", "/api/v1/orders/quote"): Permission.ORDERS_CREATE,
    ("POST", "/api/v1/orders"): Permission.ORDERS_CREATE,
    ("GET", "/api/v1/orders"): Permission.ORDERS_READ,
    ("GET", "/api/v1/orders/{order_ref}"): Permission.ORDERS_READ,
    ("GET", "/api/v1/orders/{order_ref}/refunds"): Permission.ORDERS_READ,
    ("POST", "/api/v1/orders/{order_ref}/refunds"): Permission.ORDERS_REFUND,
    ("GET", "/api/v1/members/{member_id}/orders"): Permission.ORDERS_READ,
    # cross-sell: the rules for analysts and operators; a member's recommendations also
    # for the till, which suggests them at the counter
    ("GET", "/api/v1/insight/association-rules"): Permission.INSIGHT_READ,
    ("GET", "/api/v1/members/{member_id}/recommendations"): Permission.RECOMMENDATIONS_READ,
    # member insight: RFM, lifecycle and the pyramid, churn risk; analyses of everyone's
    # behaviour, for analysts and operators, not the counter
    ("GET", "/api/v1/members/{member_id}/insight"): Permission.INSIGHT_READ,
    ("GET", "/api/v1/insight/rfm"): Permission.INSIGHT_READ,
    ("GET", "/api/v1/insight/lifecycle"): Permission.INSIGHT_READ,
    ("GET", "/api/v1/insight/churn"): Permission.INSIGHT_READ,
    # segments: whoever reads the insight previews, lists and exports them (analysts
    # too); saving, changing, deleting and snapshotting is for admins and operators,
    # whose campaigns use them (analysts change nothing)
    ("POST", "/api/v1/segments/preview"): Permission.INSIGHT_READ,
    ("GET", "/api/v1/segments"): Permission.INSIGHT_READ,
    ("POST", "/api/v1/segments"): Permission.SEGMENTS_WRITE,
    ("GET", "/api/v1/segments/{segment_id}"): Permission.INSIGHT_READ,
    ("PATCH", "/api/v1/segments/{segment_id}"): Permission.SEGMENTS_WRITE,
    ("DELETE", "/api/v1/segments/{segment_id}"): Permission.SEGMENTS_WRITE,
    ("POST", "/api/v1/segments/{segment_id}/snapshots"): Permission.SEGMENTS_WRITE,
    ("GET", "/api/v1/segments/{segment_id}/snapshots"): Permission.INSIGHT_READ,
    ("GET", "/api/v1/segments/{segment_id}/snapshots/{snapshot_id}/members.csv"):
        Permission.INSIGHT_READ,
    # audit
    ("GET", "/api/v1/audit"): Permission.AUDIT_READ,
}
