"""Segment definitions: every field and operator on a small hand-made world (the expected
members worked out by hand), AND / OR nesting, the empty result, the model-based fields
against the insight's own scores, and every refusal with the path of its fault."""

from __future__ import annotations

from datetime import date

import polars as pl
import pytest

from memberops.analytics import insight, purchases, segments
from memberops.errors import ValidationFailed
from tests.insight_helpers import AS_OF, ago, synthetic


def world() -> segments.Data:
    """As of 2026-06-30:
    1 joined 400 days ago, female, 35 (born 1990-07-01), Beijing, store, gold, active, vip;
      bought 3000 five days ago and 2000 fifty days ago; recharged 10000 three days ago.
    2 joined 10 days ago, male, 26 today (born 2000-06-30), Shanghai, app, regular, active;
      never bought or recharged.
    3 joined 300 days ago, gender unknown, no birthday or province, store, silver, frozen,
      vip and new; bought 500 200 days ago, and 800 100 days ago refunded in full.
    4 joins on 2026-07-05: in no segment as of 2026-06-30 (female, gold, vip)."""
    members = pl.DataFrame({"member_id": [1, 2, 3, 4],
                            "joined_on": [ago(400), ago(10), ago(300), date(2026, 7, 5)],
                            "tier": ["gold", "regular", "silver", "gold"]})
    orders = pl.DataFrame({"order_id": [1, 2, 3, 4], "member_id": [1, 1, 3, 3],
                           "day": [ago(5), ago(50), ago(200), ago(100)],
                           "paid": [3000, 2000, 500, 800]})
    refunds = pl.DataFrame({"order_id": [4], "day": [ago(90)], "amount": [800]})
    recharges = pl.DataFrame({"member_id": [1], "day": [ago(3)], "amount": [10000]})
    store = purchases.Store.of(members, orders, refunds=refunds, recharges=recharges)
    profile = pl.DataFrame({
        "member_id": [1, 2, 3, 4], "gender": ["female", "male", "unknown", "female"],
        "birthday": [date(1990, 7, 1), date(2000, 6, 30), None, date(1990, 1, 1)],
        "province": ["Beijing", "Shanghai", None, "Beijing"],
        "city": ["Beijing", "Shanghai", None, "Beijing"],
        "channel": ["store", "app", "store", "store"],
        "status": ["active", "active", "frozen", "active"]})
    tags = pl.DataFrame({"member_id": [1, 3, 3, 4], "tag": ["vip", "vip", "new", "vip"]})
    return segments.Data.of(store, profile, tags)


def selected(definition: dict, data: segments.Data | None = None) -> list[int]:
    parsed = segments.parse(definition)
    return segments.members(data or world(), parsed, AS_OF)["member_id"].to_list()


def cond(field: str, op: str, value: object, **extra: object) -> dict:
    return {"all": [{"field": field, "op": op, "value": value, **extra}]}


