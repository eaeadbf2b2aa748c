"""Coupon use cases (优惠券), split by use case; import them from here.

Templates are edited under a row lock; issues lock the template (budget, per-member limit);
an order redeems its coupons with one conditional UPDATE each. Services never commit; the
caller's unit of work does.
"""

from memberops.coupons import queries as _queries  # noqa: F401  (registers timeline text)
from memberops.coupons.rules import AppliedCoupon, Evaluation, OrderContext
from memberops.coupons.service.expire import expire_batch
from memberops.coupons.service.issue import (
    IssueReport,
    RowProblem,
    Target,
    issue,
    issue_birthday,
    issue_many,
    issue_welcome,
    read_member_list,
)
from memberops.coupons.service.redeem import (
    MemberLike,
    Released,
    context,
    evaluate,
    normalise_codes,
    quote,
    redeem,
    release,
)
from memberops.coupons.service.templates import (
    REFERENCE_TEMPLATES,
    create_template,
    ensure_reference_templates,
    set_status,
    template_ref,
    update_template,
)

__all__ = [
    "REFERENCE_TEMPLATES",
    "AppliedCoupon",
    "Evaluation",
    "IssueReport",
    "MemberLike",
    "OrderContext",
    "Released",
    "RowProblem",
    "Target",
    "context",
    "create_template",
    "ensure_reference_templates",
    "evaluate",
    "expire_batch",
    "issue",
    "issue_birthday",
    "issue_many",
    "issue_welcome",
    "normalise_codes",
    "quote",
    "read_member_list",
    "redeem",
    "release",
    "set_status",
    "template_ref",
    "update_template",
]
