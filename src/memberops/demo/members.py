"""The demo member base: who joined, when, where, through which channel, with what profile.

Two halves. `plan_members` is pure (a plan and an instant in, `MemberSpec`s out)
so that its realism is tested without a database; `load_members` registers the
specs through the members service, a batch per unit of work, so that every
member gets its audit entry and timeline event like any real registration.
"""

from __future__ import annotations

import bisect
import itertools
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from faker import Faker

from memberops.clock import Clock, FixedClock
from memberops.coupons import service as coupons_service
from memberops.db import Database
from memberops.errors import Conflict
from memberops.members import rules
from memberops.members import service as members_service
from memberops.members.schemas import MemberCreate, Region
from memberops.uow import Actor, UnitOfWork

from . import DemoPlan, Progress

# Province → (weight, {city: weight}): roughly population × spending power of
# the cities where a coffee/retail chain has stores; tier-1 and new tier-1 lead.
REGIONS: dict[str, tuple[float, dict[str, float]]] = {
    "广东": (13, {"深圳": 34, "广州": 32, "佛山": 11, "东莞": 11, "珠海": 6, "惠州": 6}),
    "浙江": (9, {"杭州": 46, "宁波": 22, "温州": 14, "绍兴": 9, "嘉兴": 9}),
    "江苏": (9, {"苏州": 34, "南京": 32, "无锡": 14, "常州": 10, "南通": 10}),
    "上海": (8, {"上海": 1}),
    "北京": (7, {"北京": 1}),
    "四川": (5, {"成都": 86, "绵阳": 14}),
    "山东": (5, {"青岛": 42, "济南": 38, "烟台": 20}),
    "湖北": (4, {"武汉": 86, "宜昌": 14}),
    "福建": (4, {"厦门": 42, "福州": 40, "泉州": 18}),
    "重庆": (4, {"重庆": 1}),
    "河南": (3.5, {"郑州": 80, "洛阳": 20}),
    "湖南": (3, {"长沙": 100}),
    "陕西": (3, {"西安": 100}),
    "天津": (3, {"天津": 1}),
    "安徽": (2.5, {"合肥": 100}),
    "辽宁": (2, {"大连": 52, "沈阳": 48}),
    "河北": (1.5, {"石家庄": 100}),
    "江西": (1.5, {"南昌": 100}),
    "云南": (1.5, {"昆明": 100}),
    "广西": (1.5, {"南宁": 100}),
    "黑龙江": (1, {"哈尔滨": 100}),
    "山西": (1, {"太原": 100}),
    "贵州": (1, {"贵阳": 100}),
    "海南": (0.8, {"海口": 60, "三亚": 40}),
}
NO_REGION_SHARE = 0.03  # members who skipped the region field

# Join channels at the start and at the end of the history: mini-program sign-ups
# overtake the till over two years, as they did for most Chinese chains.
CHANNELS_THEN = {"store": 40, "mini_program": 25, "app": 12, "ecommerce": 13, "referral": 10}
CHANNELS_NOW = {"store": 30, "mini_program": 36, "app": 12, "ecommerce": 12, "referral": 10}

# Lunar New Year's Day (春节); the demo's history must fall within these years.
SPRING_FESTIVAL = {
    2020: date(2020, 1, 25), 2021: date(2021, 2, 12), 2022: date(2022, 2, 1),
    2023: date(2023, 1, 22), 2024: date(2024, 2, 10), 2025: date(2025, 1, 29),
    2026: date(2026, 2, 17), 2027: date(2027, 2, 6), 2028: date(2028, 1, 26),
    2029: date(2029, 2, 13), 2030: date(2030, 2, 3), 2031: date(2031, 1, 23),
    2032: date(2032, 2, 11), 2033: date(2033, 1, 31), 2034: date(2034, 2, 19),
    2035: date(2035, 2, 8),
}

# Joins by local hour: the morning coffee, lunch and evening peaks; tills only sign
# members up while the stores are open.
HOUR_WEIGHTS = (0.3, 0.15, 0.08, 0.05, 0.05, 0.1, 0.4, 1.5, 3.0, 3.2, 2.2, 2.0,
                3.0, 2.8, 1.8, 1.6, 1.8, 2.2, 2.8, 3.0, 2.6, 2.0, 1.2, 0.6)