CASES = [
    ("gender", "eq", "female", {}, [1]),
    ("gender", "ne", "male", {}, [1, 3]),
    ("gender", "in", ["male", "female"], {}, [1, 2]),
    ("gender", "not_in", ["unknown"], {}, [1, 2]),
    ("age", "gte", 26, {}, [1, 2]),  # 2 turns 26 on the day itself
    ("age", "eq", 26, {}, [2]),
    ("age", "ne", 26, {}, [1]),  # no birthday: no age, matches nothing
    ("age", "lt", 30, {}, [2]),
    ("age", "between", [30, 40], {}, [1]),
    ("age", "gt", 35, {}, []),  # 1 is 36 only tomorrow
    ("province", "ne", "Beijing", {}, [2]),  # unknown province is not "not Beijing"
    ("city", "in", ["Beijing", "Hangzhou"], {}, [1]),
    ("channel", "eq", "store", {}, [1, 3]),
    ("joined_days", "gt", 100, {}, [1, 3]),
    ("joined_days", "lte", 10, {}, [2]),
    ("tier", "in", ["gold", "silver"], {}, [1, 3]),
    ("status", "eq", "frozen", {}, [3]),
    ("tag", "has", "vip", {}, [1, 3]),
    ("tag", "not_has", "vip", {}, [2]),
    ("tag", "has", "new", {}, [3]),
    ("spend_in_window", "gte", 3000, {"window_days": 30}, [1]),
    ("spend_in_window", "eq", 5000, {"window_days": 60}, [1]),
    ("spend_in_window", "between", [1, 1000], {"window_days": 365}, [3]),
    ("orders_in_window", "gte", 1, {"window_days": 365}, [1, 3]),  # the refunded one: no
    ("orders_in_window", "eq", 0, {"window_days": 365}, [2]),
    ("orders_in_window", "eq", 1, {"window_days": 6}, [1]),  # 5 days ago is inside 6 days
    ("orders_in_window", "eq", 0, {"window_days": 5}, [1, 2, 3]),  # … not inside 5
    ("recharged_ever", "eq", True, {}, [1]),
    ("recharged_ever", "eq", False, {}, [2, 3]),
    ("recharge_total", "gte", 10000, {}, [1]),
    ("rfm_segment", "eq", "no_purchases", {}, [2]),
    ("lifecycle_stage", "eq", "new", {}, [2]),
    ("lifecycle_stage", "in", ["churned", "active"], {}, [1, 3]),
    ("r_score", "gte", 4, {}, [1]),  # of two buyers, 1 bought most recently
    ("f_score", "gt", 3, {}, [1]),
    ("m_score", "lte", 2, {}, [3]),
]


@pytest.mark.parametrize(("field", "op", "value", "extra", "expected"), CASES,
                         ids=[f"{c[0]}-{c[1]}-{c[2]}" for c in CASES])
def test_each_field_and_operator(field, op, value, extra, expected) -> None:
    assert selected(cond(field, op, value, **extra)) == expected


def test_and_or_nesting() -> None:
    vip = {"field": "tag", "op": "has", "value": "vip"}
    # vip AND (female OR frozen)
    assert selected({"all": [vip, {"any": [
        {"field": "gender", "op": "eq", "value": "female"},
        {"field": "status", "op": "eq", "value": "frozen"}]}]}) == [1, 3]
    # (vip AND active) OR under 30
    assert selected({"any": [{"all": [vip, {"field": "status", "op": "eq", "value": "active"}]},
                             {"field": "age", "op": "lt", "value": 30}]}) == [1, 2]
    # vip AND male: nobody
    assert selected({"all": [vip, {"field": "gender", "op": "eq", "value": "male"}]}) == []


def test_empty_result_and_preview() -> None:
    data = world()
    assert selected(cond("tier", "eq", "platinum"), data) == []
    shown = segments.preview(data, segments.parse(cond("tag", "has", "vip")), AS_OF)
    assert shown["count"] == 2
    assert shown["sample"] == [{"member_id": 1, "tier": "gold"},
                               {"member_id": 3, "tier": "silver"}]
    one = segments.preview(data, segments.parse(cond("age", "gte", 0)), AS_OF, sample=1)
    assert one["count"] == 2 and len(one["sample"]) == 1


def test_model_fields_are_the_insight_scores() -> None:
    members, orders = synthetic(150, seed=3)
    store = purchases.Store.of(members, orders)
    done = insight.compute(store, AS_OF).members
    data = segments.Data.of(store)
    definition = {"any": [
        {"all": [{"field": "p_alive", "op": "gte", "value": 0.5},
                 {"field": "clv_12m", "op": "gt", "value": 20000}]},
        {"field": "churn_risk", "op": "between", "value": [0.8, 1]}]}
    expected = done.filter(((pl.col("probability_alive") >= 0.5) & (pl.col("clv_12m") > 20000))
                           | pl.col("churn_probability").is_between(0.8, 1))
    found = selected(definition, data)
    assert found == sorted(expected["member_id"].to_list())
    assert 0 < len(found) < 150


