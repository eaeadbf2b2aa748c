"""Segments (人群): rule-based member definitions and their evaluation as of a date
(docs/segments.md).

A definition is JSON: a group `{"all": [...]}` (AND) or `{"any": [...]}` (OR) whose items
are conditions `{"field": F, "op": OP, "value": V}` (plus `window_days` for the window
fields) or nested groups. `parse` validates it completely and reports every fault with its
path (`definition.all.1.op`); `members` evaluates it over every member who had joined by
the date as one Polars filter over a per-member frame of features (no per-member Python).

A member whose value is missing (no birthday, no CLV for someone who never bought) matches
no condition on that field, `ne` and `not_in` included: "not in Beijing" does not select
members of unknown province.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import polars as pl

from memberops.analytics import frames, insight, lifecycle, rfm
from memberops.analytics import purchases as buys
from memberops.errors import ValidationFailed

MAX_DEPTH = 5  # groups nested in groups: deeper is a sign of a generated mistake
MAX_CONDITIONS = 100
MAX_LIST = 1000  # values of one `in` / `not_in`
MAX_WINDOW_DAYS = 3650

TEXT_OPS = ("eq", "ne", "in", "not_in")
NUMBER_OPS = ("eq", "ne", "gt", "gte", "lt", "lte", "between")
INT_OPS = (*NUMBER_OPS, "in", "not_in")


@dataclass(frozen=True)
class FieldSpec:
    kind: str  # text | int | number | bool | tag
    ops: tuple[str, ...]
    choices: tuple[str, ...] | None = None  # the values a text field may take
    low: float | None = None
    high: float | None = None
    window: bool = False  # needs window_days
    source: str = "profile"  # profile | rfm | clv | churn | window | recharge | tag
    meaning: str = ""


FIELDS: dict[str, FieldSpec] = {
    "gender": FieldSpec("text", TEXT_OPS, ("female", "male", "unknown"), meaning="gender"),
    "age": FieldSpec("int", INT_OPS, low=0, high=150,
                     meaning="whole years from the birthday to the date"),
    "province": FieldSpec("text", TEXT_OPS, meaning="province"),
    "city": FieldSpec("text", TEXT_OPS, meaning="city"),
    "channel": FieldSpec("text", TEXT_OPS, meaning="channel the member joined through"),
    "joined_days": FieldSpec("int", INT_OPS, low=0, meaning="days from joining to the date"),
    "tier": FieldSpec("text", TEXT_OPS, meaning="tier code (current)"),
    "status": FieldSpec("text", TEXT_OPS, meaning="member status (current)"),
    "tag": FieldSpec("tag", ("has", "not_has"), source="tag", meaning="a tag (current)"),
    "rfm_segment": FieldSpec("text", TEXT_OPS, tuple(rfm.SEGMENTS), source="rfm",
                             meaning="RFM segment over the last 365 days"),
    "r_score": FieldSpec("int", INT_OPS, low=1, high=5, source="rfm", meaning="recency 1–5"),
    "f_score": FieldSpec("int", INT_OPS, low=1, high=5, source="rfm", meaning="frequency 1–5"),
    "m_score": FieldSpec("int", INT_OPS, low=1, high=5, source="rfm", meaning="monetary 1–5"),
    "lifecycle_stage": FieldSpec("text", TEXT_OPS, lifecycle.STAGES, source="rfm",
                                 meaning="lifecycle stage"),
    "clv_12m": FieldSpec("number", NUMBER_OPS, source="clv",
                         meaning="12-month lifetime value, fen"),
    "p_alive": FieldSpec("number", NUMBER_OPS, low=0, high=1, source="clv",
                         meaning="BG/NBD probability the member is still active"),
    "churn_risk": FieldSpec("number", NUMBER_OPS, low=0, high=1, source="churn",
                            meaning="churn probability in the next 90 days"),
    "spend_in_window": FieldSpec("int", INT_OPS, low=0, window=True, source="window",
                                 meaning="net spend (fen) in the last window_days days"),
    "orders_in_window": FieldSpec("int", INT_OPS, low=0, window=True, source="window",
                                  meaning="purchases in the last window_days days"),
    "recharged_ever": FieldSpec("bool", ("eq",), source="recharge",
                                meaning="has a settled recharge by the date"),
    "recharge_total": FieldSpec("int", INT_OPS, low=0, source="recharge",
                                meaning="settled recharges (fen) by the date"),
}

# Feature column of each field where it differs from the field's name.
COLUMNS = {"rfm_segment": "segment", "lifecycle_stage": "stage",
           "p_alive": "probability_alive", "churn_risk": "churn_probability"}


@dataclass(frozen=True)
class Condition:
    field: str
    op: str
    value: Any
    window_days: int | None = None


@dataclass(frozen=True)
class Group:
    mode: str  # all | any
    items: tuple[Condition | Group, ...]


def conditions(node: Condition | Group) -> Iterator[Condition]:
    if isinstance(node, Condition):
        yield node
    else:
        for item in node.items:
            yield from conditions(item)


# ---------------------------------------------------------------------------- validation


@dataclass
class _Parser:
    errors: list[dict[str, str]] = field(default_factory=list)
    count: int = 0

    def fault(self, path: str, reason: str) -> None:
        self.errors.append({"field": path, "reason": reason})

    def node(self, raw: Any, path: str, depth: int) -> Condition | Group | None:
        if not isinstance(raw, dict):
            self.fault(path, "must be an object: a group {\"all\"|\"any\": [...]} or a "
                             "condition {\"field\", \"op\", \"value\"}")
            return None
        if "all" in raw or "any" in raw:
            return self.group(raw, path, depth)
        return self.condition(raw, path)

    def group(self, raw: dict[str, Any], path: str, depth: int) -> Group | None:
        if depth > MAX_DEPTH:
            self.fault(path, f"groups nested more than {MAX_DEPTH} deep")
            return None
        keys = set(raw)
        if len(keys) != 1:
            self.fault(path, "a group has exactly one key, \"all\" or \"any\"")
            return None
        mode = next(iter(keys))
        items = raw[mode]
        if not isinstance(items, list) or not items:
            self.fault(f"{path}.{mode}", "must be a non-empty list")
            return None
        parsed = [self.node(item, f"{path}.{mode}.{n}", depth + 1)
                  for n, item in enumerate(items)]
        done = tuple(p for p in parsed if p is not None)
        return Group(mode, done) if len(done) == len(parsed) else None

    def condition(self, raw: dict[str, Any], path: str) -> Condition | None:
        self.count += 1
        unknown = sorted(set(raw) - {"field", "op", "value", "window_days"})
        if unknown:
            self.fault(path, f"unknown keys {unknown}")
            return None
        name, op = raw.get("field"), raw.get("op")
        spec = FIELDS.get(name) if isinstance(name, str) else None
        if spec is None or not isinstance(name, str):
            self.fault(f"{path}.field", f"unknown field {name!r}; use one of "
                                        f"{', '.join(FIELDS)}")
            return None
        if op not in spec.ops:
            self.fault(f"{path}.op", f"{op!r} is not an operator of {name}; use one of "
                                     f"{', '.join(spec.ops)}")
            return None
        if "value" not in raw:
            self.fault(f"{path}.value", "required")
            return None
        window = self.window(raw, spec, path)
        value = self.value(raw["value"], spec, op, f"{path}.value")
        if value is None or (spec.window and window is None):
            return None
        return Condition(name, op, value, window)

    def window(self, raw: dict[str, Any], spec: FieldSpec, path: str) -> int | None:
        days: Any = raw.get("window_days")
        if not spec.window:
            if days is not None:
                self.fault(f"{path}.window_days", "only spend_in_window and "
                                                  "orders_in_window take a window")
            return None
        if not _is_int(days) or not 1 <= days <= MAX_WINDOW_DAYS:
            self.fault(f"{path}.window_days", f"required: whole days, 1 to {MAX_WINDOW_DAYS}")
            return None
        return int(days)

    def value(self, value: Any, spec: FieldSpec, op: str, path: str) -> Any:
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value or len(value) > MAX_LIST:
                self.fault(path, f"must be a list of 1 to {MAX_LIST} values")
                return None
            items = [self.scalar(v, spec, f"{path}.{n}") for n, v in enumerate(value)]
            return None if any(v is None for v in items) else tuple(items)
        if op == "between":
            if not isinstance(value, list) or len(value) != 2:
                self.fault(path, "must be a list [low, high]")
                return None
            low, high = (self.scalar(v, spec, f"{path}.{n}") for n, v in enumerate(value))
            if low is None or high is None:
                return None
            if low > high:
                self.fault(path, f"low {low} is above high {high}")
                return None
            return (low, high)
        return self.scalar(value, spec, path)

    def scalar(self, value: Any, spec: FieldSpec, path: str) -> Any:
        if spec.kind in ("text", "tag"):
            if not isinstance(value, str) or not value.strip():
                self.fault(path, "must be a non-empty string")
                return None
            if spec.choices is not None and value not in spec.choices:
                self.fault(path, f"{value!r} is not one of {', '.join(spec.choices)}")
                return None
            return value
        if spec.kind == "bool":
            if not isinstance(value, bool):
                self.fault(path, "must be true or false")
                return None
            return value
        ok = _is_int(value) if spec.kind == "int" else \
            isinstance(value, int | float) and not isinstance(value, bool)
        if not ok:
            self.fault(path, "must be a whole number" if spec.kind == "int" else
                       "must be a number")
            return None
        if (spec.low is not None and value < spec.low) or \
                (spec.high is not None and value > spec.high):
            self.fault(path, f"must be between {spec.low} and {spec.high}"
                       if spec.high is not None else f"must be at least {spec.low}")
            return None
        return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def parse(raw: Any, path: str = "definition") -> Group:
    """The validated definition; ValidationFailed (422) listing every fault with its path."""
    parser = _Parser()
    if not isinstance(raw, dict) or not ({"all", "any"} & set(raw)):
        parser.fault(path, "must be a group: {\"all\": [...]} or {\"any\": [...]}")
        found = None
    else:
        found = parser.group(raw, path, 1)
    if parser.count > MAX_CONDITIONS:
        parser.fault(path, f"{parser.count} conditions: at most {MAX_CONDITIONS}")
    if parser.errors or found is None:
        raise ValidationFailed("invalid segment definition: " + "; ".join(
            f"{e['field']}: {e['reason']}" for e in parser.errors), errors=parser.errors)
    return found


def dump(node: Condition | Group) -> dict[str, Any]:
    """The definition as JSON (what is stored and what `parse` reads back)."""
    if isinstance(node, Group):
        return {node.mode: [dump(item) for item in node.items]}
    value = list(node.value) if isinstance(node.value, tuple) else node.value
    out: dict[str, Any] = {"field": node.field, "op": node.op, "value": value}
    if node.window_days is not None:
        out["window_days"] = node.window_days
    return out


# ---------------------------------------------------------------------------- data


PROFILE_SCHEMA = pl.Schema({"member_id": pl.Int64(), "gender": pl.String(),
                            "birthday": pl.Date(), "province": pl.String(),
                            "city": pl.String(), "channel": pl.String(),
                            "status": pl.String()})
TAGS_SCHEMA = pl.Schema({"member_id": pl.Int64(), "tag": pl.String()})
PROFILE_COLUMNS = ["gender", "birthday", "province", "city", "channel", "status"]


@dataclass(frozen=True, eq=False)
class Data:
    """What a definition is evaluated on: the insight store (members with joining date and
    tier, purchases, settled recharges), the profiles and the tags."""

    store: buys.Store
    profile: pl.DataFrame
    tags: pl.DataFrame

    @classmethod
    def of(cls, store: buys.Store, profile: pl.DataFrame | None = None,
           tags: pl.DataFrame | None = None) -> Data:
        profile = profile if profile is not None else store.members.select("member_id")
        tags = tags if tags is not None else pl.DataFrame(schema=TAGS_SCHEMA)
        return cls(store, buys.conform(profile, PROFILE_SCHEMA),
                   buys.conform(tags, TAGS_SCHEMA))


def load(database_url: str, time_zone: str) -> Data:
    """Read the live store once (one connection) for evaluating definitions."""
    tables = {**buys.TABLES, "members": [*buys.TABLES["members"], *PROFILE_COLUMNS],
              "member_tags": ["member_id", "tag"]}
    raw = frames.load(database_url, tables)
    store = buys.prepare(raw, time_zone)
    profile = raw["members"].select(pl.col("id").alias("member_id"), *PROFILE_COLUMNS)
    return Data.of(store, profile, raw["member_tags"])


# ---------------------------------------------------------------------------- evaluation


def _age(as_of: date) -> pl.Expr:
    b = pl.col("birthday")
    before_birthday = (b.dt.month() > as_of.month) | (
        (b.dt.month() == as_of.month) & (b.dt.day() > as_of.day))
    return (pl.lit(as_of.year) - b.dt.year() - before_birthday.cast(pl.Int32)).cast(pl.Int64)


def features(data: Data, as_of: date, definition: Group) -> pl.DataFrame:
    """One row per member who had joined by `as_of` (sorted by id) with the columns the
    definition's conditions read; the costly parts (RFM, CLV, churn) only when used."""
    as_of = buys.check_as_of(as_of)
    used = list(conditions(definition))
    sources = {FIELDS[c.field].source for c in used}
    base = buys.members_as_of(data.store, as_of).join(
        data.profile, on="member_id", how="left", maintain_order="left").with_columns(
        _age(as_of).alias("age"), buys.days_before(as_of, "joined_on").alias("joined_days"))
    if sources & {"clv", "churn"}:
        done = insight.compute(data.store, as_of).members
        base = base.join(done.drop("joined_on", "tier", strict=False), on="member_id",
                         how="left", maintain_order="left")
    elif "rfm" in sources:
        scored = lifecycle.stages(rfm.scores(buys.summary(
            buys.members_as_of(data.store, as_of), buys.purchases_as_of(data.store, as_of),
            as_of)))
        base = base.join(scored.drop("joined_on"), on="member_id", how="left",
                         maintain_order="left")
    windows = sorted({c.window_days for c in used if c.window_days is not None})
    if windows:
        base = base.join(_windows(data.store, as_of, windows), on="member_id", how="left",
                         maintain_order="left").with_columns(
            pl.col(f"{kind}_{n}").fill_null(0) for n in windows for kind in ("spend", "orders"))
    if "recharge" in sources:
        money = (data.store.recharges.filter(pl.col("day") <= as_of).group_by("member_id")
                 .agg(pl.col("amount").sum().alias("recharge_total")))
        base = base.join(money, on="member_id", how="left", maintain_order="left") \
            .with_columns(pl.col("recharge_total").fill_null(0)) \
            .with_columns((pl.col("recharge_total") > 0).alias("recharged_ever"))
    return base


