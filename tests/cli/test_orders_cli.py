"""`memberops orders …` as an operator runs it: show, list (table and JSON, with a cursor),
refund by amount and by items (what is reversed is shown before asking), quote from a
file; refusals as one line with their code, exit 1, and nothing changed. The CLI runs on
the real clock, so the test's clock is set to now before anything is written."""

from __future__ import annotations

import json
from datetime import datetime

import pytest
from typer.testing import CliRunner

from memberops.cli.main import app
from memberops.coupons import codes
from tests import wallet_helpers
from tests.api.test_orders_api import everything
from tests.conftest import SHANGHAI
from tests.orders_helpers import YUAN, coupon, coupon_status, member, order, place

runner = CliRunner()


def run(*args: str, input: str | None = None):
    return runner.invoke(app, ["orders", *args], input=input)


@pytest.fixture(autouse=True)
def _now(clock) -> None:
    clock.set(datetime.now(SHANGHAI))


def test_show_and_list(cli_env, make_uow) -> None:
    m, other = member(make_uow, 1, tier="gold"), member(make_uow, 2)
    place(make_uow, order(m, "O-1", store="SH-001"))
    place(make_uow, order(m, "O-2", store="BJ-002"))
    place(make_uow, order(other, "O-3", store="SH-001"))

    shown = run("show", "O-1")
    assert shown.exit_code == 0, shown.output
    assert (f"order O-1 (member {m}, store SH-001): paid, tier gold; items ¥300.00, "
            "discounts ¥15.00, payable ¥285.00") in shown.stdout
    assert "LATTE" in shown.stdout and "¥190.00" in shown.stdout  # the lattes' net
    assert "tier discount" in shown.stdout and "refunds" not in shown.stdout

    mine = run("list", "--member", str(m))
    assert mine.exit_code == 0, mine.output
    assert "O-2" in mine.stdout and "O-1" in mine.stdout and "O-3" not in mine.stdout
    assert mine.stdout.index("O-2") < mine.stdout.index("O-1")  # newest first
    assert "2 shown" in mine.stdout
    store = run("list", "--store", "SH-001")
    assert "O-3" in store.stdout and "O-1" in store.stdout and "O-2" not in store.stdout

    first = run("list", "--limit", "2", "--json")
    assert first.exit_code == 0, first.output
    page = json.loads(first.stdout)
    assert [o["order_ref"] for o in page["items"]] == ["O-3", "O-2"]
    assert page["items"][1]["discounts"] == {"tier": 1_500, "plus": 0, "coupons": 0,
                                             "total": 1_500}
    table = run("list", "--limit", "2")
    assert f"next page: --cursor {page['next_cursor']}" in table.stdout
    rest = json.loads(run("list", "--limit", "2", "--json", "--cursor",
                          page["next_cursor"]).stdout)
    assert [o["order_ref"] for o in rest["items"]] == ["O-1"] and rest["next_cursor"] is None

    for args, code in [(("show", "NOPE"), "order_not_found"),
                       (("list", "--member", "999"), "member_not_found")]:
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert f"[{code}]" in result.stderr and len(result.stderr.splitlines()) == 1