def test_the_stored_form_reads_back_the_same() -> None:
    raw = {"any": [{"field": "spend_in_window", "op": "between", "value": [1, 9],
                    "window_days": 30}, {"all": [{"field": "tag", "op": "has", "value": "x"}]}]}
    assert segments.dump(segments.parse(raw)) == raw


def faults(definition: object) -> list[dict]:
    with pytest.raises(ValidationFailed) as caught:
        segments.parse(definition)
    assert caught.value.code == "validation_error"
    return caught.value.errors


def nested(depth: int) -> dict:
    node: dict = {"field": "age", "op": "gt", "value": 1}
    for _ in range(depth):
        node = {"all": [node]}
    return node


@pytest.mark.parametrize(("definition", "path", "words"), [
    ({"all": [{"field": "shoe_size", "op": "eq", "value": 1}]}, "definition.all.0.field",
     "unknown field 'shoe_size'"),
    ({"all": [{"field": "age", "op": "has", "value": 1}]}, "definition.all.0.op",
     "'has' is not an operator of age"),
    ({"any": [{"field": "age", "op": "gt", "value": "thirty"}]}, "definition.any.0.value",
     "whole number"),
    ({"all": [{"field": "tier", "op": "eq", "value": 3}]}, "definition.all.0.value",
     "non-empty string"),
    ({"all": [{"field": "recharged_ever", "op": "eq", "value": "yes"}]},
     "definition.all.0.value", "true or false"),
    ({"all": [{"field": "rfm_segment", "op": "in", "value": ["champions", "vips"]}]},
     "definition.all.0.value.1", "'vips' is not one of"),
    ({"all": [{"field": "churn_risk", "op": "gt", "value": 2}]}, "definition.all.0.value",
     "between 0 and 1"),
    ({"all": [{"field": "age", "op": "between", "value": [40, 30]}]},
     "definition.all.0.value", "low 40 is above high 30"),
    ({"all": [{"field": "age", "op": "in", "value": []}]}, "definition.all.0.value",
     "list of 1 to"),
    ({"all": [{"field": "spend_in_window", "op": "gt", "value": 1}]},
     "definition.all.0.window_days", "required"),
    ({"all": [{"field": "age", "op": "gt", "value": 1, "window_days": 30}]},
     "definition.all.0.window_days", "only spend_in_window"),
    ({"all": [{"field": "age", "op": "gt"}]}, "definition.all.0.value", "required"),
    ({"all": [{"field": "age", "op": "gt", "value": 1, "colour": "red"}]},
     "definition.all.0", "unknown keys"),
    ({"all": []}, "definition.all", "non-empty list"),
    ({"all": [1]}, "definition.all.0", "must be an object"),
    ({"all": [], "any": []}, "definition", "exactly one key"),
    ({"field": "age", "op": "gt", "value": 1}, "definition", "must be a group"),
    ([], "definition", "must be a group"),
    (nested(6), "definition" + ".all.0" * 5, "nested more than 5 deep"),
    ({"all": [{"field": "age", "op": "gt", "value": 1}] * 101}, "definition",
     "101 conditions: at most 100"),
])
def test_invalid_definitions_name_the_path(definition, path, words) -> None:
    errors = faults(definition)
    assert any(e["field"] == path and words in e["reason"] for e in errors), errors


def test_every_fault_is_reported_at_once() -> None:
    errors = faults({"all": [{"field": "nope", "op": "eq", "value": 1},
                             {"any": [{"field": "age", "op": "lt", "value": -1}]}]})
    assert [e["field"] for e in errors] == ["definition.all.0.field",
                                            "definition.all.1.any.0.value"]
    assert nested(5) and segments.parse(nested(4))  # five levels of groups is the limit
