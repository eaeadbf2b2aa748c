"""What each programme configuration's form shows and edits: its main fields and tables
with their units (amounts entered in yuan and stored in fen, multipliers as ×1.5 stored as
150), and the conversions both ways. Everything not named here is edited as JSON."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from memberops.console import fmt
from memberops.console.i18n import t

Data = dict[str, Any]


@dataclass(frozen=True)
class Field:
    """One value of a configuration: `key` is its dotted path inside the object holding it."""

    key: str
    en: str
    zh: str
    unit: str = "int"  # int | yuan | pct | x100 | bool | text
    optional: bool = False

    @property
    def label(self) -> str:
        return t(self.en, self.zh)


@dataclass(frozen=True)
class Rows:
    """A list of objects edited as a table (tiers, bonus rows, plans)."""

    key: str
    en: str
    zh: str
    columns: tuple[Field, ...]
    new_row: Data = field(default_factory=dict)


@dataclass(frozen=True)
class Shown:
    """A list shown as a read-only table and edited in the JSON (promotions, campaigns)."""

    key: str
    en: str
    zh: str
    columns: tuple[Field, ...]


@dataclass(frozen=True)
class Spec:
    kind: str
    en: str
    zh: str
    fields: tuple[Field, ...] = ()
    rows: Rows | None = None
    shown: tuple[Shown, ...] = ()
    # plans are a mapping by code: shown and edited as rows with a "code" column
    unpack: Callable[[Data], Data] = lambda data: data
    pack: Callable[[Data], Data] = lambda data: data

    def structured_keys(self) -> set[str]:
        keys = {f.key.split(".")[0] for f in self.fields}
        return keys | ({self.rows.key} if self.rows else set())


# --- values ---------------------------------------------------------------------------

def get(data: Data, key: str) -> Any:
    for part in key.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(part)  # type: ignore[assignment]
    return data


def put(data: Data, key: str, value: Any) -> None:
    *path, last = key.split(".")
    for part in path:
        data = data.setdefault(part, {})
    data[last] = value


def shown(value: Any, unit: str) -> str:
    """A stored value as an operator reads it: ¥1,000.00, 5%, ×1.5, yes."""
    if value is None or value == "":
        return "–"
    if unit == "yuan":
        return fmt.money(int(value))
    if unit == "pct":
        return f"{value}%"
    if unit == "x100":
        return f"×{Decimal(int(value)) / 100:g}"
    if unit == "bool":
        return t("Yes", "是") if value else t("No", "否")
    if unit == "int":
        return fmt.number(value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value) or "–"
    return str(value)


def to_input(value: Any, unit: str) -> Any:
    """A stored value as its input shows it (yuan for fen, 1.5 for 150)."""
    if value is None:
        return None
    if unit == "yuan":
        return float(Decimal(int(value)) / 100)
    if unit == "x100":
        return float(Decimal(int(value)) / 100)
    return value


def _scaled(value: Any, scale: int) -> int | None:
    try:
        exact = Decimal(str(value)) * scale
    except InvalidOperation:
        return None
    return int(exact) if exact == exact.to_integral_value() else None


def from_input(value: Any, spec: Field) -> tuple[Any, str | None]:
    """The stored value for what was entered, or a problem in words."""
    if spec.unit == "bool":
        return bool(value), None
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None if spec.optional else t("is required", "必填")
    if spec.unit == "text":
        return str(value).strip(), None
    scale = {"yuan": 100, "x100": 100}.get(spec.unit, 1)
    stored = _scaled(value, scale)
    if stored is None:
        return None, {100: t("at most two decimals", "最多两位小数")}.get(
            scale, t("must be a whole number", "须为整数"))
    return stored, None


# --- the configurations ---------------------------------------------------------------

def _unpack_plans(data: Data) -> Data:
    plans = data.get("plans") or {}
    return {**data, "plans": [{"code": code, **plan} for code, plan in plans.items()]}


def _pack_plans(data: Data) -> Data:
    rows = data.get("plans")
    if not isinstance(rows, list):
        return data
    packed: Data = {}
    for row in rows:
        row = dict(row)
        packed[str(row.pop("code", "") or "")] = row
    return {**data, "plans": packed}


TIERS = Spec(
    "tiers", "Tiers", "会员等级",
    fields=(Field("window_months", "Spend window (months)", "消费统计周期（月）"),
            Field("recharge_window_months", "Recharge window (months)", "充值统计周期（月）"),
            Field("hold_months", "Tier held for (months)", "等级有效期（月）"),
            Field("retention_pct", "Retention: share of threshold to keep", "保级比例", "pct")),
    rows=Rows("tiers", "Tier ladder (lowest first)", "等级阶梯（由低到高）", (
        Field("code", "Code", "代码", "text"),
        Field("name_zh", "Name (中文)", "名称（中文）", "text"),
        Field("name_en", "Name (English)", "名称（英文）", "text"),
        Field("qualify.net_spend", "Net spend at least", "累计消费满", "yuan", optional=True),
        Field("qualify.recharge", "or recharged at least", "或累计充值满", "yuan",
              optional=True),
        Field("qualify.orders", "or orders at least", "或订单数满", "int", optional=True),
        Field("benefits.discount_pct", "Discount", "折扣", "pct"),
        Field("benefits.points_multiplier_pct", "Points multiplier", "积分倍率", "x100"),
        Field("benefits.birthday_coupon", "Birthday coupon", "生日券", "bool"),
        Field("benefits.free_shipping", "Free shipping", "包邮", "bool"),
        Field("benefits.priority_service", "Priority service", "优先服务", "bool"),
    ), new_row={"code": "", "name_zh": "", "name_en": "", "qualify": {}, "benefits": {}}))

EARNING = Spec(
    "earning_rules", "Earning rules & promotions", "积分规则与促销",
    fields=(Field("points_per_yuan", "Points per yuan paid", "每消费 1 元积分"),
            Field("daily_cap", "Daily cap (points)", "每日上限（积分）", optional=True),
            Field("monthly_cap", "Monthly cap (points)", "每月上限（积分）", optional=True),
            Field("return_window_days", "Pending for (days, return window)",
                  "待生效天数（退货期）"),
            Field("points_per_yuan_off", "Points for ¥1 off", "抵扣 1 元所需积分"),
            Field("max_redeem_share_pct", "Points pay at most", "积分抵扣上限", "pct")),
    shown=(Shown("promotions", "Promotions", "促销活动", (
        Field("code", "Code", "代码", "text"),
        Field("multiplier_pct", "Multiplier", "倍率", "x100"),
        Field("weekdays", "Weekdays (1 = Mon)", "星期（1 = 周一）", "text"),
        Field("birthday_month", "Birthday month", "生日月", "bool"),
        Field("starts_on", "From", "开始", "text"),
        Field("ends_on", "To", "结束", "text"))),))

RECHARGE = Spec(
    "recharge_scheme", "Recharge scheme", "充值方案",
    fields=(Field("first_recharge_pct", "First recharge extra", "首充加赠", "pct"),
            Field("loyal_threshold", "Loyal after recharging", "忠诚充值门槛", "yuan"),
            Field("loyal_pct", "Loyal extra", "忠诚加赠", "pct"),
            Field("referral_points_pct", "Referrer's points (of yuan)", "推荐人积分比例", "pct"),
            Field("min_amount", "Smallest recharge", "最低充值", "yuan"),
            Field("max_amount", "Largest recharge", "最高充值", "yuan")),
    rows=Rows("bonus_rows", "Bonus rows", "充值赠送档位", (
        Field("min_amount", "Recharge at least", "充值满", "yuan"),
        Field("bonus", "Bonus", "赠送", "yuan")), new_row={}),
    shown=(Shown("campaigns", "Recharge campaigns", "充值活动", (
        Field("code", "Code", "代码", "text"),
        Field("starts_on", "From", "开始", "text"),
        Field("ends_on", "To", "结束", "text"),
        Field("segment_tag", "Tag", "标签", "text"),
        Field("points_per_yuan", "Points per yuan", "每元积分"),
        Field("points_multiplier_pct", "Points multiplier", "积分倍率", "x100"))),))

WALLET = Spec(
    "wallet", "Wallet", "储值钱包",
    fields=(Field("cashback_pct", "Cashback on wallet payments", "储值消费返现", "pct"),
            Field("balance_cap", "Balance cap per member", "单人余额上限", "yuan",
                  optional=True)))

RISK = Spec(
    "risk_rules", "Risk rules", "风控规则",
    fields=(Field("review_threshold", "Held for review at or above", "单笔充值人工审核起点",
                  "yuan"),
            Field("velocity_count", "Most recharges in the window", "时间窗内最多充值次数"),
            Field("velocity_minutes", "Window (minutes)", "时间窗（分钟）"),
            Field("daily_limit", "Most recharged per day", "每日充值上限", "yuan")))

PLANS = Spec(
    "plans", "PLUS plan", "PLUS 付费会员",
    rows=Rows("plans", "Paid membership plans", "付费会员方案", (
        Field("code", "Code", "代码", "text"),
        Field("name", "Name", "名称", "text"),
        Field("price", "Price", "价格", "yuan"),
        Field("duration_months", "Months", "时长（月）"),
        Field("extra_discount_pct", "Extra discount", "额外折扣", "pct"),
        Field("points_multiplier_pct", "Points multiplier", "积分倍率", "x100"),
        Field("cancel_within_days", "Full refund within (days)", "无理由退款（天）"),
        Field("on_sale", "On sale", "在售", "bool"),
    ), new_row={"code": "", "name": "", "price": 9_900}),
    unpack=_unpack_plans, pack=_pack_plans)

SPECS = {spec.kind: spec for spec in (TIERS, EARNING, RECHARGE, WALLET, RISK, PLANS)}


def where(spec: Spec, loc: tuple[Any, ...]) -> str:
    """Where a validation problem is, in the form's own words: ("tiers", 1, "qualify",
    "net_spend") → "Tier ladder (lowest first) #2 · Net spend at least"."""
    path = [str(p) for p in loc]
    if not path:
        return t("Configuration", "配置")
    named = {f.key: f.label for f in spec.fields}
    if spec.rows is not None and path[0] == spec.rows.key:
        place = t(spec.rows.en, spec.rows.zh)
        if len(path) > 1:
            place += f" #{int(path[1]) + 1}" if path[1].isdigit() else f" {path[1]}"
        columns = {c.key: c.label for c in spec.rows.columns}
        rest = ".".join(path[2:])
        return f"{place} · {columns.get(rest, rest)}" if rest else place
    key = ".".join(path)
    return named.get(key, key)


def rest_of(spec: Spec, data: Data) -> Data:
    """The part of a configuration the structured inputs do not cover (edited as JSON)."""
    return {k: copy.deepcopy(v) for k, v in data.items() if k not in spec.structured_keys()}


def flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """{"a": {"b": [1]}} → {"a.b.0": 1}: the fields a diff compares."""
    if isinstance(data, dict) and data:
        out: dict[str, Any] = {}
        for key, value in data.items():
            out.update(flatten(value, f"{prefix}{key}."))
        return out
    if isinstance(data, list) and data:
        out = {}
        for n, value in enumerate(data):
            out.update(flatten(value, f"{prefix}{n}."))
        return out
    return {prefix.rstrip("."): data}


def diff(before: Data, after: Data) -> list[tuple[str, Any, Any]]:
    """(field, before, after) for every field that differs, in field order."""
    old, new = flatten(before), flatten(after)
    return [(key, old.get(key), new.get(key)) for key in sorted(set(old) | set(new))
            if old.get(key) != new.get(key)]
