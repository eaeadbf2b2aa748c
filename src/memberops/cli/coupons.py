"""`memberops coupons …`: templates, issuing to a member or a file of members, a member's
coupons, one coupon, and the expiry and birthday jobs."""

from __future__ import annotations

import uuid
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

import typer
from rich.markup import escape
from rich.table import Table

from memberops.cli.common import console, fail, handle_errors, open_db, settings, uow
from memberops.clock import SystemClock
from memberops.coupons import codes, queries
from memberops.coupons import service as coupons_service
from memberops.coupons.models import CouponTemplate
from memberops.jobs import coupons as coupons_jobs
from memberops.money import Money, yuan_to_fen

app = typer.Typer(help="Coupons (优惠券): templates, issuing, members' coupons, jobs.",
                  no_args_is_help=True)
MAX_SHOWN_ERRORS = 50


def _when(at: datetime, tz: tzinfo) -> str:
    return at.astimezone(tz).strftime("%Y-%m-%d %H:%M")


def _fen(text: str | None, option: str) -> int | None:
    if text is None:
        return None
    try:
        return yuan_to_fen(text)
    except ValueError as exc:
        raise fail(f"{option}: {exc} (yuan, e.g. 30 or 12.50)") from None


def _yuan(fen: int | None) -> str:
    return "" if fen is None else Money(fen).format()


def _template_table(title: str) -> Table:
    table = Table(title=title)
    for name in ("id", "code", "name", "rule", "validity", "issued", "trigger", "status"):
        # Only the rule wraps: codes and names stay whole to be copied and searched.
        table.add_column(name, no_wrap=name != "rule")
    return table


def _template_row(t: CouponTemplate) -> list[str]:
    budget = "∞" if t.quantity is None else f"{t.issued}/{t.quantity}"
    return [str(t.id), escape(t.code), escape(t.name), queries.terms_of(t).describe(),
            t.validity + (f" {t.valid_days}d" if t.valid_days else ""), budget,
            t.trigger or "", t.status]


@app.command("templates")
@handle_errors
def templates(status: str | None = typer.Option(None, help="active or paused"),
              limit: int = typer.Option(100, min=1, max=queries.MAX_LIMIT)) -> None:
    """The coupon templates, newest first."""
    db = open_db()
    with uow(db, readonly=True) as work:
        page = queries.templates(work.session, status=status, limit=limit)
    table = _template_table("coupon templates")
    for t in page.items:
        table.add_row(*_template_row(t))
    console.print(table)


@app.command("template-create")
@handle_errors
def template_create(
    code: str = typer.Option(..., help="short unique code, e.g. spend200-off30"),
    name: str = typer.Option(...),
    kind: str = typer.Option(..., help="amount_off, percent_off, first_order, free_shipping, "
                                       "gift_item"),
    validity: str = typer.Option(..., help="fixed, days or birthday_month"),
    amount_off: str | None = typer.Option(None, help="yuan off (amount_off, first_order)"),
    percent_off: int | None = typer.Option(None, help="10 = 10% off (9折)"),
    max_discount: str | None = typer.Option(None, help="cap in yuan (percent_off, "
                                                       "free_shipping)"),
    min_spend: str = typer.Option("0", help="threshold in yuan"),
    gift_sku: str | None = typer.Option(None),
    starts_on: datetime | None = typer.Option(None, formats=["%Y-%m-%d"]),
    ends_on: datetime | None = typer.Option(None, formats=["%Y-%m-%d"]),
    days: int | None = typer.Option(None, help="days validity: usable through the N-th day "
                                               "after the issue day"),
    quantity: int | None = typer.Option(None, help="total budget (default unlimited)"),
    per_member: int | None = typer.Option(None, help="at most this many per member"),
    stackable: bool = typer.Option(False, "--stackable"),
    tier: list[str] = typer.Option([], "--tier", help="eligible tier (repeat); none: all"),
    trigger: str | None = typer.Option(None, help="welcome or birthday"),
    description: str | None = typer.Option(None),
    paused: bool = typer.Option(False, "--paused", help="create it paused"),
) -> None:
    """Create a coupon template (amounts in yuan)."""
    data: dict[str, Any] = {
        "code": code, "name": name, "kind": kind, "validity": validity,
        "amount_off": _fen(amount_off, "--amount-off"), "percent_off": percent_off,
        "max_discount": _fen(max_discount, "--max-discount"),
        "min_spend": _fen(min_spend, "--min-spend"), "gift_sku": gift_sku,
        "starts_on": starts_on.date() if starts_on else None,
        "ends_on": ends_on.date() if ends_on else None, "valid_days": days,
        "quantity": quantity, "per_member_limit": per_member, "stackable": stackable,
        "eligible_tiers": tier, "trigger": trigger, "description": description,
        "status": "paused" if paused else "active"}
    db = open_db()
    with uow(db) as work:
        t = coupons_service.create_template(work, {k: v for k, v in data.items()
                                                   if v is not None})
    console.print(f"created template {t.id} {escape(t.code)}: "
                  f"{queries.terms_of(t).describe()}", highlight=False)


@app.command("template-pause")
@handle_errors
def template_pause(template: str = typer.Argument(..., help="id or code"),
                   reason: str | None = typer.Option(None)) -> None:
    """Stop issuing from a template (coupons already issued stay usable)."""
    db = open_db()
    with uow(db) as work:
        t = coupons_service.set_status(work, coupons_service.template_ref(work, template).id,
                                       "paused", reason)
    console.print(f"template {escape(t.code)} paused", highlight=False)


