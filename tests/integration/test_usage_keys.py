"""Model-use limits belong to the person, not to one account: deleting the account and signing
up again with the same email (or a "+tag" of it), or making fresh accounts from one client
address, does not refill them; the database keeps only keyed hashes, never the email or the
address; one learner's usage never counts against another's."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select, text

from engine import account_data, usage
from engine.accounts import AccountInfo, start_session
from engine.db.base import Base
from engine.db.models import LLMUsage
from engine.errors import RateLimited

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def _use(rt, uid: int, task: str = usage.TUTOR, n: int = 1) -> None:
    for _ in range(n):
        r = usage.reserve(rt, user_id=uid, task=task, units=1)
        usage.settle(rt, r, model="openai/stub-model", outcome="ok", tokens_in=10)


def _sign_in(rt, uid: int, email: str, address: str) -> None:
    start_session(rt, account=AccountInfo(uid, email, "Learner", True), client_address=address)


def _database_text(rt) -> str:
    """Every row of every table, as text."""
    with rt.session_factory() as session:
        return "\n".join(
            str(row)
            for table in Base.metadata.sorted_tables
            for row in session.execute(text(f"SELECT t::text FROM {table.name} t")).scalars()
        )


def test_deleting_the_account_and_signing_up_again_does_not_refill_the_limits(runtime, make_user):
    rt = runtime.with_settings(runtime.settings.replace(tutor_max_per_hour=2))
    uid = make_user("dana.reyes@example.com")
    _use(rt, uid, n=2)
    with pytest.raises(RateLimited, match="asked the tutor 2 times"):
        usage.reserve(rt, user_id=uid, task=usage.TUTOR, units=1)

    account_data.delete_account(runtime, user_id=uid)

    # The kept rows carry no account and no email: only the keyed hash.
    with runtime.session_factory() as session:
        kept = session.execute(select(LLMUsage.user_id, LLMUsage.account_key)).all()
    assert len(kept) == 2 and {u for u, _ in kept} == {None}
    assert all(HEX64.match(k) for _, k in kept)
    assert "dana" not in _database_text(runtime).lower()

    again = make_user("Dana.Reyes@Example.com")
    with pytest.raises(RateLimited, match="asked the tutor 2 times"):
        usage.reserve(rt, user_id=again, task=usage.TUTOR, units=1)
    tagged = make_user("dana.reyes+second@example.com")
    with pytest.raises(RateLimited, match="asked the tutor 2 times"):
        usage.reserve(rt, user_id=tagged, task=usage.TUTOR, units=1)

    # Another person's limits are their own.
    other = make_user("erin@example.com")
    _use(rt, other, n=2)


def test_rows_older_than_a_day_go_with_the_account_and_the_nightly_prune(runtime, make_user):
    uid = make_user("old.usage@example.com")
    _use(runtime, uid, n=3)
    with runtime.session_factory.begin() as session:
        first = session.scalars(select(LLMUsage.id).order_by(LLMUsage.id)).first()
        session.execute(
            text("UPDATE llm_usage SET created_at = now() - interval '25 hours' WHERE id = :id"),
            {"id": first},
        )
    account_data.delete_account(runtime, user_id=uid)
    with runtime.session_factory() as session:
        assert len(session.scalars(select(LLMUsage.id)).all()) == 2
        session.execute(text("UPDATE llm_usage SET created_at = now() - interval '25 hours'"))
        session.commit()
    assert usage.prune_forgotten(runtime) == 2
    with runtime.session_factory() as session:
        assert session.scalars(select(LLMUsage.id)).all() == []


def test_fresh_accounts_from_one_address_share_its_hourly_cap(runtime, make_user):
    rt = runtime.with_settings(runtime.settings.replace(llm_max_requests_per_address_per_hour=3))
    school = "203.0.113.7"
    first, second, third = (make_user(f"fresh{i}@example.com") for i in range(3))
    for i, uid in enumerate((first, second, third)):
        _sign_in(runtime, uid, f"fresh{i}@example.com", school)
    _use(rt, first, usage.GRADING, n=2)
    _use(rt, second, usage.TUTOR, n=1)
    with pytest.raises(RateLimited, match="network address has made its 3") as refused:
        usage.reserve(rt, user_id=third, task=usage.GENERATION, units=1)
    assert 3500 < refused.value.retry_after_s <= 3600

    # Other addresses, and learners with no known address, are not held up.
    elsewhere = make_user("elsewhere@example.com")
    _sign_in(runtime, elsewhere, "elsewhere@example.com", "198.51.100.2")
    _use(rt, elsewhere, n=3)
    _use(rt, make_user("local@example.com"), n=3)

    # A deleted account's requests still count for its address.
    account_data.delete_account(runtime, user_id=first)
    with pytest.raises(RateLimited, match="network address"):
        usage.reserve(rt, user_id=second, task=usage.TUTOR, units=1)
    with runtime.session_factory() as session:
        logged = " ".join(session.execute(text("SELECT u::text FROM llm_usage u")).scalars())
        keys = set(
            session.scalars(select(LLMUsage.address_key).where(LLMUsage.address_key.is_not(None)))
        )
    assert school not in logged and "198.51.100.2" not in logged
    assert len(keys) == 2 and all(HEX64.match(k) for k in keys)


def test_a_learner_near_their_limit_leaves_other_learners_untouched(runtime, make_user):
    rt = runtime.with_settings(
        runtime.settings.replace(grading_max_per_hour=1, llm_max_requests_per_day=1)
    )
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    _use(rt, alice, usage.GRADING)
    with pytest.raises(RateLimited):
        usage.reserve(rt, user_id=alice, task=usage.GRADING, units=1)
    _use(rt, bob, usage.GRADING)
    with runtime.session_factory() as session:
        by_user = dict(session.execute(select(LLMUsage.user_id, LLMUsage.account_key)).all())
    assert by_user[alice] != by_user[bob]
