"""A unit of work locks a member once; changes to the member row in the same unit of work
are seen by the next step."""

from __future__ import annotations

from datetime import timedelta

import pytest

from memberops.errors import RuleViolated
from memberops.members import service
from memberops.members.schemas import MemberCreate, MemberUpdate
from memberops.tiers import service as tiers_service


def _member(make_uow) -> int:
    with make_uow() as uow:
        return service.register_member(uow, MemberCreate(phone="13800000021")).id


def test_a_freeze_in_the_same_unit_of_work_stops_the_next_step(make_uow) -> None:
    member_id = _member(make_uow)
    with make_uow() as uow:
        assert service.lock_active_id(uow, member_id).id == member_id
        service.change_status(uow, member_id, "frozen", "card reported stolen")
        with pytest.raises(RuleViolated) as err:
            service.lock_active_id(uow, member_id)
        assert err.value.code == "member_frozen"


def test_a_tier_change_in_the_same_unit_of_work_is_seen(make_uow, clock) -> None:
    member_id = _member(make_uow)
    with make_uow() as uow:
        assert service.lock_active_id(uow, member_id).tier == "regular"
        tiers_service.set_floor(uow, member_id=member_id, tier="gold", reason="VIP guest",
                                until=clock.today() + timedelta(days=30))
        assert service.lock_active_id(uow, member_id).tier == "gold"


def test_a_birthday_change_in_the_same_unit_of_work_is_seen(make_uow) -> None:
    member_id = _member(make_uow)
    with make_uow() as uow:
        assert service.lock_active_id(uow, member_id).birthday is None
        service.update_member(uow, member_id,
                              MemberUpdate.model_validate({"birthday": "1990-05-17"}))
        assert str(service.lock_active_id(uow, member_id).birthday) == "1990-05-17"


def test_the_lock_is_not_carried_into_the_next_unit_of_work(make_uow) -> None:
    member_id = _member(make_uow)
    with make_uow() as uow:
        service.lock_active_id(uow, member_id)
    with make_uow() as uow:
        service.change_status(uow, member_id, "frozen", "fraud check")
    with make_uow() as uow, pytest.raises(RuleViolated, match="frozen"):
        service.lock_active_id(uow, member_id)
