"""Accounts against a real PostgreSQL: registration rules, login, throttling, hashes only."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from sqlalchemy import func, select

from engine import accounts
from engine.db.models import LoginAttempt, Profile, User
from engine.errors import AccountLocked, AuthenticationFailed, RegistrationError

PASSWORD = "correct horse battery staple"


def _register(rt, email="ada@example.com", password=PASSWORD, name="Ada"):
    return accounts.register_user(rt, email=email, password=password, display_name=name)


def _login(rt, email="ada@example.com", password=PASSWORD, now=None):
    return accounts.authenticate(rt, email=email, password=password, now=now)


def _count(rt, model) -> int:
    with rt.session_factory() as s:
        return s.scalar(select(func.count()).select_from(model))


def test_register_creates_user_and_profile_with_bcrypt_hash_only(runtime):
    info = _register(runtime)
    assert info.email == "ada@example.com" and info.display_name == "Ada" and not info.onboarded
    with runtime.session_factory() as s:
        user = s.get(User, info.user_id)
        assert user.password_hash.startswith("$2")
        assert PASSWORD not in user.password_hash
        assert accounts.verify_password(PASSWORD, user.password_hash)
        assert s.get(Profile, info.user_id) is not None


def test_duplicate_email_in_any_case_is_refused(runtime):
    _register(runtime)
    with pytest.raises(RegistrationError, match="already exists"):
        _register(runtime, email="  ADA@Example.COM ")
    assert _count(runtime, User) == 1


@pytest.mark.parametrize(
    ("email", "password", "name", "message"),
    [
        ("not-an-email", PASSWORD, "Ada", "valid email"),
        ("ada@example.com", "short pass", "Ada", "at least 12 characters"),
        ("ada@example.com", "aaaaaaaaaaaaaaaa", "Ada", "variety"),
        ("ada@example.com", PASSWORD, "   ", "display name"),
        ("ada@example.com", "ü" * 40, "Ada", "72 bytes"),
    ],
)
def test_invalid_registrations_are_refused_and_write_nothing(
    runtime, email, password, name, message
):
    with pytest.raises(RegistrationError, match=message):
        _register(runtime, email=email, password=password, name=name)
    assert _count(runtime, User) == 0
    assert _count(runtime, Profile) == 0


def test_all_problems_are_reported_at_once(runtime):
    with pytest.raises(RegistrationError) as err:
        _register(runtime, email="nope", password="short", name="")
    assert "valid email" in err.value.user_message
    assert "12 characters" in err.value.user_message
    assert "display name" in err.value.user_message


def test_login_succeeds_case_insensitively(runtime):
    info = _register(runtime)
    assert _login(runtime, email="Ada@EXAMPLE.com").user_id == info.user_id


def test_wrong_password_and_unknown_email_fail_with_the_same_message(runtime):
    _register(runtime)
    with pytest.raises(AuthenticationFailed) as wrong:
        _login(runtime, password="not the password at all")
    with pytest.raises(AuthenticationFailed) as unknown:
        _login(runtime, email="nobody@example.com")
    assert wrong.value.user_message == unknown.value.user_message == "Wrong email or password."


def test_unknown_email_costs_a_bcrypt_check_too(runtime, monkeypatch):
    # bcrypt at its real cost here (the test process uses the lowest elsewhere): the claim is
    # that bcrypt dominates both paths, which noise would swamp at the lowest cost.
    import bcrypt

    monkeypatch.setattr(bcrypt, "gensalt", getattr(bcrypt.gensalt, "func", bcrypt.gensalt))
    accounts.dummy_hash.cache_clear()
    _register(runtime)
    accounts.dummy_hash()  # warm the cached dummy hash, as a running server has

    def timed(email: str) -> float:
        start = time.perf_counter()
        with pytest.raises(AuthenticationFailed):
            _login(runtime, email=email, password="wrong password here")
        return time.perf_counter() - start

    known = min(timed("ada@example.com") for _ in range(3))
    unknown = min(timed(f"ghost{i}@example.com") for i in range(3))
    # bcrypt dominates both paths; an unknown email must not be markedly faster.
    assert unknown > known * 0.5
    accounts.dummy_hash.cache_clear()


def test_lockout_after_repeated_failures_then_recovery(runtime):
    _register(runtime)
    t0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    for i in range(runtime.settings.accounts.login_max_failures):
        with pytest.raises(AuthenticationFailed):
            _login(runtime, password="wrong password!!", now=t0 + dt.timedelta(minutes=i))
    # Even the right password is refused while locked, with the time to wait.
    with pytest.raises(AccountLocked, match="Try again in") as locked:
        _login(runtime, now=t0 + dt.timedelta(minutes=5))
    assert 0 < locked.value.retry_after_s <= 15 * 60
    assert (
        _login(runtime, now=t0 + dt.timedelta(minutes=4 + 15, seconds=1)).email == "ada@example.com"
    )


def test_failures_spread_beyond_the_window_do_not_lock(runtime):
    _register(runtime)
    t0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    for i in range(6):
        with pytest.raises(AuthenticationFailed):
            _login(runtime, password="wrong password!!", now=t0 + dt.timedelta(minutes=4 * i))
    assert _login(runtime, now=t0 + dt.timedelta(minutes=25)).email == "ada@example.com"


def test_unknown_emails_are_throttled_like_known_ones(runtime):
    t0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    for i in range(5):
        with pytest.raises(AuthenticationFailed):
            _login(runtime, email="ghost@example.com", now=t0 + dt.timedelta(seconds=i))
    with pytest.raises(AccountLocked):
        _login(runtime, email="ghost@example.com", now=t0 + dt.timedelta(seconds=10))


def test_lockout_is_per_account(runtime):
    _register(runtime)
    _register(runtime, email="bob@example.com", name="Bob")
    t0 = dt.datetime(2026, 1, 5, 9, 0, tzinfo=dt.UTC)
    for i in range(5):
        with pytest.raises(AuthenticationFailed):
            _login(runtime, password="wrong password!!", now=t0 + dt.timedelta(seconds=i))
    assert (
        _login(runtime, email="bob@example.com", now=t0 + dt.timedelta(seconds=6)).display_name
        == "Bob"
    )


def test_every_attempt_is_recorded_without_the_password(runtime):
    _register(runtime)
    with pytest.raises(AuthenticationFailed):
        _login(runtime, password="wrong password!!")
    _login(runtime)
    with runtime.session_factory() as s:
        rows = s.scalars(select(LoginAttempt).order_by(LoginAttempt.id)).all()
    assert [r.succeeded for r in rows] == [False, True]
    assert all(r.email_normalized == "ada@example.com" for r in rows)
