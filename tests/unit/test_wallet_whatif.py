"""The recharge what-if, as pure code: both schemes priced by the same bonus rules."""

from __future__ import annotations

from datetime import date

from memberops.programme.schemas import BonusRow, RechargeCampaign, RechargeScheme
from memberops.wallet.whatif import RechargeFact, replay

YUAN = 100
DAY = date(2026, 3, 1)


def fact(member: int, yuan: int, day: date = DAY, **kw: object) -> RechargeFact:
    return RechargeFact(member_id=member, amount=yuan * YUAN, day=day, **kw)  # type: ignore[arg-type]


def test_an_unchanged_scheme_changes_nothing_and_replays_the_worked_example() -> None:
    scheme = RechargeScheme()
    found = replay(scheme, scheme, [fact(1, y) for y in (1_000, 500, 1_000, 1_000, 100)])
    # PROGRAMME.md: bonus 250 + 80 + 200 + 200 + 15 = 745 yuan
    assert found.bonus_baseline == found.bonus_proposed == 745 * YUAN
    assert found.bonus_change == 0
    assert (found.recharges, found.members, found.members_affected) == (5, 1, 0)
    assert found.amount == 3_600 * YUAN


def test_a_richer_row_raises_the_cost_for_the_recharges_it_matches() -> None:
    current = RechargeScheme()
    proposed = RechargeScheme(bonus_rows=[BonusRow(min_amount=10_000, bonus=1_000),
                                          BonusRow(min_amount=50_000, bonus=10_000),
                                          BonusRow(min_amount=100_000, bonus=20_000)])
    found = replay(current, proposed, [fact(1, 500), fact(2, 100), fact(3, 500)],
                   prior={1: (50_000, 1), 2: (10_000, 1), 3: (10_000, 1)})
    assert found.bonus_baseline == 3 * 0 + 80 * YUAN * 2 + 10 * YUAN
    assert found.bonus_change == 2 * 20 * YUAN
    assert (found.recharges_more, found.recharges_less, found.members_affected) == (2, 0, 2)


def test_prior_history_decides_first_recharge_and_loyal_extras() -> None:
    current = RechargeScheme(first_recharge_pct=5, loyal_pct=5)
    proposed = RechargeScheme(first_recharge_pct=0, loyal_pct=10)
    # member 1 recharges for the first time; member 2 has ¥3,000 settled before the window
    found = replay(current, proposed, [fact(1, 100), fact(2, 100)], prior={2: (300_000, 3)})
    assert found.bonus_baseline == (10 + 5) * YUAN + (10 + 5) * YUAN
    assert found.bonus_proposed == 10 * YUAN + (10 + 10) * YUAN
    assert (found.recharges_more, found.recharges_less) == (1, 1)


def test_a_campaign_counts_only_on_its_days_and_for_its_tag() -> None:
    campaign = RechargeCampaign(code="spring", starts_on=date(2026, 3, 1),
                                ends_on=date(2026, 3, 7), segment_tag="vip",
                                bonus_rows=[BonusRow(min_amount=10_000, bonus=5_000)])
    current = RechargeScheme(first_recharge_pct=0)
    proposed = current.model_copy(update={"campaigns": [campaign]})
    found = replay(current, proposed, [
        fact(1, 100, tags=frozenset({"vip"})),  # in the campaign: 50 instead of 10
        fact(2, 100),  # no tag
        fact(3, 100, day=date(2026, 3, 8), tags=frozenset({"vip"})),  # after it
    ])
    assert found.bonus_change == 40 * YUAN
    assert found.members_affected == 1


def test_the_recorded_bonus_is_added_up_as_given() -> None:
    scheme = RechargeScheme()
    found = replay(scheme, scheme, [fact(1, 100, recorded_bonus=1), fact(1, 100,
                                                                          recorded_bonus=2)])
    assert found.bonus_recorded == 3