STORE_HOURS = range(7, 22)

GENDERS = {"female": 54, "male": 41, "unknown": 5}  # coffee and dessert skew female
NAME_SHARE = 0.96
# Faker's given names follow the whole population, which is older than a coffee
# chain's members; people born after 1995 often carry these two-character names.
MODERN_GIVEN_NAMES = {
    "female": ("子涵", "雨桐", "欣怡", "梓涵", "诗涵", "可馨", "思彤", "语嫣", "梦瑶", "佳怡",
               "一诺", "若曦", "雨萱", "紫萱", "心怡", "晓彤", "婉清", "思琪", "欣妍", "佳琪"),
    "male": ("子轩", "浩然", "宇轩", "俊杰", "梓睿", "博文", "皓轩", "一鸣", "天佑", "思远",
             "浩宇", "明轩", "子墨", "宇航", "嘉懿", "煜祺", "晨阳", "文博", "昊然", "泽宇"),
}
BIRTHDAY_SHARE = 0.85
EMAIL_SHARE = {"store": 0.18, "mini_program": 0.25, "app": 0.45, "ecommerce": 0.5,
               "referral": 0.25}
# Reserved example.com sub-domains keep the providers' flavour (QQ, 163, …) while
# guaranteeing that no demo message can ever reach a real mailbox.
EMAIL_DOMAINS = {"qq.example.com": 45, "163.example.com": 22, "126.example.com": 8,
                 "sina.example.com": 5, "outlook.example.com": 8, "gmail.example.com": 6,
                 "foxmail.example.com": 6}
# Mainland mobile prefixes, weighted by how common they are among today's numbers.
PHONE_PREFIXES = {
    **dict.fromkeys(("134", "135", "136", "137", "138", "139"), 5.0),
    **dict.fromkeys(("130", "131", "132", "133"), 3.5),
    **dict.fromkeys(("150", "151", "152", "155", "156", "157", "158", "159"), 3.5),
    **dict.fromkeys(("180", "181", "182", "183", "185", "186", "187", "188", "189"), 3.5),
    **dict.fromkeys(("166", "173", "175", "176", "177", "178"), 2.0),
    **dict.fromkeys(("191", "195", "198", "199"), 2.0),
}
MAX_TAGS = 4
REFERRAL_HUB_SHARE = 0.35  # referrers picked among those who already referred: a few refer many
SAME_CITY_AS_REFERRER = 0.7


@dataclass(frozen=True)
class MemberSpec:
    """One member to register; `referrer` is the index of an earlier spec."""

    joined_at: datetime
    phone: str
    channel: str
    gender: str
    name: str | None = None
    email: str | None = None
    birthday: date | None = None
    province: str | None = None
    city: str | None = None
    referrer: int | None = None
    tags: tuple[str, ...] = ()
    consents: dict[str, bool] = field(default_factory=dict)

    def create(self, referrer_id: int | None) -> MemberCreate:
        region = Region(province=self.province, city=self.city) if self.province else None
        return MemberCreate(
            phone=self.phone, name=self.name, email=self.email, birthday=self.birthday,
            gender=self.gender, region=region, channel=self.channel,
            referrer_id=referrer_id, tags=list(self.tags), consents=self.consents,
            joined_at=self.joined_at)


def _pick(rng: random.Random, weights: Mapping[str, float]) -> str:
    return rng.choices(list(weights), weights=list(weights.values()))[0]


# --- when: a growing programme with seasons --------------------------------------

