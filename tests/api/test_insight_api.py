"""Member insight over the API: who may read it, what it answers (the analytics' own
figures over the live store) and every refusal as a problem with its code."""

from __future__ import annotations

from datetime import date, timedelta

import polars as pl
import pytest

from memberops.analytics import churn, purchases, rfm
from tests.insight_helpers import insert_history, synthetic

API = "/api/v1"
TODAY = date(2026, 6, 15)  # the clock fixture's day in Shanghai
ROUTES = ["/insight/rfm", "/insight/lifecycle", "/insight/churn", "/members/1/insight"]


def problem(resp, status: int, code: str) -> dict:
    assert resp.status_code == status, resp.text
    assert resp.headers["content-type"].startswith("application/problem+json")
    body = resp.json()
    assert body["code"] == code
    return body


@pytest.fixture
def history(db):
    members, orders = synthetic(150, end=TODAY, seed=11)
    # one more member, who joins tomorrow
    later = pl.DataFrame({"member_id": [151], "joined_on": [TODAY + timedelta(days=1)]},
                         schema=members.schema)
    insert_history(db, pl.concat([members, later]), orders)
    return members, orders


def test_segments_are_the_analytics_own(client, auth, history, database_url) -> None:
    resp = client.get(f"{API}/insight/rfm", headers=auth("analyst"))
    assert resp.status_code == 200, resp.text
    body = resp.json()
    expected = rfm.segment_counts(rfm.rfm(purchases.load(database_url, "Asia/Shanghai"),
                                          TODAY))
    assert body["as_of"] == TODAY.isoformat() and body["window_days"] == 365
    assert body["members"] == 150
    assert [s["segment"] for s in body["segments"]] == list(rfm.SEGMENTS)
    assert [s["members"] for s in body["segments"]] == expected["members"].to_list()
    assert [s["monetary"] for s in body["segments"]] == expected["monetary"].to_list()
    # and another date and window
    earlier = client.get(f"{API}/insight/rfm", headers=auth("analyst"),
                         params={"as_of": "2026-01-31", "window_days": 90}).json()
    assert earlier["as_of"] == "2026-01-31" and earlier["members"] < 150


def test_stages_and_pyramid(client, auth, history) -> None:
    body = client.get(f"{API}/insight/lifecycle", headers=auth("admin")).json()
    assert [s["stage"] for s in body["stages"]] == ["new", "active", "mature", "silent",
                                                    "churned"]
    assert sum(s["members"] for s in body["stages"]) == 150
    assert body["thresholds"] == {"new_days": 30, "silent_days": 90, "churned_days": 180,
                                  "mature_purchases": 12}
    layers = {layer["layer"]: layer for layer in body["pyramid"]}
    assert sum(layer["members"] for layer in body["pyramid"]) == 150
    assert sum(layer["spend_share"] for layer in body["pyramid"]) == pytest.approx(1)
    assert isinstance(layers["top_1"]["spend"], int)


def test_churn_evaluation(client, auth, history, database_url) -> None:
    body = client.get(f"{API}/insight/churn", headers=auth("analyst")).json()
    found, _ = churn.evaluate(purchases.load(database_url, "Asia/Shanghai"), TODAY)
    assert body["test_cutoff"] == (TODAY - timedelta(days=90)).isoformat()
    assert body["auc"] == pytest.approx(found.auc)
    assert body["chosen"] == found.chosen
    assert body["test_members"] == found.test_members


def test_one_member(client, auth, history) -> None:
    body = client.get(f"{API}/members/5/insight", headers=auth("analyst")).json()
    assert body["member_id"] == 5 and body["as_of"] == TODAY.isoformat()
    assert body["rfm"]["segment"] in rfm.SEGMENTS
    assert body["lifecycle"]["stage"] in ("new", "active", "mature", "silent", "churned")
    assert 0 <= body["churn"]["probability"] <= 1
    assert len(body["churn"]["factors"]) == 3
    assert body["churn"]["trained_cutoff"] == (TODAY - timedelta(days=90)).isoformat()
    if body["clv"] is not None:
        assert isinstance(body["clv"]["clv_12m"], int)


@pytest.mark.parametrize("route", ROUTES)
def test_tills_may_not_read_insight(client, auth, route) -> None:
    problem(client.get(API + route, headers=auth("till")), 403, "forbidden")


def test_refusals(client, auth, history) -> None:
    analyst = auth("analyst")
    problem(client.get(f"{API}/members/999/insight", headers=analyst), 404,
            "member_not_found")
    problem(client.get(f"{API}/members/151/insight", headers=analyst), 422,
            "joined_after_as_of")
    problem(client.get(f"{API}/members/0/insight", headers=analyst), 422, "validation_error")
    future = (TODAY + timedelta(days=1)).isoformat()
    for route in ROUTES:
        problem(client.get(API + route, headers=analyst, params={"as_of": future}), 422,
                "validation_error")
        problem(client.get(API + route, headers=analyst, params={"as_of": "30/06/2026"}),
                422, "validation_error")
    problem(client.get(f"{API}/insight/rfm", headers=analyst, params={"window_days": 0}),
            422, "validation_error")
    problem(client.get(f"{API}/insight/churn", headers=analyst,
                       params={"horizon_days": 0}), 422, "validation_error")
    problem(client.get(f"{API}/insight/churn", headers=analyst,
                       params={"cutoff": "2026-06-01"}), 422, "cutoff_too_late")


def test_an_empty_programme(client, auth) -> None:
    analyst = auth("analyst")
    body = client.get(f"{API}/insight/rfm", headers=analyst).json()
    assert body["members"] == 0 and sum(s["members"] for s in body["segments"]) == 0
    assert client.get(f"{API}/insight/lifecycle", headers=analyst).status_code == 200
    problem(client.get(f"{API}/insight/churn", headers=analyst), 422, "one_class_labels")
