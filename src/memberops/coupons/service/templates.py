"""Coupon templates: create, edit, pause and resume (audited, with an event each), and the
reference programme's four templates (PROGRAMME.md "Coupons")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from memberops.audit import service as audit
from memberops.coupons import queries, rules
from memberops.coupons.events import CouponTemplateChanged, CouponTemplateCreated
from memberops.coupons.models import CouponTemplate
from memberops.coupons.schemas import TemplateCreate, TemplateUpdate
from memberops.errors import Conflict, NotFound, ValidationFailed
from memberops.uow import UnitOfWork

M = TypeVar("M", bound=BaseModel)
# The discount terms: frozen once a template has issued a coupon, so a coupon in a member's
# hands never changes what it gives (create a new template instead).
TERMS = ("kind", "amount_off", "percent_off", "max_discount", "min_spend", "gift_sku",
         "stackable", "eligible_tiers")
KIND_FIELDS = ("amount_off", "percent_off", "max_discount", "gift_sku")
VALIDITY_FIELDS = ("starts_on", "ends_on", "valid_days")
NOT_NULL = ("name", "kind", "validity", "min_spend", "stackable", "eligible_tiers")
FIELDS = ("code", "name", "description", *TERMS, "validity", *VALIDITY_FIELDS, "quantity",
          "per_member_limit", "trigger", "status")

REFERENCE_TEMPLATES: tuple[dict[str, Any], ...] = (
    {"code": "welcome", "name": "Welcome 新人券", "kind": "first_order", "amount_off": 2_000,
     "min_spend": 10_000, "validity": "days", "valid_days": 30, "per_member_limit": 1,
     "trigger": "welcome",
     "description": "¥20 off a first order of ¥100 or more, valid 30 days from joining"},
    {"code": "spend200-off30", "name": "满200减30", "kind": "amount_off", "amount_off": 3_000,
     "min_spend": 20_000, "validity": "days", "valid_days": 14,
     "description": "¥30 off an order of ¥200 or more, valid 14 days from issue"},
    {"code": "10-percent-off", "name": "9折", "kind": "percent_off", "percent_off": 10,
     "max_discount": 5_000, "validity": "days", "valid_days": 14,
     "description": "10% off, at most ¥50 off, valid 14 days from issue"},
    {"code": "birthday", "name": "Birthday 生日券", "kind": "amount_off", "amount_off": 5_000,
     "min_spend": 15_000, "validity": "birthday_month",
     "eligible_tiers": ["silver", "gold", "diamond"], "trigger": "birthday",
     "description": "¥50 off an order of ¥150 or more in the birthday month, Silver and "
                    "above"},
)


def parse(model: type[M], data: M | Mapping[str, Any]) -> M:
    """The input as its model; a dict (from the CLI) is validated into one, with every
    problem named by its field."""
    if isinstance(data, model):
        return data
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"]) or "body",
                   "reason": str(e["msg"]).removeprefix("Value error, ")} for e in exc.errors()]
        raise ValidationFailed("; ".join(f"{e['field']}: {e['reason']}" for e in errors),
                               errors=errors) from None


def _terms(values: Mapping[str, Any]) -> rules.Terms:
    return rules.Terms(kind=values["kind"], amount_off=values.get("amount_off"),
                       percent_off=values.get("percent_off"),
                       max_discount=values.get("max_discount"),
                       min_spend=values.get("min_spend") or 0, gift_sku=values.get("gift_sku"),
                       stackable=bool(values.get("stackable")),
                       eligible_tiers=tuple(values.get("eligible_tiers") or ()))


def _validity_problems(v: Mapping[str, Any]) -> list[tuple[str, str]]:
    needs = {"fixed": ("ends_on",), "days": ("valid_days",), "birthday_month": ()}
    wanted = needs[v["validity"]] + (("starts_on",) if v["validity"] == "fixed" else ())
    problems = [(name, f"is required for {v['validity']} validity")
                for name in needs[v["validity"]] if v.get(name) is None]
    problems += [(name, f"does not apply to {v['validity']} validity")
                 for name in VALIDITY_FIELDS if v.get(name) is not None and name not in wanted]
    if v.get("starts_on") and v.get("ends_on") and v["ends_on"] < v["starts_on"]:
        problems.append(("ends_on", "is before starts_on"))
    return problems


def check(values: Mapping[str, Any]) -> None:
    """Refuse a template whose fields do not make sense together, naming each field."""
    problems = rules.terms_problems(_terms(values)) + _validity_problems(values)
    if values.get("quantity") is not None and values["quantity"] < values.get("issued", 0):
        problems.append(("quantity", f"cannot be below the {values['issued']} already issued"))
    if problems:
        raise ValidationFailed("; ".join(f"{f}: {r}" for f, r in problems),
                               errors=[{"field": f, "reason": r} for f, r in problems])


def _snapshot(t: CouponTemplate) -> dict[str, Any]:
    return {name: getattr(t, name) for name in FIELDS}


def create_template(uow: UnitOfWork, data: TemplateCreate | Mapping[str, Any]) -> CouponTemplate:
    """Add a template; its code must be new."""
    values = parse(TemplateCreate, data).model_dump()
    check(values)
    if uow.session.execute(select(CouponTemplate.id).where(
            CouponTemplate.code == values["code"])).first():
        raise Conflict(f"a coupon template with code {values['code']!r} already exists",
                       code="coupon_template_exists")
    now = uow.clock.now()
    template = CouponTemplate(**values, issued=0, created_at=now, updated_at=now)
    uow.session.add(template)
    try:
        with uow.session.begin_nested():
            uow.session.flush()
    except IntegrityError:  # created concurrently: the unique index decides
        raise Conflict(f"a coupon template with code {values['code']!r} already exists",
                       code="coupon_template_exists") from None
    audit.record(uow, action="coupons.template_created", target_type="coupon_template",
                 target_id=template.id, changes=audit.diff({}, values))
    uow.emit(CouponTemplateCreated(template_id=template.id, code=template.code,
                                   kind=template.kind))
    return template


def lock(uow: UnitOfWork, template_id: int) -> CouponTemplate:
    """The template row, locked: edits, and every issue from it, take their turn (the
    budget and the per-member limit are checked under this lock)."""
    found = uow.session.execute(
        select(CouponTemplate).where(CouponTemplate.id == template_id).with_for_update()
        .execution_options(populate_existing=True)).scalar_one_or_none()
    if found is None:
        raise NotFound(f"coupon template {template_id} not found",
                       code="coupon_template_not_found")
    return found


def _changes(template: CouponTemplate, sent: dict[str, Any]) -> dict[str, Any]:
    """What the update sets, with the fields of a replaced kind or validity cleared."""
    for name in NOT_NULL:
        if name in sent and sent[name] is None:
            raise ValidationFailed(f"{name}: cannot be empty",
                                   errors=[{"field": name, "reason": "cannot be empty"}])
    cleared: dict[str, Any] = {}
    if "kind" in sent and sent["kind"] != template.kind:
        cleared.update({name: None for name in KIND_FIELDS})
    if "validity" in sent and sent["validity"] != template.validity:
        cleared.update({name: None for name in VALIDITY_FIELDS})
    return {**cleared, **sent}


def update_template(uow: UnitOfWork, template_id: int,
                    data: TemplateUpdate | Mapping[str, Any]) -> CouponTemplate:
    """Change a template; only the fields sent change (null clears an optional one)."""
    sent = parse(TemplateUpdate, data).model_dump(exclude_unset=True)
    template = lock(uow, template_id)
    before = _snapshot(template)
    changes = {k: v for k, v in _changes(template, sent).items() if before.get(k) != v}
    frozen = sorted(set(changes) & set(TERMS))
    if frozen and template.issued:
        raise Conflict(f"template {template.code!r} has issued {template.issued} coupons: its "
                       f"terms ({', '.join(frozen)}) can no longer change; create a new "
                       "template instead", code="coupon_template_in_use")
    check({**before, **changes, "issued": template.issued})
    if not changes:
        return template
    for name, value in changes.items():
        setattr(template, name, value)
    template.updated_at = uow.clock.now()
    diff = audit.diff(before, _snapshot(template))
    audit.record(uow, action="coupons.template_changed", target_type="coupon_template",
                 target_id=template.id, changes=diff)
    uow.emit(CouponTemplateChanged(template_id=template.id, code=template.code, changes=diff))
    return template


def set_status(uow: UnitOfWork, template_id: int, status: str,
               reason: str | None = None) -> CouponTemplate:
    """Pause (no more issues; coupons already issued stay usable) or resume a template."""
    if status not in ("active", "paused"):
        raise ValidationFailed("status: must be active or paused",
                               errors=[{"field": "status", "reason": "active or paused"}])
    template = lock(uow, template_id)
    if template.status == status:
        return template
    diff = audit.diff({"status": template.status}, {"status": status})
    template.status = status
    template.updated_at = uow.clock.now()
    audit.record(uow, action="coupons.template_paused" if status == "paused"
                 else "coupons.template_resumed", target_type="coupon_template",
                 target_id=template.id, changes=diff, reason=reason)
    uow.emit(CouponTemplateChanged(template_id=template.id, code=template.code, changes=diff))
    return template


def ensure_reference_templates(uow: UnitOfWork) -> list[CouponTemplate]:
    """The reference programme's four templates, created if their codes are missing (an
    operator's edits to existing ones are kept). Safe to call again."""
    found: list[CouponTemplate] = []
    for data in REFERENCE_TEMPLATES:
        existing = uow.session.execute(select(CouponTemplate).where(
            CouponTemplate.code == data["code"])).scalar_one_or_none()
        found.append(existing or create_template(uow, data))
    return found


def template_ref(uow: UnitOfWork, ref: str) -> CouponTemplate:
    """A template by id or code (the CLI's TEMPLATE argument)."""
    return queries.template_by_ref(uow.session, ref)
