"""Reads about a member check first that the member exists; the check costs one query at
most, not the three that loading the member with its tags and consents takes."""

from __future__ import annotations

import pytest

from memberops.db import Database
from memberops.errors import NotFound
from memberops.members import queries as member_queries
from memberops.points import queries as points_queries
from tests import wallet_helpers
from tests.conftest import read_queries


def test_an_unknown_member_is_not_found(db: Database, make_uow) -> None:
    member_id = wallet_helpers.new_member(make_uow)
    with db.session(readonly=True) as session:
        member_queries.check_exists(session, member_id)
        with pytest.raises(NotFound) as refused:
            member_queries.check_exists(session, member_id + 1)
        assert refused.value.code == "member_not_found"
        with pytest.raises(NotFound):
            points_queries.summary(session, member_id + 1, make_uow().clock.now())


def test_the_check_is_one_query_and_none_for_a_member_already_read(db: Database,
                                                                   make_uow) -> None:
    member_id = wallet_helpers.new_member(make_uow, tags=["vip"])
    with db.session(readonly=True) as session, read_queries(db) as sent:
        member_queries.check_exists(session, member_id)
        assert len(sent) == 1
        member = member_queries.get(session, member_id)  # with its tags and consents
        assert [t.tag for t in member.tags] == ["vip"]
        before = len(sent)
        member_queries.check_exists(session, member_id)
        assert len(sent) == before
