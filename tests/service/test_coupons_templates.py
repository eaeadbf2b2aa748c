"""Coupon templates: each kind and validity as operators configure them, the reference
programme's four, edits (terms frozen once in use), pause and resume, and bad input refused
with the field named and nothing changed."""

from __future__ import annotations

from datetime import date

import pytest

from memberops.coupons import service
from memberops.errors import Conflict, NotFound, ValidationFailed
from tests.coupons_helpers import (
    YUAN,
    audits,
    events,
    issue,
    issued_count,
    new_member,
    reference,
    snapshot,
    template,
)


def test_the_reference_templates_are_seeded_once(make_uow, db) -> None:
    first = reference(make_uow)
    assert sorted(first) == ["10-percent-off", "birthday", "spend200-off30", "welcome"]
    before = snapshot(db)
    assert reference(make_uow) == first  # again: nothing new
    assert snapshot(db) == before
    with make_uow(readonly=True) as uow:
        welcome = service.template_ref(uow, "welcome")
        birthday = service.template_ref(uow, str(first["birthday"]))
        nine = service.template_ref(uow, "10-percent-off")
    assert (welcome.kind, welcome.amount_off, welcome.min_spend, welcome.valid_days,
            welcome.trigger, welcome.per_member_limit) == ("first_order", 2_000, 10_000, 30,
                                                           "welcome", 1)
    assert (birthday.validity, birthday.eligible_tiers, birthday.trigger) == (
        "birthday_month", ["silver", "gold", "diamond"], "birthday")
    assert (nine.percent_off, nine.max_discount) == (10, 5_000)
    assert len(audits(db, "coupons.template_created")) == 4
    assert len(events(db, "coupons.template_created")) == 4


@pytest.mark.parametrize("fields", [
    {"kind": "amount_off", "amount_off": 3_000, "min_spend": 20_000},
    {"kind": "percent_off", "amount_off": None, "percent_off": 15, "max_discount": 2_000},
    {"kind": "first_order", "amount_off": 2_000, "min_spend": 10_000},
    {"kind": "free_shipping", "amount_off": None, "max_discount": 1_000},
    {"kind": "gift_item", "amount_off": None, "gift_sku": "mug-01", "min_spend": 5_000},
])
def test_each_kind_can_be_created(make_uow, fields) -> None:
    template_id = template(make_uow, "t", **fields)
    with make_uow(readonly=True) as uow:
        made = service.template_ref(uow, str(template_id))
    assert made.kind == fields["kind"] and made.issued == 0 and made.status == "active"


@pytest.mark.parametrize("fields", [
    {"validity": "fixed", "valid_days": None, "starts_on": date(2026, 7, 1),
     "ends_on": date(2026, 7, 31)},
    {"validity": "fixed", "valid_days": None, "ends_on": date(2026, 7, 31)},
    {"validity": "days", "valid_days": 1},
    {"validity": "birthday_month", "valid_days": None},
])
def test_each_validity_can_be_created(make_uow, fields) -> None:
    template(make_uow, "t", **fields)


@pytest.mark.parametrize(("fields", "field"), [
    ({"amount_off": None}, "amount_off"),
    ({"amount_off": 30_000}, "amount_off"),  # ¥300 off a ¥200 threshold
    ({"amount_off": -100}, "amount_off"),
    ({"amount_off": 0}, "amount_off"),
    ({"amount_off": 12.5}, "amount_off"),
    ({"amount_off": "3000"}, "amount_off"),
    ({"min_spend": -1}, "min_spend"),
    ({"kind": "percent_off", "percent_off": 10}, "amount_off"),  # amount_off not for a %
    ({"kind": "percent_off", "amount_off": None, "percent_off": 100}, "percent_off"),
    ({"kind": "percent_off", "amount_off": None}, "percent_off"),
    ({"kind": "gift_item", "amount_off": None}, "gift_sku"),
    ({"kind": "voucher"}, "kind"),
    ({"validity": "fixed"}, "ends_on"),
    ({"validity": "fixed", "valid_days": None, "ends_on": date(2026, 7, 1),
      "starts_on": date(2026, 7, 2)}, "ends_on"),
    ({"validity": "days", "valid_days": None}, "valid_days"),
    ({"validity": "days", "valid_days": 0}, "valid_days"),
    ({"validity": "birthday_month"}, "valid_days"),
    ({"quantity": 0}, "quantity"),
    ({"per_member_limit": -2}, "per_member_limit"),
    ({"eligible_tiers": ["gold", "gold"]}, "eligible_tiers"),
    ({"eligible_tiers": ["Gold!"]}, "eligible_tiers.0"),
    ({"trigger": "anniversary"}, "trigger"),
    ({"code": "has space"}, "code"),
    ({"name": ""}, "name"),
    ({"stackable": "yes"}, "stackable"),
    ({"colour": "red"}, "colour"),
])
def test_bad_templates_are_refused_naming_the_field(make_uow, db, fields, field) -> None:
    before = snapshot(db)
    with pytest.raises(ValidationFailed) as err:
        template(make_uow, **{"code": "t", **fields})
    assert field in [e["field"] for e in err.value.errors], err.value.errors
    assert err.value.code == "validation_error"
    assert snapshot(db) == before


