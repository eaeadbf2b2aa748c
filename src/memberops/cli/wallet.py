"""`memberops wallet …`: stored value for operators — balances, recharges, payments, refunds,
cash-outs, the payment callback, the review queue, and what-if replays of a proposed recharge
scheme. Amounts are integers of fen."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.markup import escape
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, open_db, uow
from memberops.money import Money
from memberops.wallet import queries, service, whatif
from memberops.wallet.models import Recharge

app = typer.Typer(help="Stored value (储值): amounts in fen (100 fen = ¥1).",
                  no_args_is_help=True)
review_app = typer.Typer(help="Recharges held for review: list, approve, reject.",
                         no_args_is_help=True)
app.add_typer(review_app, name="review")

FEN = "amount in fen (integer; 100 fen = ¥1)"


def _yuan(fen: int) -> str:
    return Money(fen).format()


def _recharge_line(row: Recharge) -> str:
    text = (f"recharge {row.id} ({row.payment_ref}): {row.status}, amount "
            f"{_yuan(row.amount)}, bonus {_yuan(row.bonus)}")
    if row.risk_rule:
        text += f" [{row.risk_rule}: {row.risk_reason}]"
    return text


@app.command("show")
@handle_errors
def show(member_id: int = typer.Argument(..., help="member id")) -> None:
    """Balances and open lots of a member's wallet."""
    with uow(open_db(), readonly=True) as work:
        balance = queries.wallet(work.session, member_id)
        lots = queries.lots(work.session, member_id)
    console.print(f"member {member_id}: principal {_yuan(balance['principal'])}, bonus "
                  f"{_yuan(balance['bonus'])}, total {_yuan(balance['total'])}",
                  highlight=False, markup=False)
    table = Table("lot", "kind", "source", "reference", "remaining (fen)", "original (fen)",
                  "created")
    for lot in lots:
        table.add_row(str(lot.id), lot.kind, lot.source, escape(lot.reference or ""),
                      str(lot.remaining), str(lot.original), f"{lot.created_at:%Y-%m-%d %H:%M}")
    console.print(table)


@app.command("recharge")
@handle_errors
def recharge(member_id: int = typer.Argument(..., help="member id"),
             amount: int = typer.Option(..., "--amount", help=FEN),
             ref: str = typer.Option(..., "--ref", help="payment reference (unique)"),
             pending: bool = typer.Option(False, "--pending",
                                          help="payment not confirmed yet: wait for "
                                               "`confirm-payment`")) -> None:
    """Recharge a wallet; the bonus comes from the recharge scheme, risk rules apply."""
    with uow(open_db()) as work:
        row = service.recharge(work, member_id=member_id, amount=amount, payment_ref=ref,
                               payment="pending" if pending else "confirmed")
        line = _recharge_line(row)
    console.print(line, highlight=False, markup=False)


