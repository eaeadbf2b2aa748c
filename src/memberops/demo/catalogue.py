"""What the demo chain sells and where: a coffee, bakery and coffee-retail menu, stores in
several cities, and baskets that go together the way they do at a real counter.

Pure: no database. Baskets are drawn per *occasion* — the morning coffee, lunch, the
afternoon treat, brewing at home, a gift, coffee for the meeting room — and within an
occasion the add-ons depend on what is already in the basket (a latte brings a croissant,
beans bring filter papers, a sandwich brings an americano), so that association rules
mined from the orders find these pairs, with lifts well above one.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from .members import SPRING_FESTIVAL

K = TypeVar("K")


@dataclass(frozen=True)
class Sku:
    sku: str
    name: str
    category: str
    price: int  # fen


MENU: tuple[Sku, ...] = (
    Sku("AMERICANO", "美式咖啡", "coffee", 2600),
    Sku("LATTE", "拿铁", "coffee", 3200),
    Sku("CAPPUCCINO", "卡布奇诺", "coffee", 3200),
    Sku("FLAT-WHITE", "澳白", "coffee", 3400),
    Sku("COCONUT-LATTE", "生椰拿铁", "coffee", 3400),
    Sku("OAT-LATTE", "燕麦拿铁", "coffee", 3600),
    Sku("MOCHA", "摩卡", "coffee", 3500),
    Sku("CARAMEL-MACCHIATO", "焦糖玛奇朵", "coffee", 3600),
    Sku("COLD-BREW", "冷萃咖啡", "coffee", 3200),
    Sku("MATCHA-LATTE", "抹茶拿铁", "tea", 3400),
    Sku("FRUIT-TEA", "鲜果茶", "tea", 2800),
    Sku("HOT-CHOCOLATE", "热巧克力", "tea", 3000),
    Sku("CROISSANT", "黄油可颂", "bakery", 1500),
    Sku("PAIN-AU-CHOCOLAT", "巧克力可颂", "bakery", 1800),
    Sku("BLUEBERRY-MUFFIN", "蓝莓玛芬", "bakery", 1600),
    Sku("BAGEL", "贝果", "bakery", 1800),
    Sku("SCONE", "司康", "bakery", 1600),
    Sku("CHEESECAKE", "纽约芝士蛋糕", "dessert", 2800),
    Sku("TIRAMISU", "提拉米苏", "dessert", 3200),
    Sku("COOKIE", "曲奇", "dessert", 1200),
    Sku("CLUB-SANDWICH", "总汇三明治", "food", 3800),
    Sku("CHICKEN-WRAP", "鸡肉卷", "food", 3200),
    Sku("CAESAR-SALAD", "凯撒沙拉", "food", 4200),
    Sku("PASTA", "意面", "food", 4800),
    Sku("BEANS-HOUSE", "门店拼配咖啡豆 250g", "beans", 9800),
    Sku("BEANS-YUNNAN", "云南保山咖啡豆 250g", "beans", 8800),
    Sku("BEANS-YIRGACHEFFE", "耶加雪菲咖啡豆 250g", "beans", 12800),
    Sku("DRIP-BAGS", "挂耳咖啡 10 袋", "beans", 6800),
    Sku("FILTER-PAPERS", "手冲滤纸 100 张", "brewing", 2500),
    Sku("DRIPPER", "手冲滤杯", "brewing", 8800),
    Sku("FRENCH-PRESS", "法压壶", "brewing", 19800),
    Sku("MUG", "马克杯", "merchandise", 9800),
    Sku("TUMBLER", "随行杯", "merchandise", 16800),
    Sku("GIFT-BOX", "节日咖啡礼盒", "gifts", 12800),
    Sku("MOONCAKE-BOX", "咖啡月饼礼盒", "gifts", 19800),
)
BY_SKU = {item.sku: item for item in MENU}
CATEGORIES = tuple(dict.fromkeys(item.category for item in MENU))

# Drinks by popularity (a member's favourite is drawn from these weights).
DRINKS = {"LATTE": 22, "AMERICANO": 18, "COCONUT-LATTE": 12, "OAT-LATTE": 7,
          "CAPPUCCINO": 7, "FLAT-WHITE": 6, "CARAMEL-MACCHIATO": 6, "MOCHA": 4,
          "COLD-BREW": 5, "MATCHA-LATTE": 5, "FRUIT-TEA": 6, "HOT-CHOCOLATE": 2}
MILK_COFFEE = {"LATTE", "OAT-LATTE", "FLAT-WHITE", "CAPPUCCINO", "COCONUT-LATTE"}
# What goes with a drink at breakfast: milk coffee and a croissant, an americano and a
# bagel or a muffin, a sweet drink and a scone.
BAKERY_WITH = {"milk": {"CROISSANT": 60, "PAIN-AU-CHOCOLAT": 25, "BLUEBERRY-MUFFIN": 8,
                        "BAGEL": 4, "SCONE": 3},
               "black": {"BAGEL": 45, "BLUEBERRY-MUFFIN": 30, "CROISSANT": 15, "SCONE": 10},
               "sweet": {"SCONE": 35, "BLUEBERRY-MUFFIN": 30, "PAIN-AU-CHOCOLAT": 25,
                         "CROISSANT": 10}}
# Lunch: each dish has the drinks it is ordered with.
LUNCH = {"CLUB-SANDWICH": 34, "CHICKEN-WRAP": 26, "CAESAR-SALAD": 22, "PASTA": 18}
LUNCH_DRINK = {"CLUB-SANDWICH": {"AMERICANO": 65, "LATTE": 20, "COLD-BREW": 15},
               "CHICKEN-WRAP": {"AMERICANO": 45, "COLD-BREW": 30, "FRUIT-TEA": 25},
               "CAESAR-SALAD": {"FRUIT-TEA": 55, "COLD-BREW": 30, "AMERICANO": 15},
               "PASTA": {"AMERICANO": 40, "FRUIT-TEA": 35, "LATTE": 25}}
# The afternoon treat: a dessert and its drink.
DESSERT_DRINK = {"TIRAMISU": {"LATTE": 40, "MOCHA": 35, "AMERICANO": 25},
                 "CHEESECAKE": {"AMERICANO": 55, "FLAT-WHITE": 25, "FRUIT-TEA": 20},
                 "COOKIE": {"HOT-CHOCOLATE": 35, "LATTE": 35, "MATCHA-LATTE": 30}}
BEANS = {"BEANS-HOUSE": 45, "BEANS-YUNNAN": 30, "BEANS-YIRGACHEFFE": 25}
HOME_BREW = {**BEANS, "DRIP-BAGS": 35}
DESSERTS = {"TIRAMISU": 35, "CHEESECAKE": 40, "COOKIE": 25}
HOURS_OF = {  # the occasions by local hour, store and pickup orders
    "breakfast": range(7, 11), "lunch": range(11, 14), "afternoon": range(14, 18)}


@dataclass(frozen=True)
class Store:
    code: str
    city: str  # 上海, … (the member profile's city names)


# Store cities: code prefix and number of stores (bigger cities, more stores).
STORE_CITIES: dict[str, tuple[str, int]] = {
    "上海": ("SH", 9), "北京": ("BJ", 7), "深圳": ("SZ", 6), "广州": ("GZ", 5),
    "杭州": ("HZ", 5), "成都": ("CD", 4), "南京": ("NJ", 3), "苏州": ("SU", 3),
    "武汉": ("WH", 3), "重庆": ("CQ", 2), "西安": ("XA", 2), "长沙": ("CS", 2),
    "厦门": ("XM", 2), "青岛": ("QD", 2), "天津": ("TJ", 2), "郑州": ("ZZ", 1),
}
# Cities within reach of a store city: their members come over to buy.
NEARBY = {"佛山": "广州", "东莞": "深圳", "惠州": "深圳", "珠海": "广州", "嘉兴": "杭州",
          "绍兴": "杭州", "宁波": "杭州", "无锡": "苏州", "常州": "苏州", "南通": "苏州",
          "绵阳": "成都", "宜昌": "武汉", "泉州": "厦门", "福州": "厦门", "洛阳": "郑州",
          "烟台": "青岛", "济南": "青岛", "合肥": "南京"}
ONLINE_STORE = Store("EC-001", "")  # the mini-program mall, shipping nationwide
STORES: tuple[Store, ...] = tuple(
    Store(f"{prefix}-{n:03d}", city) for city, (prefix, count) in STORE_CITIES.items()
    for n in range(1, count + 1))
STORES_IN = {city: [s for s in STORES if s.city == city] for city in STORE_CITIES}
CHANNELS = ("store", "mini_program", "delivery")


class Weighted(Generic[K]):
    """A weighted choice whose cumulative weights are summed once (`random.choices` sums
    them on every call, which the planning of 100,000 orders feels)."""

    __slots__ = ("cumulative", "keys")

    def __init__(self, weights: Mapping[K, float]) -> None:
        self.keys = list(weights)
        self.cumulative = list(itertools.accumulate(weights.values()))

    def pick(self, rng: random.Random) -> K:
        found = bisect.bisect(self.cumulative, rng.random() * self.cumulative[-1])
        return self.keys[min(found, len(self.keys) - 1)]


# Constant weight tables, by identity (each kept alive here, so an id is never reused).
_WEIGHTED: dict[int, tuple[object, Weighted[Any]]] = {}


def pick(rng: random.Random, weights: Mapping[K, float]) -> K:
    """One key of `weights` (a constant table), drawn by weight."""
    found = _WEIGHTED.get(id(weights))
    if found is None:
        found = _WEIGHTED[id(weights)] = (weights, Weighted(weights))
    return found[1].pick(rng)  # type: ignore[no-any-return]


_pick = pick


def store_city(city: str | None) -> str | None:
    """The store city a member of `city` buys in, or None when no store is within reach."""
    if city in STORE_CITIES:
        return city
    return NEARBY.get(city or "")


def home_stores(rng: random.Random, city: str | None) -> tuple[Store, ...]:
    """A member's usual stores: near home and near work (the first is the favourite); the
    online mall for members far from any store."""
    found = store_city(city)
    if found is None:
        return (ONLINE_STORE,)
    local = STORES_IN[found]
    first = rng.choice(local)
    second = rng.choice(local)
    return (first,) if second == first else (first, second)


# The Mid-Autumn Festival (中秋), when mooncake gift boxes sell.
MID_AUTUMN = {2023: date(2023, 9, 29), 2024: date(2024, 9, 17), 2025: date(2025, 10, 6),
              2026: date(2026, 9, 25), 2027: date(2027, 9, 15), 2028: date(2028, 10, 3)}


def mooncake_season(day: date) -> bool:
    """The four weeks before the Mid-Autumn Festival (approximately: mid-September)."""
    festival = MID_AUTUMN.get(day.year)
    return festival is not None and 0 < (festival - day).days <= 28


def gift_season(day: date) -> bool:
    """Days when gift boxes sell: before Spring Festival, the 618 and Double 11 sales."""
    festival = SPRING_FESTIVAL.get(day.year)
    return ((festival is not None and -21 <= (day - festival).days <= -1)
            or (day.month == 6 and day.day <= 18) or (day.month == 11 and day.day <= 11))


@dataclass(frozen=True)
class Taste:
    """What a member tends to order: the favourite drink and how they shop."""

    drink: str
    sweet_tooth: bool  # desserts in the afternoon, sweet drinks
    home_brewer: bool  # buys beans and brewing gear now and then
    family: bool  # weekend orders with a hot chocolate for the child
    corporate: bool  # orders coffee for the meeting room


def taste(rng: random.Random, tags: frozenset[str]) -> Taste:
    drink = _pick(rng, DRINKS)
    if "健身" in tags and rng.random() < 0.5:
        drink = rng.choice(("AMERICANO", "COLD-BREW"))
    return Taste(drink=drink,
                 sweet_tooth=rng.random() < (0.6 if "甜品控" in tags else 0.2),
                 home_brewer=rng.random() < (0.45 if "咖啡爱好者" in tags else 0.08),
                 family="宝妈" in tags and rng.random() < 0.7,
                 corporate="企业客户" in tags)


Basket = tuple[tuple[str, int], ...]  # (sku, quantity), one line per sku


def _kind(drink: str) -> str:
    if drink in MILK_COFFEE:
        return "milk"
    return "black" if drink in ("AMERICANO", "COLD-BREW") else "sweet"


def _drink(rng: random.Random, t: Taste) -> str:
    return t.drink if rng.random() < 0.65 else _pick(rng, DRINKS)


def occasion(rng: random.Random, local: datetime, channel: str, t: Taste) -> str:
    """Why the member buys now: from the hour, the channel and the member's habits."""
    hour, day = local.hour, local.date()
    weekend = day.weekday() >= 5
    if channel == "mini_program" and t.home_brewer and rng.random() < 0.25:
        return "home_brew"
    if t.corporate and not weekend and 9 <= hour < 17 and rng.random() < 0.35:
        return "team"
    if (gift_season(day) or mooncake_season(day)) and rng.random() < 0.07:
        return "gift"
    if t.home_brewer and rng.random() < 0.08:
        return "home_brew"
    if weekend and t.family and rng.random() < 0.5:
        return "family"
    if hour in HOURS_OF["lunch"] and rng.random() < (0.75 if channel == "delivery" else 0.5):
        return "lunch"
    if hour in HOURS_OF["afternoon"] and rng.random() < (0.45 if t.sweet_tooth else 0.2):
        return "treat"
    if hour in HOURS_OF["breakfast"]:
        return "breakfast"
    return "coffee"


