"""Random bodies at POST /members: never a 500, and a refusal never writes anything."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from memberops.members.models import Member

FIELDS = ["phone", "name", "email", "birthday", "gender", "region", "channel",
          "referrer_id", "tags", "consents", "joined_at", "unknown_field"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**12, 10**12),
                    st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=40),
                    st.sampled_from(["13800138000", "+8613912345678", "a@b.co", "1990-01-01",
                                     "2999-01-01", "female", "store", "2026-01-01T00:00:00+08:00"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=8)
bodies = st.dictionaries(st.sampled_from(FIELDS), values, max_size=6)


def test_random_bodies_get_a_clear_answer(client, auth, db) -> None:
    headers = auth("operator")

    @settings(max_examples=150, deadline=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(body=bodies)
    def post(body: dict) -> None:
        with db.session(readonly=True) as s:
            before = s.execute(select(func.count()).select_from(Member)).scalar_one()
        resp = client.post("/api/v1/members", headers=headers, json=body)
        assert resp.status_code in (201, 409, 422), (body, resp.text)
        with db.session(readonly=True) as s:
            after = s.execute(select(func.count()).select_from(Member)).scalar_one()
        assert after == before + (1 if resp.status_code == 201 else 0)
        if resp.status_code != 201:
            assert resp.json()["code"] and resp.json()["detail"]

    post()
