"""The `memberops` command."""

from __future__ import annotations

import typer

from memberops.cli import (
    access,
    analytics,
    audit,
    coupons,
    db,
    demo,
    ledger,
    member_status,
    members,
    orders,
    plus,
    points,
    programme,
    report,
    serve,
    tiers,
    wallet,
)

app = typer.Typer(
    name="memberops", no_args_is_help=True, add_completion=False,
    help="memberops: membership operations (会员运营). "
         "The database is named by MEMBEROPS_DATABASE_URL.",
)
app.add_typer(db.app, name="db")
app.add_typer(access.apikey_app, name="apikey")
app.add_typer(access.operator_app, name="operator")
app.add_typer(audit.app, name="audit")
app.add_typer(ledger.app, name="ledger")
app.add_typer(programme.app, name="programme")
member_status.register(members.app)
app.add_typer(members.app, name="members")
app.add_typer(points.app, name="points")
app.add_typer(coupons.app, name="coupons")
app.add_typer(plus.app, name="plus")
app.add_typer(wallet.app, name="wallet")
app.add_typer(tiers.app, name="tiers")
app.add_typer(orders.app, name="orders")
app.add_typer(analytics.app, name="analytics")
app.add_typer(report.app, name="report")
app.command("serve")(serve.serve)
app.command("demo")(demo.demo)

if __name__ == "__main__":
    app()