@app.command("template-resume")
@handle_errors
def template_resume(template: str = typer.Argument(..., help="id or code")) -> None:
    """Issue from a paused template again."""
    db = open_db()
    with uow(db) as work:
        t = coupons_service.set_status(work, coupons_service.template_ref(work, template).id,
                                       "active")
    console.print(f"template {escape(t.code)} active", highlight=False)


@app.command("seed")
@handle_errors
def seed() -> None:
    """Create the reference programme's templates (Welcome, 满200减30, 9折, Birthday) where
    their codes are missing; existing ones are left as they are."""
    db = open_db()
    with uow(db) as work:
        made = coupons_service.ensure_reference_templates(work)
        rows = [_template_row(t) for t in made]
    table = _template_table("reference templates")
    for row in rows:
        table.add_row(*row)
    console.print(table)


@app.command("issue")
@handle_errors
def issue(template: str = typer.Argument(..., help="template id or code"),
          member: int | None = typer.Option(None, "--member", min=1, help="one member id"),
          file: Path | None = typer.Option(None, "--file", exists=True, dir_okay=False,
                                           help="member ids or phones, one per line, or a "
                                                "CSV with a member_id or phone column")) -> None:
    """Issue a coupon to one member, or to every member listed in a file (each refused row
    is reported with its line and reason)."""
    if (member is None) == (file is None):
        raise fail("give exactly one of --member or --file")
    db = open_db()
    if member is not None:
        with uow(db) as work:
            made = coupons_service.issue(
                work, template_id=coupons_service.template_ref(work, template).id,
                member_id=member)
        console.print(f"issued coupon {codes.display(made.code)} to member {member}, valid "
                      f"until {_when(made.valid_until, settings().tz)}", highlight=False)
        return
    assert file is not None
    targets = coupons_service.read_member_list(file.read_bytes())
    with uow(db) as work:
        report = coupons_service.issue_many(
            work, template_id=coupons_service.template_ref(work, template).id,
            targets=targets, batch_ref=f"cli-{uuid.uuid4().hex[:12]}")
    console.print(f"issued {len(report.issued)} of {report.requested} (batch "
                  f"{report.batch_ref}); {len(report.errors)} refused", highlight=False)
    if report.errors:
        table = Table("line", "member", "reason", "detail", title="refused")
        for e in report.errors[:MAX_SHOWN_ERRORS]:
            table.add_row(str(e.line), escape(e.member), e.reason, escape(e.detail))
        console.print(table)
        if len(report.errors) > MAX_SHOWN_ERRORS:
            console.print(f"… and {len(report.errors) - MAX_SHOWN_ERRORS} more")


@app.command("list")
@handle_errors
def list_(member_id: int = typer.Argument(..., min=1),
          status: str | None = typer.Option(None, help="issued, usable, used or expired"),
          limit: int = typer.Option(100, min=1, max=queries.MAX_LIMIT)) -> None:
    """A member's coupons, newest first."""
    db = open_db()
    with uow(db, readonly=True) as work:
        now, tz = work.clock.now(), work.clock.tz
        page = queries.member_coupons(work.session, member_id, now=now, status=status,
                                      limit=limit)
    table = Table(title=f"member {member_id} coupons")
    for name in ("code", "template", "status", "valid", "order", "discount"):
        table.add_column(name, no_wrap=name in ("code", "template", "status"))
    for c, t in page.items:
        table.add_row(codes.display(c.code), escape(t.name), queries.effective_status(c, now),
                      f"{_when(c.valid_from, tz)} – {_when(c.valid_until, tz)}",
                      escape(c.order_ref or ""), _yuan(c.discount))
    console.print(table)


@app.command("show")
@handle_errors
def show(code: str = typer.Argument(...)) -> None:
    """One coupon by its code."""
    db = open_db()
    with uow(db, readonly=True) as work:
        c, t = queries.coupon(work.session, code)
        now, tz = work.clock.now(), work.clock.tz
    console.print(f"{codes.display(c.code)}  {escape(t.name)} ({queries.terms_of(t).describe()})"
                  f"\nmember {c.member_id}, {queries.effective_status(c, now)}, valid "
                  f"{_when(c.valid_from, tz)} – {_when(c.valid_until, tz)}"
                  + (f"\nused on {escape(c.order_ref)}: {_yuan(c.discount)} off"
                     if c.order_ref else ""), highlight=False)


@app.command("expire")
@handle_errors
def expire() -> None:
    """Mark expired the issued coupons whose window has closed (safe to rerun)."""
    report = coupons_jobs.expire_due(open_db(), SystemClock(tz=settings().tz))
    console.print(f"expired {report.expired} coupons", highlight=False)


@app.command("birthday")
@handle_errors
def birthday() -> None:
    """Issue this year's birthday coupon to members whose birthday month it is (safe to
    rerun; run it daily)."""
    clock = SystemClock(tz=settings().tz)
    report = coupons_jobs.issue_birthday(open_db(), clock)
    console.print(f"birthday coupons for {clock.today().strftime('%B %Y')}: {report.issued} "
                  f"issued, {report.already} already had this year's, {report.refused} "
                  f"refused ({report.templates} birthday templates)", highlight=False)
