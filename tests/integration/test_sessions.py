"""The "stay signed in" cookie: a per-install key (no built-in one), a signed random session id,
and sessions kept in PostgreSQL that logout, password change and reset revoke."""

from __future__ import annotations

import datetime as dt
import stat

import jwt
import pytest
from sqlalchemy import select

from engine import accounts
from engine.accounts.keys import cookie_signing_key, key_file
from engine.config import Settings
from engine.db.models import AuthSession
from engine.errors import AuthenticationFailed, ConfigurationError, InvalidInput

PASSWORD = "correct horse battery staple"
# The constant the app used to sign cookies with when no key was configured.
OLD_PUBLIC_KEY = "groundwork-development-cookie-key-change-me-0123456789"


def _account(runtime, email="ada@example.com"):
    return accounts.register_user(runtime, email=email, password=PASSWORD, display_name="Ada")


def _start(runtime, account, **kw):
    return accounts.start_session(runtime, account=account, **kw)


def _restore(runtime, token):
    sid = accounts.session_id_from_token(token, runtime.cookie_key)
    return None if sid is None else accounts.resume_session(runtime, session_id=sid)


def test_first_start_generates_a_private_key_file_and_reuses_it(tmp_path):
    settings = Settings(data_dir=tmp_path / "data")
    key = cookie_signing_key(settings)
    path = key_file(settings)
    assert len(key) >= 32
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert cookie_signing_key(settings) == key  # the next start reads the same key


def test_a_key_file_readable_by_others_is_restricted(tmp_path):
    settings = Settings(data_dir=tmp_path)
    cookie_signing_key(settings)
    key_file(settings).chmod(0o644)
    cookie_signing_key(settings)
    assert stat.S_IMODE(key_file(settings).stat().st_mode) == 0o600


def test_a_damaged_key_file_is_refused_with_a_clear_message(tmp_path):
    settings = Settings(data_dir=tmp_path)
    key_file(settings).write_text("short\n")
    key_file(settings).chmod(0o600)
    with pytest.raises(ConfigurationError, match="damaged"):
        cookie_signing_key(settings)


def test_two_fresh_installs_never_accept_each_others_cookies(runtime, tmp_path):
    other_key = cookie_signing_key(Settings(data_dir=tmp_path / "other-install"))
    assert other_key != runtime.cookie_key
    signed = _start(runtime, _account(runtime))
    assert _restore(runtime, signed.token).email == "ada@example.com"
    assert accounts.session_id_from_token(signed.token, other_key) is None
    # The same session id signed by the other install is refused here.
    forged = accounts.sign_token(signed.session_id, signed.expires_at, other_key)
    assert _restore(runtime, forged) is None


def test_cookies_signed_with_the_old_public_key_are_refused(runtime):
    _account(runtime)
    exp = (dt.datetime.now() + dt.timedelta(days=1)).timestamp()
    old_style = jwt.encode(
        {"username": "ada@example.com", "exp_date": exp}, OLD_PUBLIC_KEY, algorithm="HS256"
    )
    assert _restore(runtime, old_style) is None


@pytest.mark.parametrize("token", ["", "garbage", "a.b.c", "x" * 10_000])
def test_malformed_cookies_are_refused(runtime, token):
    assert accounts.session_id_from_token(token, runtime.cookie_key) is None


def test_a_validly_signed_cookie_for_an_unknown_session_is_refused(runtime):
    _account(runtime)
    future = dt.datetime.now(dt.UTC) + dt.timedelta(days=1)
    assert _restore(runtime, accounts.sign_token("made-up-id", future, runtime.cookie_key)) is None


def test_only_the_hash_of_the_session_id_is_stored(runtime):
    signed = _start(runtime, _account(runtime), client_address="203.0.113.7")
    with runtime.session_factory() as s:
        row = s.scalars(select(AuthSession)).one()
    assert signed.session_id not in row.token_hash and len(row.token_hash) == 64
    assert row.client_address == "203.0.113.7"


