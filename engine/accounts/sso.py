"""Single sign-on with OpenID Connect: mapping a provider's identity to an account.

Streamlit's `st.login` does the OpenID Connect flow (configured in `.streamlit/secrets.toml`,
`[auth]`); the page hands the identity token's claims here. An identity (issuer + subject)
already linked signs in to its account. Otherwise its email must be verified by the provider:
an account with that email is linked only after the learner confirms with its password
(`link_identity`); with no such account, one is created when the sign-up mode is 'open' or
'sso' and the email's domain is allowed, with the role from the configured claim if any.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from engine import server_settings
from engine.accounts.core import AccountInfo, account_info, user_id_for_email
from engine.accounts.emails import display_email, email_problem, normalise_email
from engine.accounts.login import check_credentials
from engine.accounts.passwords import generate_password, hash_password
from engine.accounts.registration import SIGNUP_CLOSED_MESSAGES
from engine.config import Settings
from engine.db.models import AuditEntry, AuthSession, Profile, SsoIdentity, User
from engine.db.models.accounts import ROLES
from engine.errors import AuthenticationFailed, EngineError, RegistrationError

if TYPE_CHECKING:
    from engine.runtime import Runtime

log = logging.getLogger(__name__)

SSO_ACTOR = "single sign-on"
SSO_DOMAINS = "sso_domains"
UNVERIFIED = (
    "Your sign-in provider did not confirm your email address, so it cannot be used "
    "here. Confirm it with the provider, or log in with your password."
)
CANNOT_SIGN_IN = "This account cannot sign in (it is disabled or being deleted)."
SIGNED_OUT = "You were signed out. Sign in with your provider again."


@dataclass(frozen=True)
class Identity:
    """Who the provider says signed in (from the ID token's claims)."""

    issuer: str
    subject: str
    email: str | None
    email_verified: bool
    name: str | None
    role: str | None  # the configured role claim's value, if any
    issued_at: dt.datetime | None = None  # the ID token's `iat`


class LinkNeeded(EngineError):
    """An account has this email but is not linked to the identity yet: the learner confirms
    with the account's password (`link_identity`)."""

    def __init__(self, email: str) -> None:
        super().__init__(
            f"An account with the email {email} already exists. Enter its password "
            "once to sign in with single sign-on from now on."
        )
        self.email = email


def identity_from_claims(claims: Mapping[str, Any], *, role_claim: str | None) -> Identity:
    """The identity in an ID token's claims (`st.user`). `email_verified` counts only when the
    provider says so explicitly (true or "true")."""
    verified = claims.get("email_verified")
    role = claims.get(role_claim) if role_claim else None
    email = claims.get("email")
    name = claims.get("name")
    return Identity(
        issuer=str(claims.get("iss") or ""),
        subject=str(claims.get("sub") or ""),
        email=email if isinstance(email, str) else None,
        email_verified=verified is True
        or (isinstance(verified, str) and verified.lower() == "true"),
        name=name if isinstance(name, str) else None,
        role=role if isinstance(role, str) else None,
        issued_at=_timestamp(claims.get("iat")),
    )


def _timestamp(value: Any) -> dt.datetime | None:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    return None


def _signed_out_since(session: Session, user_id: int, identity: Identity) -> bool:
    """Whether one of the account's sessions ended (logout, sign out everywhere, password
    change) after the provider issued this identity: the browser's identity cookie then
    outlived a sign-out, and only a fresh sign-in at the provider counts."""
    last = session.scalar(
        select(func.max(AuthSession.revoked_at)).where(AuthSession.user_id == user_id)
    )
    return last is not None and (identity.issued_at is None or identity.issued_at <= last)


def allowed_domains(session: Session) -> list[str]:
    """Email domains SSO may create accounts for (empty: any), set by an admin."""
    value = server_settings.get_value(session, SSO_DOMAINS) or ""
    return [d for d in (p.strip().lower().lstrip("@") for p in value.split(",")) if d]


def _linked(session: Session, identity: Identity) -> int | None:
    return session.scalar(
        select(SsoIdentity.user_id).where(
            SsoIdentity.issuer == identity.issuer[:300],
            SsoIdentity.subject == identity.subject[:255],
        )
    )


def _checked(identity: Identity) -> str:
    if not identity.issuer or not identity.subject:
        raise AuthenticationFailed("The sign-in provider's answer was incomplete. Try again.")
    if not identity.email or not identity.email_verified:
        raise AuthenticationFailed(UNVERIFIED)
    if (problem := email_problem(identity.email)) is not None:
        raise AuthenticationFailed(problem)
    return identity.email


def sso_sign_in(rt: Runtime, identity: Identity) -> AccountInfo:
    """See `_sign_in`; a first sign-in racing another for the same identity (two tabs) gets
    the account the other created."""
    try:
        return _sign_in(rt, identity)
    except IntegrityError:
        return _sign_in(rt, identity)


def _sign_in(rt: Runtime, identity: Identity) -> AccountInfo:
    """The account for a provider's identity, creating it when the sign-up mode allows.

    Raises:
        AuthenticationFailed: the email is not verified, or the account cannot sign in.
        LinkNeeded: an unlinked account has this email (confirm with its password).
        RegistrationError: no account, and the sign-up mode or the domain allows none.
    """
    email = _checked(identity)
    normalised = normalise_email(email)
    # The password of an SSO account is random and never shown (an admin's temporary password
    # lets its owner log in with one too); hashed before the transaction.
    password_hash = hash_password(generate_password())
    with rt.session_factory.begin() as session:
        linked = _linked(session, identity)
        if linked is not None:
            info = account_info(session, linked)
            if info is None:
                raise AuthenticationFailed(CANNOT_SIGN_IN)
            if _signed_out_since(session, linked, identity):
                raise AuthenticationFailed(SIGNED_OUT)
            return info
        if user_id_for_email(session, email) is not None:
            raise LinkNeeded(display_email(email))
        _check_may_create(session, rt.settings, normalised)
        role = identity.role if identity.role in ROLES else "learner"
        name = (identity.name or email.split("@")[0]).strip()[:80] or "Learner"
        user = User(
            email=display_email(email),
            email_normalized=normalised,
            password_hash=password_hash,
            display_name=name,
            role=role,
        )
        session.add(user)
        session.flush()
        session.add(Profile(user_id=user.id))
        session.add(
            SsoIdentity(
                issuer=identity.issuer[:300], subject=identity.subject[:255], user_id=user.id
            )
        )
        session.add(
            AuditEntry(
                actor=SSO_ACTOR,
                action="create_user",
                target_user_id=user.id,
                target=user.email,
                detail=f"role {role}",
            )
        )
        info = AccountInfo(user.id, user.email, user.display_name, onboarded=False, role=role)
    log.info("account created by single sign-on", extra={"user_id": info.user_id})
    return info


def _check_may_create(session: Session, settings: Settings, normalised: str) -> None:
    """RegistrationError unless the sign-up mode and the allowed domains let single sign-on
    create an account for this (normalised) email."""
    mode = server_settings.signup_mode(session, settings)
    if mode not in ("open", "sso"):
        raise RegistrationError(SIGNUP_CLOSED_MESSAGES[mode])
    domains = allowed_domains(session)
    domain = normalised.rsplit("@", 1)[-1]
    if domains and domain not in domains:
        raise RegistrationError(
            f"Accounts for {domain} addresses cannot be created on this server."
        )


def link_identity(
    rt: Runtime,
    identity: Identity,
    *,
    password: str,
    client_address: str | None = None,
    now: dt.datetime | None = None,
) -> AccountInfo:
    """Link the identity to the account with its (verified) email after checking the account's
    password (throttled like a login).

    Raises:
        AuthenticationFailed: wrong password, unverified email, or the account cannot sign in.
        AccountLocked, RateLimited: as for a login.
    """
    email = _checked(identity)
    user_id = check_credentials(
        rt, email=email, password=password, client_address=client_address, now=now
    )
    if user_id is None:
        raise AuthenticationFailed("That password is not right.")
    with rt.session_factory.begin() as session:
        if _linked(session, identity) is None:
            session.add(
                SsoIdentity(
                    issuer=identity.issuer[:300], subject=identity.subject[:255], user_id=user_id
                )
            )
        info = account_info(session, user_id)
    if info is None:
        raise AuthenticationFailed(CANNOT_SIGN_IN)
    log.info("single sign-on identity linked", extra={"user_id": user_id})
    return info