def test_a_code_is_used_once(make_uow, db) -> None:
    template(make_uow, "dup")
    before = snapshot(db)
    with pytest.raises(Conflict) as err:
        template(make_uow, "dup")
    assert err.value.code == "coupon_template_exists" and snapshot(db) == before


def test_edits_change_only_what_is_sent_and_are_audited(make_uow, db) -> None:
    template_id = template(make_uow, "t", quantity=100)
    with make_uow() as uow:
        changed = service.update_template(uow, template_id, {"name": "Summer ¥30",
                                                             "quantity": None})
        assert (changed.name, changed.quantity, changed.amount_off) == ("Summer ¥30", None,
                                                                        3_000)
    entry = audits(db, "coupons.template_changed")[-1]
    assert entry.changes == {"name": {"before": "template t", "after": "Summer ¥30"},
                             "quantity": {"before": 100, "after": None}}
    assert events(db, "coupons.template_changed")[-1]["changes"] == entry.changes
    before = snapshot(db)
    with make_uow() as uow:  # the same values again: nothing to record
        service.update_template(uow, template_id, {"name": "Summer ¥30"})
    assert snapshot(db) == before


def test_changing_kind_or_validity_clears_the_fields_of_the_old_one(make_uow) -> None:
    template_id = template(make_uow, "t")
    with make_uow() as uow:
        changed = service.update_template(uow, template_id, {
            "kind": "percent_off", "percent_off": 12, "validity": "fixed",
            "ends_on": date(2026, 12, 31)})
        assert (changed.amount_off, changed.percent_off, changed.valid_days,
                changed.ends_on) == (None, 12, None, date(2026, 12, 31))


def test_terms_are_frozen_once_a_coupon_is_issued(make_uow, db) -> None:
    template_id = template(make_uow, "t", quantity=10)
    issue(make_uow, template_id, new_member(make_uow))
    before = snapshot(db)
    for change in ({"amount_off": 5_000}, {"min_spend": 0}, {"stackable": True},
                   {"eligible_tiers": ["gold"]}, {"kind": "free_shipping"}):
        with pytest.raises(Conflict) as err, make_uow() as uow:
            service.update_template(uow, template_id, change)
        assert err.value.code == "coupon_template_in_use"
    with pytest.raises(ValidationFailed) as err, make_uow() as uow:  # below those issued
        service.update_template(uow, template_id, {"quantity": 0})
    with pytest.raises(ValidationFailed), make_uow() as uow:
        service.update_template(uow, template_id, {"name": None})
    assert snapshot(db) == before
    with make_uow() as uow:  # the budget, the name and future validity may change
        service.update_template(uow, template_id, {"quantity": 1, "valid_days": 7,
                                                   "name": "renamed"})
    assert issued_count(db, template_id) == (1, 1)


def test_pause_and_resume(make_uow, db) -> None:
    template_id = template(make_uow, "t")
    with make_uow() as uow:
        assert service.set_status(uow, template_id, "paused", "budget review").status == \
            "paused"
    before = snapshot(db)
    with make_uow() as uow:  # pausing a paused template changes nothing
        service.set_status(uow, template_id, "paused")
    assert snapshot(db) == before
    with make_uow() as uow:
        assert service.set_status(uow, template_id, "active").status == "active"
    assert [a.reason for a in audits(db, "coupons.template_paused")] == ["budget review"]
    assert len(audits(db, "coupons.template_resumed")) == 1
    with pytest.raises(ValidationFailed), make_uow() as uow:
        service.set_status(uow, template_id, "archived")
    with pytest.raises(NotFound) as err, make_uow() as uow:
        service.set_status(uow, 999, "paused")
    assert err.value.code == "coupon_template_not_found"


def test_amounts_are_fen(make_uow) -> None:
    template_id = template(make_uow, "t", amount_off=12 * YUAN + 50, min_spend=0)
    with make_uow(readonly=True) as uow:
        assert service.template_ref(uow, "t").amount_off == 1_250
        assert service.template_ref(uow, str(template_id)).min_spend == 0
    with pytest.raises(NotFound), make_uow(readonly=True) as uow:
        service.template_ref(uow, "nope")


def test_a_template_is_found_by_code_before_id(make_uow) -> None:
    first = template(make_uow, "first")
    promo = template(make_uow, str(first + 617))  # a code made of digits, like "618"
    with make_uow(readonly=True) as uow:
        assert service.template_ref(uow, str(first + 617)).id == promo
        assert service.template_ref(uow, str(first)).id == first
