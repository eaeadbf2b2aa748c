"""Walking the cursor pages of any sort order yields every match exactly once, in order —
including ties on joined_at and name, which the id breaks."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from memberops.members import queries, service
from memberops.members.schemas import MemberCreate


def seed(make_uow, clock) -> None:
    with make_uow() as uow:
        for i in range(40):
            service.register_member(uow, MemberCreate(
                phone=f"1370000{i:04d}",
                name=None if i % 7 == 0 else f"会员{i % 5}",   # many equal names and some none
                joined_at=clock.now() - timedelta(days=i % 4),  # many equal join times
                tags=["even"] if i % 2 == 0 else []))


def expected(members, sort: str) -> list[int]:
    name = sort.lstrip("-")
    key = {"id": lambda m: (m.id,), "joined_at": lambda m: (m.joined_at, m.id),
           "name": lambda m: (m.name or "", m.id), "tier": lambda m: (m.tier, m.id)}[name]
    return [m.id for m in sorted(members, key=key, reverse=sort.startswith("-"))]


def test_pages_cover_everything_once(make_uow, clock) -> None:
    seed(make_uow, clock)

    @settings(max_examples=40, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(sort=st.sampled_from(queries.SORTS), limit=st.integers(1, 45),
           only_even=st.booleans())
    def walk(sort: str, limit: int, only_even: bool) -> None:
        filters = queries.MemberFilter(tag="even" if only_even else None)
        with make_uow(readonly=True) as uow:
            everything = list(uow.session.execute(queries.filtered(filters)).scalars())
            seen, cursor = [], None
            while True:
                page = queries.search(uow.session, filters, limit=limit, cursor=cursor,
                                      sort=sort)
                seen += [m.id for m in page.items]
                if page.next_cursor is None:
                    break
                cursor = page.next_cursor
        assert seen == expected(everything, sort)

    walk()