def _windows(store: buys.Store, as_of: date, windows: list[int]) -> pl.DataFrame:
    bought = buys.purchases_as_of(store, as_of)
    aggs = []
    for n in windows:
        inside = pl.col("day") >= as_of - timedelta(days=n - 1)
        aggs += [pl.col("net").filter(inside).sum().cast(pl.Int64).alias(f"spend_{n}"),
                 inside.sum().cast(pl.Int64).alias(f"orders_{n}")]
    return bought.group_by("member_id").agg(aggs)


def expression(node: Condition | Group, tags: pl.DataFrame) -> pl.Expr:
    """The definition as a boolean expression over `features` (never null)."""
    if isinstance(node, Group):
        parts = [expression(item, tags) for item in node.items]
        return pl.all_horizontal(parts) if node.mode == "all" else pl.any_horizontal(parts)
    if node.field == "tag":
        holders = tags.filter(pl.col("tag") == node.value)["member_id"].unique()
        found = pl.col("member_id").is_in(holders.to_list())
        return found if node.op == "has" else ~found
    if node.window_days is not None:
        prefix = "spend" if node.field == "spend_in_window" else "orders"
        column = pl.col(f"{prefix}_{node.window_days}")
    else:
        column = pl.col(COLUMNS.get(node.field, node.field))
    return _compare(column, node.op, node.value).fill_null(False)


def _compare(column: pl.Expr, op: str, value: Any) -> pl.Expr:
    if op == "in":
        return column.is_in(list(value)) & column.is_not_null()
    if op == "not_in":
        return ~column.is_in(list(value)) & column.is_not_null()
    if op == "between":
        return column.is_between(value[0], value[1], closed="both")
    return {"eq": column.__eq__, "ne": column.__ne__, "gt": column.__gt__,
            "gte": column.__ge__, "lt": column.__lt__, "lte": column.__le__}[op](value)


def members(data: Data, definition: Group, as_of: date) -> pl.DataFrame:
    """The members the definition selects as of `as_of`: `member_id`, `tier`, by id."""
    table = features(data, as_of, definition)
    return table.filter(expression(definition, data.tags)).select("member_id", "tier") \
        .sort("member_id")


def preview(data: Data, definition: Group, as_of: date, sample: int = 10) -> dict[str, Any]:
    """How many members the definition selects now, and the first `sample` of them."""
    found = members(data, definition, as_of)
    return {"as_of": as_of, "count": found.height,
            "sample": list(found.head(sample).iter_rows(named=True))}
