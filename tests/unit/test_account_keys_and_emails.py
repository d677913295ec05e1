"""Pure parts of accounts: email keys, the Secure decision for the cookie, signed tokens."""

from __future__ import annotations

import datetime as dt

import pytest

from engine.accounts import email_problem, normalise_email, session_id_from_token, sign_token
from ui.auth import cookie_secure

KEY = "k" * 40


@pytest.mark.parametrize(
    ("email", "key"),
    [
        (" Ada@Example.COM ", "ada@example.com"),
        ("ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ", "ada@example.com"),
        ("admın@example.com", "admin@example.com"),
        ("ADMİN@example.com", "admin@example.com"),
        ("ada\u200b@exam\u200dple.com", "ada@example.com"),
        ("STRASSE@example.com", "strasse@example.com"),
        ("straße@example.com", "strasse@example.com"),
    ],
)
def test_email_keys_fold_look_alikes(email, key):
    assert normalise_email(email) == key


@pytest.mark.parametrize(
    ("email", "problem"),
    [
        ("ada@example.com", None),
        ("ａｄａ@example.com", None),
        ("ada\u200b@example.com", "invisible"),
        ("ada\u202e@example.com", "invisible"),
        ("ada@example", "valid email"),
        ("a" * 320 + "@example.com", "valid email"),
    ],
)
def test_email_problems(email, problem):
    found = email_problem(email)
    assert (found is None) if problem is None else (problem in found)


@pytest.mark.parametrize(
    ("setting", "url", "secure"),
    [
        ("auto", "https://study.example.org/", True),
        ("auto", "HTTPS://study.example.org/", True),
        ("auto", "http://192.168.1.5:8501/", False),
        ("auto", None, False),
        ("always", "http://localhost:8501/", True),
        ("never", "https://study.example.org/", False),
    ],
)
def test_cookie_is_secure_on_https_or_when_told(setting, url, secure):
    assert cookie_secure(setting, url) is secure


def test_a_token_names_its_session_only_under_its_own_key():
    future = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    token = sign_token("session-id-1", future, KEY)
    assert session_id_from_token(token, KEY) == "session-id-1"
    assert session_id_from_token(token, "x" * 40) is None
    flipped = "A" if token[-10] != "A" else "B"  # inside the signature, all 6 bits are data
    tampered = token[:-10] + flipped + token[-9:]
    assert session_id_from_token(tampered, KEY) is None
    past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=5)
    assert session_id_from_token(sign_token("session-id-1", past, KEY), KEY) is None


def test_signing_refuses_a_short_key():
    with pytest.raises(ValueError):
        sign_token("s", dt.datetime.now(dt.UTC), "short")
