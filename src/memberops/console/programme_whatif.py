"""The what-if previews in the save dialog: a proposed tier ladder or recharge scheme
replayed over the last 12 months (nothing is written) — who would move between tiers and
what the discounts would cost; what the recharge bonus would cost."""

from __future__ import annotations

from typing import Any

from nicegui import run, ui

from memberops.access.rules import Permission
from memberops.console import fmt, problems, state
from memberops.console.i18n import counted, t
from memberops.console.session import SignedIn
from memberops.errors import DomainError
from memberops.tiers import service as tiers_service
from memberops.tiers.service import WhatIfReport
from memberops.wallet import whatif as recharge_whatif
from memberops.wallet.whatif import RechargeWhatIfReport

Data = dict[str, Any]


def signed(fen: int) -> str:
    """A change of cost: +¥40.00, −¥12.00, ¥0.00."""
    if fen < 0:
        return "−" + fmt.money(-fen)
    return ("+" if fen else "") + fmt.money(fen)


def _table(columns: list[tuple[str, str]], rows: list[dict[str, Any]], marker: str) -> None:
    ui.table(columns=[{"name": k, "label": label, "field": k, "align": "left"}
                      for k, label in columns], rows=rows, row_key="_n") \
        .props("dense flat bordered").classes("w-full").mark(marker)


def _run_tiers(who: SignedIn, proposed: Data) -> WhatIfReport:
    with state.uow(who.actor, readonly=True) as uow:
        return tiers_service.what_if(uow, proposed)


def _run_recharge(who: SignedIn, proposed: Data) -> RechargeWhatIfReport:
    with state.uow(who.actor, readonly=True) as uow:
        return recharge_whatif.what_if(uow.session, proposed, now=uow.clock.now(),
                                       tz=uow.clock.tz)


async def preview(who: SignedIn, kind: str, proposed: Data, box: ui.column) -> None:
    """Fill `box` with the what-if of `proposed` (tiers and recharge scheme only)."""
    if kind not in ("tiers", "recharge_scheme"):
        return
    with box:
        waiting = ui.spinner()
    try:
        if kind == "tiers":
            if not who.may(Permission.TIERS_SIMULATE):
                return
            tiers = await run.io_bound(_run_tiers, who, proposed)
            with box:
                if tiers is not None:
                    _show_tiers(tiers)
        else:
            recharges = await run.io_bound(_run_recharge, who, proposed)
            with box:
                if recharges is not None:
                    _show_recharges(recharges)
    except DomainError as exc:
        with box:
            ui.label(t("No preview: {e}", "无法预览：{e}", e=problems.detail(exc))) \
                .classes("text-negative")
    finally:
        waiting.delete()


def _names(report: WhatIfReport) -> dict[str, str]:
    names: dict[str, str] = {}
    for tier in (*report.current.tiers, *report.proposed.tiers):
        names.setdefault(tier.code, t(tier.name_en, tier.name_zh))
    return names


def _show_tiers(report: WhatIfReport) -> None:
    result, names = report.result, _names(report)
    with ui.card().classes("w-full bg-blue-50").mark("whatif"):
        ui.label(t("What if: the last 12 months under the proposed ladder",
                   "模拟：按拟议等级重算近 12 个月")).classes("font-bold")
        ui.label(t("{m} members: {up} would move up, {down} down ({f} – {to}).",
                   "{m} 名会员：{up} 人升级，{down} 人降级（{f} 至 {to}）。",
                   m=fmt.number(result.members), up=fmt.number(result.up),
                   down=fmt.number(result.down), f=fmt.day(report.window_from),
                   to=fmt.day(report.window_to))).mark("whatif-summary")
        order = [t_.code for t_ in report.proposed.tiers] + [
            c for c in result.tiers if report.proposed.rank(c) is None]
        _table([("tier", t("Tier", "等级")), ("now", t("Hold now", "当前人数")),
                ("baseline", t("Current ladder", "现行规则")),
                ("proposed", t("Proposed", "拟议规则")), ("up", t("Move up", "升级")),
                ("down", t("Move down", "降级"))],
               [{"_n": n, "tier": names.get(c.code, c.code), "now": c.current,
                 "baseline": c.baseline, "proposed": c.proposed, "up": c.up, "down": c.down}
                for n, c in enumerate(result.tiers[code] for code in order)],
               "whatif-tiers")
        for (a, b), n in sorted(result.moves.items()):
            ui.label(f"{names.get(a, a)} → {names.get(b, b)}: {fmt.number(n)}") \
                .mark("whatif-move")
        ui.label(t("Discount cost over the window: {a} → {b} ({c})",
                   "周期内折扣成本：{a} → {b}（{c}）", a=fmt.money(result.discount_baseline),
                   b=fmt.money(result.discount_proposed), c=signed(result.discount_change))) \
            .classes("font-bold").mark("whatif-cost")


def _show_recharges(report: RechargeWhatIfReport) -> None:
    result = report.result
    with ui.card().classes("w-full bg-blue-50").mark("whatif"):
        ui.label(t("What if: the recharges settled in the last 12 months under the proposed "
                   "scheme", "模拟：按拟议方案重算近 12 个月已到账充值")).classes("font-bold")
        ui.label(t("{rs} by {ms}, {a} in all ({f} – {to}).",
                   "{m} 名会员共 {r} 笔充值，合计 {a}（{f} 至 {to}）。",
                   r=fmt.number(result.recharges), m=fmt.number(result.members),
                   rs=counted(result.recharges, "recharge", "recharges"),
                   ms=counted(result.members, "member", "members"),
                   a=fmt.money(result.amount), f=fmt.day(report.window_from),
                   to=fmt.day(report.window_to))).mark("whatif-summary")
        _table([("what", ""), ("value", "")], [
            {"_n": 0, "what": t("Bonus credited", "实际赠送"),
             "value": fmt.money(result.bonus_recorded)},
            {"_n": 1, "what": t("Bonus under the current scheme", "现行方案赠送"),
             "value": fmt.money(result.bonus_baseline)},
            {"_n": 2, "what": t("Bonus under the proposed scheme", "拟议方案赠送"),
             "value": fmt.money(result.bonus_proposed)},
            {"_n": 3, "what": t("Recharges with more / less bonus", "赠送增加 / 减少的笔数"),
             "value": f"{fmt.number(result.recharges_more)} / "
                      f"{fmt.number(result.recharges_less)}"},
            {"_n": 4, "what": t("Members affected", "受影响会员"),
             "value": fmt.number(result.members_affected)},
        ], "whatif-recharges")
        ui.label(t("Bonus cost: {a} → {b} ({c})", "赠送成本：{a} → {b}（{c}）",
                   a=fmt.money(result.bonus_baseline), b=fmt.money(result.bonus_proposed),
                   c=signed(result.bonus_change))).classes("font-bold").mark("whatif-cost")