@app.command("what-if")
@handle_errors
def what_if(file: Path = typer.Option(..., "--file", "-f", exists=True, dir_okay=False,
                                      help="JSON with a whole proposed recharge scheme")) -> None:
    """Replay the recharges settled in the last 12 months under a proposed scheme: the bonus
    cost before and after. Nothing is changed."""
    try:
        data = json.loads(file.read_text(encoding="utf-8-sig"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise fail(f"{file} is not valid JSON: {exc}") from None
    with uow(open_db(), readonly=True) as work:
        report = whatif.what_if(work.session, data, now=work.clock.now(), tz=work.clock.tz)
    r = report.result
    change = ("+" if r.bonus_change > 0 else "-" if r.bonus_change < 0 else "") + \
        _yuan(abs(r.bonus_change))
    console.print(f"what-if over {report.window_from.date()} … {report.window_to.date()}: "
                  f"{r.recharges} recharges by {r.members} members, {_yuan(r.amount)}; bonus "
                  f"{_yuan(r.bonus_baseline)} → {_yuan(r.bonus_proposed)} ({change}); "
                  f"{r.recharges_more} recharges more, {r.recharges_less} less, "
                  f"{r.members_affected} members affected", highlight=False, markup=False,
                  soft_wrap=True)


@app.command("confirm-payment")
@handle_errors
def confirm_payment(ref: str = typer.Argument(..., help="the recharge's payment reference"),
                    outcome: str = typer.Option(..., "--outcome", help="confirmed or failed"),
                    ) -> None:
    """Record a payment outcome by hand (as the gateway's callback would)."""
    with uow(open_db()) as work:
        line = _recharge_line(service.confirm_payment(work, payment_ref=ref, outcome=outcome))
    console.print(line, highlight=False, markup=False)


@app.command("pay")
@handle_errors
def pay(member_id: int = typer.Argument(..., help="member id"),
        amount: int = typer.Option(..., "--amount", help=FEN),
        ref: str = typer.Option(..., "--ref", help="payment reference (unique)"),
        reference: str | None = typer.Option(None, "--reference", help="e.g. an order ref"),
        ) -> None:
    """Pay from the wallet (principal and bonus in proportion; cashback as bonus)."""
    with uow(open_db()) as work:
        row = service.pay(work, member_id=member_id, amount=amount, payment_ref=ref,
                          reference=reference)
        text = (f"paid {_yuan(row.amount)} ({row.payment_ref}): principal "
                f"{_yuan(row.principal_part)}, bonus {_yuan(row.bonus_part)}, cashback "
                f"{_yuan(row.cashback)}")
    console.print(text, highlight=False, markup=False)


@app.command("refund")
@handle_errors
def refund(payment_ref: str = typer.Argument(..., help="the wallet payment's reference"),
           refund_ref: str = typer.Option(..., "--refund-ref", help="refund reference (unique)"),
           amount: int = typer.Option(..., "--amount", help=FEN)) -> None:
    """Refund part or all of a wallet payment back to principal and bonus."""
    with uow(open_db()) as work:
        row = service.refund_payment(work, payment_ref=payment_ref, refund_ref=refund_ref,
                                     amount=amount)
        text = (f"refunded {_yuan(row.amount)} ({row.refund_ref}): principal "
                f"{_yuan(row.principal_part)}, bonus {_yuan(row.bonus_part)}, cashback taken "
                f"back {_yuan(row.cashback_clawback)}")
    console.print(text, highlight=False, markup=False)


@app.command("cash-out")
@handle_errors
def cash_out(member_id: int = typer.Argument(..., help="member id"),
             ref: str = typer.Option(..., "--ref", help="cash-out reference (unique)"),
             reason: str = typer.Option(..., "--reason", help="why (audited)"),
             yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Refund the remaining principal and forfeit the bonus (the member stays open)."""
    if not yes and not typer.confirm(
            f"Cash out member {member_id}'s wallet? Principal is refunded, bonus forfeited"):
        raise fail("not cashed out")
    with uow(open_db()) as work:
        row = service.cash_out(work, member_id=member_id, cash_out_ref=ref, reason=reason)
        text = (f"cashed out member {member_id}: principal {_yuan(row.principal_refunded)} "
                f"refunded, bonus {_yuan(row.bonus_forfeited)} forfeited")
    console.print(text, highlight=False, markup=False)


@review_app.command("list")
@handle_errors
def review_list(limit: int = typer.Option(100, help="at most this many")) -> None:
    """Recharges held for review, oldest first."""
    with uow(open_db(), readonly=True) as work:
        rows = queries.review_queue(work.session, limit=limit)
    table = Table("id", "member", "payment_ref", "amount (fen)", "payment", "rule", "reason",
                  "submitted")
    for r in rows:
        table.add_row(str(r.id), str(r.member_id), escape(r.payment_ref), str(r.amount),
                      r.payment_status, r.risk_rule or "", escape(r.risk_reason or ""),
                      f"{r.created_at:%Y-%m-%d %H:%M}")
    console.print(table)
    console.print(f"{len(rows)} held", highlight=False, markup=False)


@review_app.command("approve")
@handle_errors
def review_approve(recharge_id: int = typer.Argument(..., help="recharge id"),
                   reason: str = typer.Option(..., "--reason", help="why (audited)")) -> None:
    """Approve a held recharge: credited now if paid, else when the payment confirms."""
    with uow(open_db()) as work:
        line = _recharge_line(service.approve(work, recharge_id, reason))
    console.print(line, highlight=False, markup=False)


@review_app.command("reject")
@handle_errors
def review_reject(recharge_id: int = typer.Argument(..., help="recharge id"),
                  reason: str = typer.Option(..., "--reason", help="why (audited)")) -> None:
    """Reject a held recharge: nothing is credited."""
    with uow(open_db()) as work:
        line = _recharge_line(service.reject(work, recharge_id, reason))
    console.print(line, highlight=False, markup=False)