def basket(rng: random.Random, local: datetime, channel: str, t: Taste, *,
           mall: bool = False) -> Basket:
    """One order's lines for a member of taste `t` at local time `local`; `mall`: from the
    online mall, which ships beans, gear and gifts (no drinks)."""
    lines: dict[str, int] = {}

    def add(sku: str, quantity: int = 1) -> None:
        lines[sku] = lines.get(sku, 0) + quantity

    if mall:
        kind = "gift" if rng.random() < 0.3 else "home_brew"
        channel = "mall"
    else:
        kind = occasion(rng, local, channel, t)
    weekend = local.weekday() >= 5
    if kind == "team":
        for _ in range(rng.randint(4, 10)):
            add(_drink(rng, t) if rng.random() < 0.3 else _pick(rng, DRINKS))
        if rng.random() < 0.3:
            add("COOKIE", rng.randint(2, 6))
    elif kind == "home_brew":
        beans = _pick(rng, HOME_BREW)
        add(beans, 1 + (rng.random() < 0.2))
        if beans != "DRIP-BAGS" and rng.random() < 0.55:
            add("FILTER-PAPERS")
        if beans != "DRIP-BAGS" and rng.random() < 0.1:
            add(rng.choice(("DRIPPER", "FRENCH-PRESS")))
        if beans == "DRIP-BAGS" and rng.random() < 0.2:
            add("MUG")
        if channel == "store" and rng.random() < 0.5:
            add(_drink(rng, t))
    elif kind == "gift":
        add("MOONCAKE-BOX" if mooncake_season(local.date()) else "GIFT-BOX",
            1 + (rng.random() < 0.3) + (rng.random() < 0.1))
        if rng.random() < 0.25:
            add("TUMBLER")
        if rng.random() < 0.2:
            add("DRIP-BAGS")
        if channel == "store" and rng.random() < 0.4:
            add(_drink(rng, t))
    elif kind == "family":
        add("HOT-CHOCOLATE")
        add(_drink(rng, t))
        add(rng.choice(("BLUEBERRY-MUFFIN", "COOKIE", "COOKIE")))
        if rng.random() < 0.3:
            add("CROISSANT")
    elif kind == "lunch":
        dish = _pick(rng, LUNCH)
        add(dish)
        if rng.random() < 0.85:
            add(_pick(rng, LUNCH_DRINK[dish]))
        if channel == "delivery" and rng.random() < 0.4:  # lunch for two
            second = _pick(rng, LUNCH)
            add(second)
            add(_pick(rng, LUNCH_DRINK[second]))
        if rng.random() < 0.12:
            add("COOKIE")
    elif kind == "treat":
        dessert = _pick(rng, DESSERTS)
        add(dessert)
        add(_drink(rng, t) if rng.random() < 0.3 else _pick(rng, DESSERT_DRINK[dessert]))
    else:  # breakfast or a coffee any time
        drink = _drink(rng, t)
        add(drink)
        with_food = 0.45 if kind == "breakfast" else 0.15
        if t.sweet_tooth:
            with_food += 0.1
        if rng.random() < with_food:
            add(_pick(rng, BAKERY_WITH[_kind(drink)]))
    if kind in ("breakfast", "coffee", "treat", "lunch") and (
            rng.random() < (0.3 if weekend else 0.12) or channel == "delivery"):
        add(_pick(rng, DRINKS))  # a friend's drink (delivery: there is a minimum order)
    return tuple(sorted(lines.items()))