def seasonality(day: date) -> float:
    """How much busier than usual sign-ups are on `day` (1.0 = an ordinary weekday)."""
    factor = 1.35 if day.weekday() >= 5 else 1.1 if day.weekday() == 4 else 1.0
    festival = SPRING_FESTIVAL.get(day.year)
    if festival is not None and -10 <= (day - festival).days <= 6:
        factor *= 1.7  # New Year shopping, gift cards, family visits
    if day.month == 6 and day.day <= 18:
        factor *= 1.0 + 1.5 * day.day / 18  # the 618 sale builds up to 18 June
    elif day.month == 10 and day.day <= 7:
        factor *= 1.3  # National Day golden week
    elif (day.month == 10 and day.day >= 20) or (day.month == 11 and day.day <= 11):
        days_to_go = (date(day.year, 11, 11) - day).days
        factor *= 3.0 - 1.8 * days_to_go / 22  # Double 11 pre-sales, peak on 11 November
    elif day.month == 12 and day.day == 12:
        factor *= 1.5  # Double 12
    return factor


def _sale_day(day: date) -> bool:
    return (day.month == 6 and day.day <= 18) or (day.month == 11 and day.day <= 11)


def day_weights(first: date, last: date) -> list[tuple[date, float]]:
    """Relative number of sign-ups per day: growth (about ×2.6 over the span) × season."""
    span = max((last - first).days, 1)
    days = [first + timedelta(days=i) for i in range(span + 1)]
    return [(d, (0.55 + 0.9 * (d - first).days / span) * seasonality(d)) for d in days]


def join_times(rng: random.Random, count: int, now: datetime, days: int,
               tz: tzinfo) -> list[datetime]:
    """`count` distinct join instants (UTC, to the second) over the last `days`, sorted."""
    now = now.replace(microsecond=0)
    today = now.astimezone(tz).date()
    weighted = day_weights(today - timedelta(days=days - 1), today)
    cumulative = list(itertools.accumulate(w for _, w in weighted))
    chosen: set[datetime] = set()
    while len(chosen) < count:
        for day in rng.choices([d for d, _ in weighted], cum_weights=cumulative,
                               k=count - len(chosen)):
            instant = _instant(rng, day, tz)
            if instant > now:  # today's joins so far happened before now
                instant = (now - timedelta(seconds=rng.randrange(1, 6 * 3600))).astimezone(UTC)
            chosen.add(instant)
    return sorted(chosen)


def _instant(rng: random.Random, day: date, tz: tzinfo) -> datetime:
    hour = rng.choices(range(24), weights=HOUR_WEIGHTS)[0]
    local = datetime.combine(day, time(hour, rng.randrange(60), rng.randrange(60)), tzinfo=tz)
    return local.astimezone(UTC)


def channel_at(rng: random.Random, fraction: float, local: datetime) -> str:
    """The join channel, drifting from `CHANNELS_THEN` to `CHANNELS_NOW` over the history."""
    weights = {ch: CHANNELS_THEN[ch] + (CHANNELS_NOW[ch] - CHANNELS_THEN[ch]) * fraction
               for ch in CHANNELS_THEN}
    if local.hour not in STORE_HOURS:
        weights["store"] = 0  # the stores are closed
    if _sale_day(local.date()):
        weights["ecommerce"] *= 3  # the online sales bring online sign-ups
    return _pick(rng, weights)


# --- who: a profile per member --------------------------------------------------