def test_refund_shows_what_is_reversed_and_asks_first(cli_env, make_uow, db) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=2_000)
    code = coupon(make_uow, m)
    wallet_before = wallet_helpers.wallet(db, m)
    o = place(make_uow, order(m, coupon_codes=[code], points_to_use=1_000,
                              wallet_amount=100 * YUAN))
    before = everything(db)

    declined = run("refund", "O-1", "--refund-ref", "R-1", "--amount", "10000", input="n\n")
    assert declined.exit_code == 1 and "nothing changed" in declined.stderr
    # ¥100 of the ¥270 paid: the points (¥10), wallet (¥100) and outside (¥160) parts each
    # give back their share by largest remainder (3.70 + 37.04 + 59.26), and so do the
    # points used and earned (rounded down).
    reversed_ = ("¥100.00: wallet ¥37.04 back (principal and bonus, its cashback taken "
                 "back), ¥59.26 to pay back outside the programme, 370 points returned, "
                 f"{o.points_earned * 10_000 // 27_000} earned points taken back")
    assert f"refund R-1 of order O-1: {reversed_}\n" in declined.stdout, declined.stdout
    assert everything(db) == before

    done = run("refund", "O-1", "--refund-ref", "R-1", "--amount", "10000", input="y\n")
    assert done.exit_code == 0, done.output
    assert f"refunded R-1 of order O-1: {reversed_}; order partially_refunded" in done.stdout
    after = everything(db)
    again = run("refund", "O-1", "--refund-ref", "R-1", "--amount", "10000")
    assert again.exit_code == 0, again.output  # a rerun: nothing to ask, nothing changes
    assert "Refund?" not in again.stdout and "refunded R-1 of order O-1: ¥100.00" in again.stdout
    assert everything(db) == after

    items = run("refund", "O-1", "--refund-ref", "R-2", "--item", "CAKE=1", "--yes")
    assert items.exit_code == 0, items.output
    assert "refunded R-2 of order O-1: ¥90.00" in items.stdout  # the cake, after ¥30 off
    left = o.paid_value - 10_000 - 9_000
    last = run("refund", "O-1", "--refund-ref", "R-3", "--amount", str(left), input="y\n")
    assert last.exit_code == 0, last.output
    assert "the whole order, so its coupons are released if still valid" in last.stdout
    assert f"coupons released: {code}; order refunded" in last.stdout
    assert coupon_status(db, code) == "issued"
    assert wallet_helpers.wallet(db, m) == wallet_before
    shown = run("show", "O-1")
    assert "R-1" in shown.stdout and "R-3" in shown.stdout and "CAKE×1" in shown.stdout
    assert f"¥30.00 ({codes.display(code)})" in shown.stdout
    wallet_helpers.assert_consistent(db)


def test_refund_refusals_exit_1_with_the_code_and_change_nothing(cli_env, make_uow,
                                                                 db) -> None:
    m, frozen = member(make_uow, 1, wallet=1_000 * YUAN), member(make_uow, 2)
    place(make_uow, order(m, wallet_amount=100 * YUAN))
    place(make_uow, order(frozen, "O-2"))
    wallet_helpers.set_status(make_uow, frozen, "frozen")
    run("refund", "O-1", "--refund-ref", "R-1", "--amount", "500", "--yes")
    before = everything(db)
    for args, message in [
        (("refund", "O-1", "--refund-ref", "R-2"), "--amount FEN or --item SKU=QTY"),
        (("refund", "O-1", "--refund-ref", "R-2", "--amount", "1", "--item", "CAKE=1"),
         "--amount FEN or --item SKU=QTY"),
        (("refund", "O-1", "--refund-ref", "R-2", "--item", "CAKE"), "give SKU=QUANTITY"),
        (("refund", "O-1", "--refund-ref", "R-2", "--item", "CAKE=one"), "give SKU=QUANTITY"),
        (("refund", "O-1", "--refund-ref", "R-2", "--amount", "0"), "[validation_error]"),
        (("refund", "O-1", "--refund-ref", "R-2", "--amount", "-5"), "[validation_error]"),
        (("refund", "O-1", "--refund-ref", "R-2", "--item", "CAKE=0"), "[validation_error]"),
        (("refund", "O-1", "--refund-ref", "R 2", "--amount", "5"), "[validation_error]"),
        (("refund", "O-1", "--refund-ref", "R-2", "--item", "TEA=1"), "[sku_not_in_order]"),
        (("refund", "O-1", "--refund-ref", "R-2", "--item", "TEA=1", "--yes"),
         "[sku_not_in_order]"),
        (("refund", "O-1", "--refund-ref", "R-2", "--item", "CAKE=2"),
         "[refund_exceeds_items]"),
        (("refund", "O-1", "--refund-ref", "R-2", "--amount", "29501"),
         "[refund_exceeds_order]"),
        (("refund", "O-1", "--refund-ref", "R-1", "--amount", "600", "--yes"),
         "[refund_ref_reused]"),
        (("refund", "NOPE", "--refund-ref", "R-2", "--amount", "5"), "[order_not_found]"),
        (("refund", "O-2", "--refund-ref", "R-2", "--amount", "5", "--yes"),
         "[member_frozen]"),
    ]:
        result = run(*args)
        assert result.exit_code == 1, (args, result.output)
        assert message in result.stderr and len(result.stderr.splitlines()) == 1, (
            args, result.stderr)
        assert "Refund?" not in result.stdout, args
    result = run("refund", "O-1", "--refund-ref", "R-2", "--amount", "1.5")
    assert result.exit_code == 2  # not an integer: refused by the command line itself
    assert everything(db) == before