def amount(lines: Basket) -> int:
    return sum(BY_SKU[sku].price * quantity for sku, quantity in lines)


def upsized(rng: random.Random, lines: Basket, target: int) -> Basket:
    """The basket with retail items added until it reaches `target` fen (凑单: a member with
    a coupon that needs a minimum spend adds beans, drip bags or a gift box)."""
    found = dict(lines)
    extras = ("DRIP-BAGS", "BEANS-HOUSE", "BEANS-YUNNAN", "CHEESECAKE", "MUG", "GIFT-BOX",
              "TUMBLER")
    while amount(tuple(found.items())) < target:
        sku = rng.choice(extras)
        found[sku] = found.get(sku, 0) + 1
        if sku.startswith("BEANS") and rng.random() < 0.5:
            found["FILTER-PAPERS"] = found.get("FILTER-PAPERS", 0) + 1
    return tuple(sorted(found.items()))


def stores_for(rng: random.Random, homes: Sequence[Store]) -> Store:
    """Where this order is made: mostly the favourite store, sometimes the other one near
    home or work, now and then another store in town or one in another city (travel);
    members far from any store order from the mall, and visit a store when they travel."""
    draw = rng.random()
    if draw < (0.15 if homes[0] is ONLINE_STORE else 0.03):
        return rng.choice(STORES)
    if homes[0] is ONLINE_STORE:
        return ONLINE_STORE
    if draw < 0.12:
        return rng.choice(STORES_IN[homes[0].city])
    return homes[0] if draw < 0.72 or len(homes) == 1 else homes[1]
