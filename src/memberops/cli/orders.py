"""`memberops orders …`: orders for operators — show one, list a member's or a store's,
refund by amount or by items (what will be reversed is shown before asking), and price an
order from a JSON file without committing it. Amounts are integers of fen."""

from __future__ import annotations

import json
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, TypeVar

import typer
from pydantic import BaseModel, ValidationError
from rich.markup import escape
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, open_db, uow
from memberops.coupons import codes
from memberops.db import Database
from memberops.money import Money
from memberops.orders import queries, service
from memberops.orders.schemas import OrderCreate, OrderPage, OrderRead, RefundCreate, RefundRead

app = typer.Typer(help="Orders: show, list, refund, quote. Amounts in fen (100 fen = ¥1).",
                  no_args_is_help=True)
M = TypeVar("M", bound=BaseModel)


def _yuan(fen: int) -> str:
    return Money(fen).format()


def _when(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def _valid(model: type[M], data: Any) -> M:
    """`data` as `model`, or one line naming every field at fault."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where = "; ".join(f"{'.'.join(str(p) for p in e['loc']) or 'body'}: "
                          f"{str(e['msg']).removeprefix('Value error, ')}"
                          for e in exc.errors())
        raise fail(f"{where} [validation_error]") from None


def _headline(o: OrderRead) -> str:
    where = f", store {o.store}" if o.store else ""
    plus = " + PLUS" if o.plus else ""
    return (f"order {o.order_ref} (member {o.member_id}{where}): {o.status}, tier {o.tier}"
            f"{plus}; items {_yuan(o.total)}, discounts {_yuan(o.discounts.total)}, "
            f"payable {_yuan(o.payable)}")


def _print_order(o: OrderRead, tz: tzinfo) -> None:
    console.print(_headline(o), highlight=False, markup=False, soft_wrap=True)
    coupons = ", ".join(codes.display(str(c["code"])) for c in o.coupons)
    quoted = o.status == "quoted"
    details = Table(show_header=False)
    for label, value in (
            ("items", _yuan(o.total)),
            ("tier discount", _yuan(o.discounts.tier)),
            ("PLUS discount", _yuan(o.discounts.plus)),
            ("coupons", _yuan(o.discounts.coupons) + (f" ({coupons})" if coupons else "")),
            ("points used", f"{o.points_used} (= {_yuan(o.points_value)})"),
            ("wallet paid", _yuan(o.wallet_paid)),
            ("paid outside", _yuan(o.external_paid)),
            ("points earned", str(o.points_earned) + (" (before the earning caps)"
                                                      if quoted else "")),
            ("refunded", "" if quoted else _yuan(o.refunded)),
            ("placed", _when(o.created_at, tz))):
        if value:
            details.add_row(label, escape(value))
    console.print(details)
    lines = Table("#", "sku", "category", "qty", "unit price", "net", "refunded qty")
    for line in o.items:
        lines.add_row(str(line.line_no), escape(line.sku), escape(line.category),
                      str(line.quantity), _yuan(line.unit_price), _yuan(line.net),
                      str(line.refunded_quantity))
    console.print(lines)


@app.command("show")
@handle_errors
def show(order_ref: str = typer.Argument(..., help="the order's reference")) -> None:
    """An order's pricing step by step, its lines and its refunds."""
    with uow(open_db(), readonly=True) as work:
        order = queries.get(work.session, order_ref)
        shown = OrderRead.of(order)
        refunds = [RefundRead.of(r, order) for r in queries.refunds(work.session, order)]
        tz = work.clock.tz
    _print_order(shown, tz)
    if refunds:
        table = Table("refund_ref", "amount", "wallet", "outside", "points back, clawed",
                      "items", "at", title="refunds")
        for r in refunds:
            items = ", ".join(f"{i['sku']}×{i['quantity']}" for i in r.items) or "by amount"
            if r.coupons_released:
                items += "; coupons released: " + ", ".join(r.coupons_released)
            table.add_row(escape(r.refund_ref), _yuan(r.amount), _yuan(r.wallet_refunded),
                          _yuan(r.external_refunded),
                          f"{r.points_returned}, {r.points_clawed}", escape(items),
                          _when(r.created_at, tz))
        console.print(table)


@app.command("list")
@handle_errors
def list_(member: int | None = typer.Option(None, "--member", min=1, help="one member id"),
          store: str | None = typer.Option(None, "--store", help="one store"),
          limit: int = typer.Option(50, "--limit", min=1, max=queries.MAX_LIMIT),
          cursor: int | None = typer.Option(None, "--cursor", min=1,
                                            help="from a previous page"),
          as_json: bool = typer.Option(False, "--json",
                                       help="the page as the API gives it (JSON)")) -> None:
    """Orders newest first, of one member and/or one store (or all)."""
    with uow(open_db(), readonly=True) as work:
        rows = queries.orders(work.session, member_id=member, store=store, limit=limit,
                              before_id=cursor)
        page = OrderPage(items=[OrderRead.of(r) for r in rows],
                         next_cursor=str(rows[-1].id) if len(rows) == limit else None)
        tz = work.clock.tz
    if as_json:
        print(json.dumps(page.model_dump(mode="json"), ensure_ascii=False))
        return
    table = Table()
    table.add_column("order_ref", no_wrap=True)  # whole: it is what `show` takes
    for name in ("member", "store", "status", "payable", "refunded", "placed"):
        table.add_column(name)
    for o in page.items:
        table.add_row(escape(o.order_ref), str(o.member_id), escape(o.store or ""),
                      o.status.replace("_", " "), _yuan(o.payable), _yuan(o.refunded),
                      _when(o.created_at, tz))
    console.print(table)
    console.print(f"{len(page.items)} shown" + (f"; next page: --cursor {page.next_cursor}"
                                                 if page.next_cursor else ""),
                  highlight=False, markup=False)


def _items(specs: list[str]) -> list[dict[str, Any]]:
    items = []
    for spec in specs:
        sku, sep, quantity = spec.rpartition("=")
        if not sep or not sku or not quantity.strip().isdigit():
            raise fail(f"--item {spec!r}: give SKU=QUANTITY, e.g. LATTE=2")
        items.append({"sku": sku, "quantity": int(quantity)})
    return items


def _reversal_text(amount: int, wallet: int, external: int, points_back: int,
                   points_clawed: int) -> str:
    parts = [f"wallet {_yuan(wallet)} back (principal and bonus, its cashback taken back)",
             f"{_yuan(external)} to pay back outside the programme"]
    if points_back:
        parts.append(f"{points_back} points returned")
    if points_clawed:
        parts.append(f"{points_clawed} earned points taken back")
    return f"{_yuan(amount)}: " + ", ".join(parts)


def _preview(db: Database, order_ref: str, body: RefundCreate) -> str | None:
    """What the refund will reverse, from the order's figures as they stand; None when
    this refund_ref was already made (a rerun changes nothing, so there is nothing to
    ask). Raises what the refund itself would refuse."""
    with uow(db, readonly=True) as work:
        order = queries.get(work.session, order_ref)
        if any(r.refund_ref == body.refund_ref for r in queries.refunds(work.session, order)):
            return None
        fen, _, back, full = service.refund_plan(order, body)
        what = _reversal_text(fen, back.refund.wallet, back.refund.external,
                              back.refund.points, back.points_clawed)
        if full and order.coupons:
            what += "; the whole order, so its coupons are released if still valid"
        return what


@app.command("refund")
@handle_errors
def refund(order_ref: str = typer.Argument(..., help="the order's reference"),
           refund_ref: str = typer.Option(..., "--refund-ref",
                                          help="refund reference (unique; rerunning with it "
                                               "changes nothing)"),
           amount: int | None = typer.Option(None, "--amount",
                                             help="refund this many fen of the order"),
           item: list[str] | None = typer.Option(None, "--item", metavar="SKU=QTY",
                                                 help="refund these units (repeatable)"),
           yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Refund part or all of an order, by amount or by items: reversed pro rata over the
    points, the wallet and the outside payment; earned points taken back; the coupons
    released when the whole order is refunded."""
    if (amount is None) == (not item):
        raise fail("say what to refund: --amount FEN or --item SKU=QTY (one of them)")
    body = _valid(RefundCreate, {"refund_ref": refund_ref, "amount": amount,
                                 "items": _items(item) if item else None})
    db = open_db()
    if not yes:
        what = _preview(db, order_ref, body)
        if what is not None:
            console.print(f"refund {body.refund_ref} of order {order_ref}: {what}",
                          highlight=False, markup=False, soft_wrap=True)
            if not typer.confirm("Refund?"):
                raise fail("nothing changed")
    with uow(db) as work:
        row, order = service.refund(work, order_ref, body)
        text = (f"refunded {body.refund_ref} of order {order.order_ref}: "
                + _reversal_text(row.amount, row.wallet_refunded, row.external_refunded,
                                 row.points_returned, row.points_clawed)
                + (f"; coupons released: {', '.join(row.coupons_released)}"
                   if row.coupons_released else "")
                + f"; order {order.status}")
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@app.command("quote")
@handle_errors
def quote(file: Path = typer.Option(..., "--file", "-f", exists=True, dir_okay=False,
                                    help="the order as JSON, as POST /orders takes it")) -> None:
    """Price an order as it would be committed now; nothing is stored."""
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{file} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise fail(f"{file} must hold a JSON object (an order)")
    body = _valid(OrderCreate, data)
    with uow(open_db(), readonly=True) as work:
        priced = service.quote(work, body)
        tz = work.clock.tz
    p = priced.pricing
    shown = OrderRead.model_validate({
        "order_ref": body.order_ref, "member_id": body.member_id, "store": body.store,
        "channel": body.channel, "status": "quoted", "tier": priced.tier.code,
        "plus": priced.plus is not None, "total": p.subtotal,
        "discounts": {"tier": p.tier_discount, "plus": p.plus_discount,
                      "coupons": p.coupon_discount, "total": p.discounts},
        "coupons": [{"code": c.code, "discount": c.discount} for c in priced.coupons],
        "points_used": p.points_used, "points_value": p.points_value, "payable": p.payable,
        "wallet_paid": p.wallet_paid, "external_paid": p.external_paid,
        "points_earned": priced.points_estimate, "refunded": 0,
        "items": [{"line_no": i + 1, "sku": x.sku, "category": x.category,
                   "quantity": x.quantity, "unit_price": x.unit_price, "net": net,
                   "refunded_quantity": 0}
                  for i, (x, net) in enumerate(zip(priced.lines, p.line_nets, strict=True))]})
    _print_order(shown, tz)
    console.print("quoted only: nothing was stored", highlight=False)