def test_help_says_amounts_are_in_fen(cli_env) -> None:
    result = run("--help")
    assert result.exit_code == 0 and "fen" in result.stdout
    for command in ("show", "list", "refund", "quote"):
        assert run(command, "--help").exit_code == 0


def test_quote_from_a_file_prints_the_priced_order_and_stores_nothing(cli_env, make_uow, db,
                                                                      tmp_path) -> None:
    m = member(make_uow, wallet=1_000 * YUAN, points=2_000, tier="silver")
    before = everything(db)
    path = tmp_path / "order.json"
    path.write_text(json.dumps({
        "order_ref": "Q-1", "member_id": m, "store": "SH-001", "points_to_use": 1_000,
        "wallet_amount": 5_000,
        "items": [{"sku": "LATTE", "category": "coffee", "quantity": 2, "unit_price": 3_200},
                  {"sku": "BAGEL", "quantity": 1, "unit_price": 1_800}]}))
    result = run("quote", "--file", str(path))
    assert result.exit_code == 0, result.output
    # silver 2% of ¥82 = ¥1.64; 1,000 points = ¥10; ¥70.36 payable, ¥50 of it by wallet
    assert (f"order Q-1 (member {m}, store SH-001): quoted, tier silver; items ¥82.00, "
            "discounts ¥1.64, payable ¥70.36") in result.stdout
    for text in ("1000 (= ¥10.00)", "¥50.00", "¥20.36", "LATTE", "BAGEL", "nothing was stored"):
        assert text in result.stdout, text
    assert everything(db) == before

    def quote_of(data: object) -> object:
        path.write_text(data if isinstance(data, str) else json.dumps(data))
        return run("quote", "--file", str(path))

    good = {"order_ref": "Q-1", "member_id": m,
            "items": [{"sku": "LATTE", "quantity": 1, "unit_price": 10_000}]}
    for data, message in [
        ("{not json", "is not valid JSON"),
        ("[]", "must hold a JSON object"),
        ({**good, "items": [{"sku": "LATTE", "quantity": 0, "unit_price": 1}]},
         "items.0.quantity"),
        ({**good, "items": [{"sku": "LATTE", "quantity": 1, "unit_price": "100"}]},
         "items.0.unit_price"),
        ({**good, "items": []}, "[validation_error]"),
        ({**good, "member_id": 999}, "[member_not_found]"),
        ({**good, "points_to_use": 5_001}, "[points_over_share]"),
        ({**good, "wallet_amount": 9_801}, "[wallet_over_payable]"),  # ¥100 less 2%
        ({**good, "items": [{"sku": "TV", "quantity": 1, "unit_price": 200_000}],
          "wallet_amount": 150_000}, "[insufficient_balance]"),  # ¥1,250 held
        ({**good, "coupon_codes": ["NOSUCHCODE12"]}, "[coupon_not_found]"),
    ]:
        result = quote_of(data)
        assert result.exit_code == 1, (data, result.output)
        assert message in result.stderr and len(result.stderr.splitlines()) == 1, (
            data, result.stderr)
    assert run("quote", "--file", str(tmp_path / "missing.json")).exit_code == 2
    assert everything(db) == before
