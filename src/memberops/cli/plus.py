"""`memberops plus …`: paid membership (PLUS) for operators — buy or renew, show, cancel
under the 7-day rule, list by status, the expiry job, and refunds due to members."""

from __future__ import annotations

import uuid
from datetime import datetime, tzinfo

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, open_db, settings, uow
from memberops.clock import SystemClock
from memberops.jobs import plus as plus_jobs
from memberops.money import Money
from memberops.plus import queries, rules, service
from memberops.plus.models import PlusSubscription

app = typer.Typer(help="Paid membership (PLUS, 付费会员): buy, show, cancel, list, expire.",
                  no_args_is_help=True)

WHY = {"within_window_unused": "cancelled unused within the refund window",
       "used": "benefits already used since the purchase",
       "window_passed": "the refund window has passed"}


def _yuan(fen: int) -> str:
    return Money(fen).format()


def _when(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M") if at is not None else ""


def _day(at: datetime | None, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d") if at is not None else ""


def _state(sub: PlusSubscription, now: datetime, tz: tzinfo) -> str:
    until = _when(sub.ends_at, tz)
    if rules.in_force(sub.status, sub.started_at, sub.ends_at, now):
        return f"{sub.plan_code} {sub.status}, benefits until {until}"
    return f"{sub.plan_code} {sub.status}, ended {until}"


def _terms_text(terms: rules.CancelTerms, payment: str, tz: tzinfo) -> str:
    if terms.refunded:
        where = "to the wallet" if payment == "wallet" else "due to the member (paid outside)"
        return (f"full refund of {_yuan(terms.refund)} {where}; benefits end "
                f"{_when(terms.ends_at, tz)}")
    return f"no refund ({WHY[terms.why]}); benefits until {_when(terms.ends_at, tz)}"


@app.command("buy")
@handle_errors
def buy(member_id: int = typer.Argument(..., min=1, help="member id"),
        plan: str = typer.Option("PLUS", "--plan", help="plan code (programme `plans`)"),
        wallet: bool = typer.Option(False, "--wallet", help="pay from the member's wallet"),
        external: str | None = typer.Option(
            None, "--external", metavar="REF",
            help="paid outside the programme (card, WeChat Pay…) under this reference"),
        ref: str | None = typer.Option(
            None, "--ref", help="with --wallet: the purchase reference (rerunning with it "
                                "changes nothing); a new one by default"),
        ) -> None:
    """Buy or renew a plan (renewal extends from the current end date)."""
    if wallet == (external is not None):
        raise fail("say how it is paid: --wallet or --external REF (one of them)")
    if external is not None and ref is not None:
        raise fail("--ref goes with --wallet; with --external the reference is REF")
    payment_ref = external or ref or f"plus-{member_id}-{uuid.uuid4().hex[:12]}"
    with uow(open_db()) as work:
        done = service.buy(work, member_id=member_id, plan=plan,
                           payment="wallet" if wallet else "external", payment_ref=payment_ref)
        period, tz = done.period, work.clock.tz
        text = (f"member {member_id}: {'renewed' if period.kind == 'renewal' else 'bought'} "
                f"{period.plan_code} for {_yuan(period.price)} ({period.payment_method}, ref "
                f"{period.payment_ref}), {_when(period.starts_at, tz)} → "
                f"{_when(period.ends_at, tz)}; "
                f"{_state(done.subscription, work.clock.now(), tz)}")
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@app.command("show")
@handle_errors
def show(member_id: int = typer.Argument(..., min=1, help="member id")) -> None:
    """A member's paid membership, what cancelling now would do, and every period bought."""
    with uow(open_db(), readonly=True) as work:
        sub = queries.subscription(work.session, member_id)
        now, tz = work.clock.now(), work.clock.tz
        preview = queries.cancel_preview(work.session, sub, now, tz)
        periods = queries.periods(work.session, member_id)
    console.print(f"member {member_id}: {_state(sub, now, tz)}", highlight=False, markup=False)
    details = Table(show_header=False)
    for label, value in (
            ("member since", _when(sub.started_at, tz)),
            ("benefits", f"{sub.extra_discount_pct}% extra off, points "
                         f"×{sub.points_multiplier_pct / 100:g}"),
            ("latest payment", f"{_yuan(sub.price_paid)} {sub.payment_method} "
                               f"{sub.payment_ref}"),
            ("first used", f"{_when(sub.used_at, tz)} {sub.used_order_ref or ''}".strip()),
            ("cancelled", f"{_when(sub.cancelled_at, tz)} {sub.cancel_reason or ''}".strip()),
            ("if cancelled now", _terms_text(preview, sub.payment_method, tz) if preview
             else "")):
        details.add_row(label, escape(value))
    console.print(details)
    table = Table("kind", "paid", "ref", "term", "used", "refund", title="periods")
    for p in periods:
        refund = "" if p.refund_status == "none" else \
            f"{p.refund_status} {_yuan(p.refund_amount)} {p.refund_ref}"
        table.add_row(p.kind, f"{_yuan(p.price)} {p.payment_method}", escape(p.payment_ref),
                      f"{_day(p.starts_at, tz)} → {_day(p.ends_at, tz)}",
                      _day(p.used_at, tz), escape(refund))
    console.print(table)


@app.command("cancel")
@handle_errors
def cancel(member_id: int = typer.Argument(..., min=1, help="member id"),
           reason: str = typer.Option(..., "--reason", help="why (kept in the audit log)"),
           yes: bool = typer.Option(False, "--yes", "-y", help="do not ask")) -> None:
    """Cancel: within 7 days of the latest purchase and unused, a full refund and the
    membership ends; otherwise no refund and the benefits run to the end date."""
    db = open_db()
    if not yes:
        with uow(db, readonly=True) as work:
            sub = queries.subscription(work.session, member_id)
            preview = queries.cancel_preview(work.session, sub, work.clock.now(),
                                             work.clock.tz)
            what = _terms_text(preview, sub.payment_method, work.clock.tz) if preview else ""
        if preview is not None and not typer.confirm(
                f"Cancel member {member_id}'s {sub.plan_code}? {what}"):
            raise fail("nothing changed")
    with uow(db) as work:
        done = service.cancel(work, member_id=member_id, reason=reason)
        text = (f"cancelled member {member_id}'s {done.period.plan_code}: "
                + _terms_text(done.terms, done.period.payment_method, work.clock.tz)
                + (f" (refund {done.period.refund_ref}, {done.refund_status})"
                   if done.terms.refunded else ""))
    console.print(text, highlight=False, markup=False, soft_wrap=True)


@app.command("list")
@handle_errors
def list_(status: str | None = typer.Option(None, "--status",
                                            help="active, cancelled or expired"),
          plan: str | None = typer.Option(None, "--plan"),
          sort: str = typer.Option("-id", "--sort", help=", ".join(queries.SORTS)),
          limit: int = typer.Option(50, "--limit", min=1, max=queries.MAX_LIMIT),
          cursor: str | None = typer.Option(None, "--cursor", help="from a previous page")
          ) -> None:
    """Paid memberships by status and plan."""
    with uow(open_db(), readonly=True) as work:
        page = queries.search(work.session, status=status, plan=plan, limit=limit,
                              cursor=cursor, sort=sort)
        tz = work.clock.tz
    table = Table("member", "plan", "status", "since", "ends", "paid", "used", "cancelled")
    for s in page.items:
        table.add_row(str(s.member_id), s.plan_code, s.status, _when(s.started_at, tz),
                      _when(s.ends_at, tz), f"{_yuan(s.price_paid)} {s.payment_method}",
                      _when(s.used_at, tz), _when(s.cancelled_at, tz))
    console.print(table)
    console.print(f"{len(page.items)} shown" + (f"; next page: --cursor {page.next_cursor}"
                                                 if page.next_cursor else ""),
                  highlight=False, markup=False)


@app.command("expire")
@handle_errors
def expire() -> None:
    """Mark active memberships past their end date expired (safe to rerun)."""
    db = open_db()
    bar = Progress(TextColumn("{task.description:<10}"), BarColumn(), MofNCompleteColumn(),
                   TimeElapsedColumn(), console=console)
    task = bar.add_task("expiring", total=None)

    def advance(done: int, total: int) -> None:
        bar.update(task, completed=done, total=total)

    with bar:
        report = plus_jobs.expire_due(db, SystemClock(tz=settings().tz), progress=advance)
    console.print(f"expired {report.expired} paid memberships ({report.due} due)",
                  highlight=False)


@app.command("refunds")
@handle_errors
def refunds(status: str | None = typer.Option(None, "--status", help="due or refunded"),
            limit: int = typer.Option(100, "--limit", min=1, max=queries.MAX_LIMIT)) -> None:
    """Refunds of cancelled periods, newest first (`due`: owed to members who paid outside)."""
    with uow(open_db(), readonly=True) as work:
        page = queries.refunds(work.session, status=status, limit=limit)
        tz = work.clock.tz
    table = Table("refund_ref", "member", "amount", "status", "payment", "payment_ref",
                  "requested", "refunded", "settlement")
    for p in page.items:
        table.add_row(escape(p.refund_ref or ""), str(p.member_id), _yuan(p.refund_amount),
                      p.refund_status, p.payment_method, escape(p.payment_ref),
                      _when(p.refund_requested_at, tz), _when(p.refunded_at, tz),
                      escape(p.settlement_ref or ""))
    console.print(table)


@app.command("refund-paid")
@handle_errors
def refund_paid(refund_ref: str = typer.Argument(..., help="e.g. plus-refund-12"),
                settlement_ref: str = typer.Option(..., "--settlement-ref",
                                                   help="the transfer's reference")) -> None:
    """Record that a refund due on an external payment was paid out."""
    with uow(open_db()) as work:
        row = service.settle_refund(work, refund_ref=refund_ref, settlement_ref=settlement_ref)
        text = (f"refund {row.refund_ref} of {_yuan(row.refund_amount)} to member "
                f"{row.member_id} recorded as paid ({row.settlement_ref})")
    console.print(text, highlight=False, markup=False, soft_wrap=True)