class ProfileMaker:
    """Draws names, phones, e-mails, birthdays, tags and consents; phones never repeat."""

    def __init__(self, rng: random.Random, seed: int, today: date) -> None:
        self.rng = rng
        self.today = today
        self.fake = Faker("zh_CN")
        self.fake.seed_instance(seed)
        self.phones: set[str] = set()
        self.emails: set[str] = set()

    def phone(self) -> str:
        """A valid mainland mobile (E.164) that no earlier member has."""
        while True:
            raw = _pick(self.rng, PHONE_PREFIXES) + f"{self.rng.randrange(10**8):08d}"
            try:
                phone = rules.normalise_phone(raw)
            except ValueError:
                continue
            if phone not in self.phones:
                self.phones.add(phone)
                return phone

    def region(self) -> tuple[str | None, str | None]:
        if self.rng.random() < NO_REGION_SHARE:
            return None, None
        province = self.rng.choices(list(REGIONS), weights=[w for w, _ in REGIONS.values()])[0]
        return province, _pick(self.rng, REGIONS[province][1])

    def name(self, gender: str, age: int) -> str | None:
        if self.rng.random() >= NAME_SHARE:
            return None
        if gender == "unknown":
            gender = self.rng.choice(("female", "male"))
        if age < 30 and self.rng.random() < 0.6:
            given = self.rng.choice(MODERN_GIVEN_NAMES[gender])
        else:
            given = self.fake.first_name_female() if gender == "female" \
                else self.fake.first_name_male()
        return self.fake.last_name() + given

    def age(self) -> int:
        # 18–65, most members in their late twenties and thirties (Beta(1.8, 4) skew).
        return 18 + int(47 * self.rng.betavariate(1.8, 4.0))

    def birthday(self, age: int) -> date | None:
        """A birthday that makes the member `age` today (None for those who left it out)."""
        if self.rng.random() >= BIRTHDAY_SHARE:
            return None
        day = 28 if (self.today.month, self.today.day) == (2, 29) else self.today.day
        latest = self.today.replace(year=self.today.year - age, day=day)
        return latest - timedelta(days=self.rng.randrange(365))

    def email(self, channel: str) -> str | None:
        if self.rng.random() >= EMAIL_SHARE[channel]:
            return None
        while True:
            domain = _pick(self.rng, EMAIL_DOMAINS)
            local = str(self.rng.randrange(10**5, 10**10)) if domain.startswith("qq.") else \
                self.fake.user_name() + (str(self.rng.randrange(100)) if self.rng.random() < 0.5
                                         else "")
            email = f"{local}@{domain}"
            if email not in self.emails:
                self.emails.add(email)
                return email

    def tags(self, gender: str, age: int, channel: str) -> tuple[str, ...]:
        """A few tags from a coffee/retail vocabulary, likelier where they fit the profile."""
        female = gender == "female"
        odds = {
            "咖啡爱好者": 0.35,
            "白领": 0.45 if 23 <= age <= 45 else 0.06,
            "学生": 0.55 if age <= 22 else 0.02,
            "宝妈": 0.3 if female and 26 <= age <= 42 else 0.0,
            "健身": 0.12 if age <= 45 else 0.04,
            "夜猫子": 0.16 if age <= 35 else 0.05,
            "甜品控": 0.28 if female else 0.12,
            "外卖常客": 0.3 if channel in ("mini_program", "app") else 0.1,
            "企业客户": 0.04 if 25 <= age <= 55 else 0.0,
            "价格敏感": 0.4 if age <= 22 or age >= 55 else 0.16,
            "新品尝鲜": 0.12,
        }
        chosen = [tag for tag, p in odds.items() if self.rng.random() < p]
        if len(chosen) > MAX_TAGS:
            chosen = self.rng.sample(chosen, MAX_TAGS)
        return tuple(sorted(chosen))

    def consents(self, channel: str, has_email: bool) -> dict[str, bool]:
        """Per-channel opt-ins, asked where the sign-up form asks them."""
        given = {"sms": self.rng.random() < 0.7}  # every form has the SMS box, pre-ticked
        if channel == "mini_program":
            given["wechat"] = self.rng.random() < 0.82  # the subscribe prompt of the mini-program
        elif channel == "referral":
            given["wechat"] = self.rng.random() < 0.6  # referral links are shared on WeChat
        if channel == "app":
            given["push"] = self.rng.random() < 0.55
        if has_email:
            given["email"] = self.rng.random() < 0.4
        return given


# --- the plan: specs in join order ---------------------------------------------

def plan_members(plan: DemoPlan, now: datetime, tz: tzinfo) -> list[MemberSpec]:
    """The member base of `plan` as of `now`, oldest first; the same plan gives the same specs."""
    rng = plan.rng("members")
    times = join_times(rng, plan.members, now, plan.history_days, tz)
    maker = ProfileMaker(rng, plan.seed, now.astimezone(tz).date())
    first, span = times[0], max((now - times[0]).total_seconds(), 1.0)
    specs: list[MemberSpec] = []
    referrers: list[int] = []  # one entry per referral made: the hubs accumulate
    for index, joined in enumerate(times):
        channel = channel_at(rng, (joined - first).total_seconds() / span, joined.astimezone(tz))
        referrer = _referrer(rng, index, referrers) if channel == "referral" else None
        if channel == "referral" and referrer is None:
            channel = "store"  # nobody to refer the very first member
        specs.append(_spec(maker, joined, channel, referrer, specs))
    return specs


