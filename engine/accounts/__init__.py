"""Accounts: registration, login with throttling, server-side sessions, password changes, and
what the session needs to know of a learner.

Passwords are stored only as bcrypt hashes; sessions only as hashes of their random ids.
"""

from engine.accounts.core import AccountInfo, account_info, get_account
from engine.accounts.credentials import change_password, reset_password
from engine.accounts.devices import device_cookie_name, device_hash, issue_device_token
from engine.accounts.emails import display_email, email_problem, normalise_email
from engine.accounts.keys import cookie_signing_key
from engine.accounts.login import (
    LOGIN_FAILED,
    authenticate,
    check_credentials,
    prune_login_attempts,
)
from engine.accounts.passwords import (
    MAX_PASSWORD_BYTES,
    dummy_hash,
    generate_password,
    hash_password,
    password_problems,
    verify_password,
)
from engine.accounts.registration import (
    SIGNUP_CLOSED_MESSAGES,
    current_signup_mode,
    invitation_problem,
    prune_signup_attempts,
    register_user,
    signup_open,
    validate_registration,
)
from engine.accounts.resets import (
    RESET_UNAVAILABLE,
    prune_password_resets,
    request_password_reset,
    reset_password_with_token,
    reset_problem,
)
from engine.accounts.sessions import (
    SignedIn,
    prune_sessions,
    resume_session,
    revoke_session,
    revoke_user_sessions,
    session_id_from_token,
    sign_token,
    start_session,
)

__all__ = [
    "LOGIN_FAILED",
    "MAX_PASSWORD_BYTES",
    "RESET_UNAVAILABLE",
    "SIGNUP_CLOSED_MESSAGES",
    "AccountInfo",
    "SignedIn",
    "account_info",
    "authenticate",
    "change_password",
    "check_credentials",
    "cookie_signing_key",
    "current_signup_mode",
    "device_cookie_name",
    "device_hash",
    "display_email",
    "dummy_hash",
    "email_problem",
    "generate_password",
    "get_account",
    "hash_password",
    "invitation_problem",
    "issue_device_token",
    "normalise_email",
    "password_problems",
    "prune_login_attempts",
    "prune_password_resets",
    "prune_sessions",
    "prune_signup_attempts",
    "register_user",
    "request_password_reset",
    "reset_password",
    "reset_password_with_token",
    "reset_problem",
    "resume_session",
    "revoke_session",
    "revoke_user_sessions",
    "session_id_from_token",
    "sign_token",
    "signup_open",
    "start_session",
    "validate_registration",
    "verify_password",
]
