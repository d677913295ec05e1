"""Single sign-on: a provider's identity maps to an account by its verified email (created on
first sign-in when the sign-up mode allows, within the allowed domains, with the role from the
configured claim), an existing account is linked only with its password, an unverified email
is refused, and a sign-out is not undone by the browser's old identity."""

from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from engine.accounts import revoke_user_sessions, start_session
from engine.accounts.sso import (
    UNVERIFIED,
    LinkNeeded,
    identity_from_claims,
    link_identity,
    sso_sign_in,
)
from engine.admin import signup, users
from engine.db.models import AuditEntry, SsoIdentity
from engine.errors import AuthenticationFailed, Forbidden, InvalidInput, RegistrationError

ISSUER = "http://127.0.0.1:9/oidc"
PASSWORD = "correct horse battery staple"  # make_user's


def _identity(sub="kim", email="kim@school.example", verified=True, role_claim=None, **extra):
    claims = {
        "iss": ISSUER,
        "sub": sub,
        "email": email,
        "email_verified": verified,
        "name": "Kim Lee",
        "iat": int(time.time()),
        **extra,
    }
    return identity_from_claims(claims, role_claim=role_claim)


@pytest.fixture
def admin(runtime, make_user) -> int:
    uid = make_user("admin@example.com")
    users.set_role_by_email(runtime, email="admin@example.com", role="admin")
    return uid


def test_first_sign_in_creates_a_learner_and_the_next_finds_it(runtime):
    first = sso_sign_in(runtime, _identity())
    assert (first.email, first.display_name, first.role, first.onboarded) == (
        "kim@school.example",
        "Kim Lee",
        "learner",
        False,
    )
    assert sso_sign_in(runtime, _identity()).user_id == first.user_id
    with runtime.session_factory() as s:
        assert s.scalars(select(SsoIdentity.subject)).all() == ["kim"]
        entry = s.scalar(select(AuditEntry))
    assert (entry.actor, entry.action, entry.target) == (
        "single sign-on",
        "create_user",
        "kim@school.example",
    )


@pytest.mark.parametrize("verified", [False, None, "false"])
def test_an_unverified_email_is_refused_and_nothing_is_created(runtime, verified):
    with pytest.raises(AuthenticationFailed, match="did not confirm your email"):
        sso_sign_in(runtime, _identity(verified=verified))
    with runtime.session_factory() as s:
        assert s.scalars(select(SsoIdentity)).all() == []
    assert UNVERIFIED.startswith("Your sign-in provider")


def test_an_existing_account_is_linked_only_with_its_password(runtime, make_user):
    uid = make_user("kim@school.example")
    with pytest.raises(LinkNeeded):
        sso_sign_in(runtime, _identity())
    with pytest.raises(AuthenticationFailed):
        link_identity(runtime, _identity(), password="not the password at all")
    with pytest.raises(LinkNeeded):  # still not linked
        sso_sign_in(runtime, _identity())
    assert link_identity(runtime, _identity(), password=PASSWORD).user_id == uid
    assert sso_sign_in(runtime, _identity()).user_id == uid


def test_sign_up_mode_and_domains_decide_who_sso_creates(runtime, admin):
    for mode in ("invite", "closed"):
        signup.set_signup_mode(runtime, actor_id=admin, mode=mode)
        with pytest.raises(RegistrationError):
            sso_sign_in(runtime, _identity())
    signup.set_signup_mode(runtime, actor_id=admin, mode="sso")
    assert signup.set_sso_domains(runtime, actor_id=admin, domains=" @School.example, b.org") == [
        "school.example",
        "b.org",
    ]
    with pytest.raises(RegistrationError, match="other.example"):
        sso_sign_in(runtime, _identity(sub="x", email="x@other.example"))
    assert sso_sign_in(runtime, _identity()).email == "kim@school.example"
    with pytest.raises(InvalidInput):
        signup.set_sso_domains(runtime, actor_id=admin, domains="not a domain")
    signup.set_sso_domains(runtime, actor_id=admin, domains="")
    assert sso_sign_in(runtime, _identity(sub="x", email="x@other.example"))
    assert signup.sso_domains(runtime, actor_id=admin) == []


def test_the_role_comes_from_the_configured_claim_when_valid(runtime):
    made = sso_sign_in(runtime, _identity(role_claim="gw_role", gw_role="teacher"))
    assert made.role == "teacher"
    other = sso_sign_in(
        runtime, _identity(sub="o", email="o@school.example", role_claim="gw_role", gw_role="owner")
    )
    assert other.role == "learner"
    ignored = sso_sign_in(
        runtime, _identity(sub="p", email="p@school.example", gw_role="admin")
    )  # no claim configured
    assert ignored.role == "learner"


def test_a_sign_out_needs_a_fresh_provider_sign_in_and_disabled_accounts_stay_out(runtime, admin):
    old = _identity(iat=int(time.time()) - 60)
    account = sso_sign_in(runtime, old)
    start_session(runtime, account=account)
    with runtime.session_factory.begin() as s:
        revoke_user_sessions(s, user_id=account.user_id)
    with pytest.raises(AuthenticationFailed, match="signed out"):
        sso_sign_in(runtime, old)
    fresh = _identity(iat=int(time.time()) + 1)
    assert sso_sign_in(runtime, fresh).user_id == account.user_id
    users.set_disabled(runtime, actor_id=admin, user_id=account.user_id, disabled=True)
    with pytest.raises(AuthenticationFailed, match="disabled"):
        sso_sign_in(runtime, _identity(iat=int(time.time()) + 2))


def test_domains_are_an_admin_setting(runtime, make_user):
    learner = make_user()
    with pytest.raises(Forbidden):
        signup.set_sso_domains(runtime, actor_id=learner, domains="school.example")
    with pytest.raises(Forbidden):
        signup.sso_domains(runtime, actor_id=learner)