def _referrer(rng: random.Random, index: int, referrers: list[int]) -> int | None:
    # Join instants are distinct and sorted, so every earlier index joined strictly earlier.
    if index == 0:
        return None
    if referrers and rng.random() < REFERRAL_HUB_SHARE:
        choice = rng.choice(referrers)
    else:
        choice = rng.randrange(index)
    referrers.append(choice)
    return choice


def _spec(maker: ProfileMaker, joined: datetime, channel: str, referrer: int | None,
          earlier: Sequence[MemberSpec]) -> MemberSpec:
    gender = _pick(maker.rng, GENDERS)
    age = maker.age()
    province, city = maker.region()
    if referrer is not None and maker.rng.random() < SAME_CITY_AS_REFERRER:
        province, city = earlier[referrer].province, earlier[referrer].city
    email = maker.email(channel)
    return MemberSpec(
        joined_at=joined, phone=maker.phone(), channel=channel, gender=gender,
        name=maker.name(gender, age), email=email, birthday=maker.birthday(age),
        province=province, city=city, referrer=referrer,
        tags=maker.tags(gender, age, channel),
        consents=maker.consents(channel, email is not None))


# --- loading: through the members service ---------------------------------------

def batches(specs: Sequence[MemberSpec], size: int, tz: tzinfo) -> list[range]:
    """Index ranges of at most `size` specs, never spanning two business days.

    The unit of work stamps its timeline events when it commits, with its clock's
    time; keeping a batch within one day keeps each member's "joined" event on
    the day the member joined.
    """
    days = [s.joined_at.astimezone(tz).date() for s in specs]
    result: list[range] = []
    start = 0
    while start < len(specs):
        end = min(start + size, bisect.bisect_right(days, days[start], lo=start))
        result.append(range(start, end))
        start = end
    return result


def load_members(db: Database, specs: Sequence[MemberSpec], *, tz: tzinfo,
                 batch_size: int = 250, progress: Progress | None = None) -> list[int]:
    """Register `specs` in order; returns their ids (a phone already taken is skipped)."""
    ids: list[int | None] = []
    clock = FixedClock(specs[0].joined_at, tz=tz) if specs else None
    for batch in batches(specs, batch_size, tz):
        assert clock is not None
        clock.set(specs[batch[0]].joined_at)
        # The clock walks through history: each member is registered, audited and
        # timestamped at the moment it joined.
        with UnitOfWork(db, actor=Actor.system("demo"), clock=clock) as uow:
            for index in batch:
                clock.set(specs[index].joined_at)
                ids.append(_register(uow, specs[index], ids))
        if progress is not None:
            progress("members", batch.stop, len(specs))
    return [i for i in ids if i is not None]


def _register(uow: UnitOfWork, spec: MemberSpec, ids: list[int | None]) -> int | None:
    referrer_id = None
    if spec.referrer is not None:
        # A referrer skipped for a taken phone is replaced by the latest member loaded.
        referrer_id = ids[spec.referrer] or next((i for i in reversed(ids) if i), None)
    try:
        member_id = members_service.register_member(
            uow, spec.create(referrer_id), source="demo").id
    except Conflict:
        return None  # the phone belongs to a member the database had already
    # The welcome coupon, in the registration's unit of work (none without its template).
    coupons_service.issue_welcome(uow, member_id)
    return member_id


def generate_members(db: Database, plan: DemoPlan, clock: Clock,
                     progress: Progress | None = None) -> list[int]:
    """Plan the member base as of the clock's now, then register it; returns the ids."""
    specs = plan_members(plan, clock.now(), clock.tz)
    if progress is not None:
        progress("members", 0, len(specs))
    return load_members(db, specs, tz=clock.tz, batch_size=plan.batch_size, progress=progress)