def test_logout_revokes_the_session_so_a_copied_cookie_stops_working(runtime):
    account = _account(runtime)
    signed = _start(runtime, account)
    copy = signed.token
    accounts.revoke_session(runtime, session_id=signed.session_id)
    assert _restore(runtime, copy) is None
    # A new login gets a new session; the old cookie stays dead.
    again = _start(runtime, account)
    assert _restore(runtime, again.token) is not None and _restore(runtime, copy) is None


def test_an_expired_session_is_refused_even_with_a_valid_signature(runtime):
    account = _account(runtime)
    past = dt.datetime.now(dt.UTC) - dt.timedelta(days=30)
    signed = _start(runtime, account, now=past)
    assert _restore(runtime, signed.token) is None  # the token's own exp has passed too
    fresh_token = accounts.sign_token(
        signed.session_id, dt.datetime.now(dt.UTC) + dt.timedelta(days=1), runtime.cookie_key
    )
    assert _restore(runtime, fresh_token) is None  # the row has expired


def test_password_change_revokes_other_sessions_and_keeps_this_one(runtime):
    account = _account(runtime)
    here, laptop, phone = (_start(runtime, account) for _ in range(3))
    ended = accounts.change_password(
        runtime,
        user_id=account.user_id,
        current_password=PASSWORD,
        new_password="a brand new passphrase 7",
        keep_session_id=here.session_id,
    )
    assert ended == 2
    assert _restore(runtime, here.token) is not None
    assert _restore(runtime, laptop.token) is None and _restore(runtime, phone.token) is None
    with pytest.raises(AuthenticationFailed):
        accounts.authenticate(runtime, email="ada@example.com", password=PASSWORD)
    assert (
        accounts.authenticate(
            runtime, email="ada@example.com", password="a brand new passphrase 7"
        ).user_id
        == account.user_id
    )


def test_password_change_needs_the_current_password_and_a_valid_new_one(runtime):
    account = _account(runtime)
    signed = _start(runtime, account)
    change = dict(user_id=account.user_id, keep_session_id=signed.session_id)
    with pytest.raises(AuthenticationFailed, match="current password"):
        accounts.change_password(
            runtime,
            current_password="not it at all!",
            new_password="a brand new passphrase 7",
            **change,
        )
    with pytest.raises(InvalidInput, match="at least 12"):
        accounts.change_password(runtime, current_password=PASSWORD, new_password="short", **change)
    with pytest.raises(InvalidInput, match="differs"):
        accounts.change_password(
            runtime, current_password=PASSWORD, new_password=PASSWORD, **change
        )
    assert accounts.authenticate(runtime, email="ada@example.com", password=PASSWORD)


def test_operator_reset_revokes_every_session(runtime):
    account = _account(runtime)
    one, two = _start(runtime, account), _start(runtime, account)
    uid = accounts.reset_password(
        runtime, email="ADA@example.com", new_password="set by the operator 42"
    )
    assert uid == account.user_id
    assert _restore(runtime, one.token) is None and _restore(runtime, two.token) is None


def test_sessions_are_per_learner(runtime):
    ada = _account(runtime)
    bob = _account(runtime, email="bob@example.com")
    ada_session, bob_session = _start(runtime, ada), _start(runtime, bob)
    accounts.change_password(
        runtime, user_id=ada.user_id, current_password=PASSWORD, new_password="another passphrase 9"
    )
    assert _restore(runtime, ada_session.token) is None
    assert _restore(runtime, bob_session.token).email == "bob@example.com"


def test_ended_sessions_are_pruned(runtime):
    account = _account(runtime)
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    old = _start(runtime, account, now=long_ago)
    accounts.revoke_session(runtime, session_id=old.session_id, now=long_ago)
    live = _start(runtime, account)  # starting a session drops the learner's long-ended ones
    with runtime.session_factory() as s:
        assert s.scalars(select(AuthSession.token_hash)).all() == [
            accounts.sessions._digest(live.session_id)
        ]
    removed = accounts.prune_sessions(
        runtime,
        older_than=dt.timedelta(days=1),
        now=dt.datetime.now(dt.UTC) + dt.timedelta(days=30),
    )
    assert removed == 1
