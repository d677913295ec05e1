"""Login floods: parallel guesses cannot outrun the per-email limit, bcrypt never holds a
database connection and runs a bounded number at a time, and a per-client-address limit sits
beside the per-email one. Long passwords and look-alike emails."""

from __future__ import annotations

import dataclasses
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import func, select

from engine import accounts
from engine.accounts import passwords
from engine.bootstrap import create_runtime
from engine.config import Settings
from engine.db.models import LoginAttempt, SignupAttempt
from engine.errors import (
    AccountLocked,
    AuthenticationFailed,
    NotFound,
    RateLimited,
    RegistrationError,
)

PASSWORD = "correct horse battery staple"


def _register(rt, email="ada@example.com"):
    return accounts.register_user(rt, email=email, password=PASSWORD, display_name="Ada")


def _login(rt, email="ada@example.com", password=PASSWORD, settings=None, address=None):
    if settings is not None:  # the same database, other limits
        rt = dataclasses.replace(rt, settings=settings)
    return accounts.authenticate(rt, email=email, password=password, client_address=address)


def _outcome(fn) -> str:
    try:
        fn()
    except (AccountLocked, AuthenticationFailed, RateLimited) as e:
        return type(e).__name__
    return "ok"


@pytest.fixture
def bcrypt_calls(monkeypatch):
    """Counts real bcrypt password checks (the real check runs; `gate`, when set, holds each
    check until it opens, to make checks overlap)."""
    real = passwords.verify_password
    state = {"calls": 0, "running": 0, "max_running": 0, "gate": None}
    lock = threading.Lock()

    def counting(password, password_hash):
        with lock:
            state["calls"] += 1
            state["running"] += 1
            state["max_running"] = max(state["max_running"], state["running"])
        try:
            if state["gate"] is not None:
                state["gate"].wait(timeout=60)
            return real(password, password_hash)
        finally:
            with lock:
                state["running"] -= 1

    monkeypatch.setattr(passwords, "verify_password", counting)
    return state


def _failures(rt) -> int:
    with rt.session_factory() as s:
        return s.scalar(
            select(func.count()).select_from(LoginAttempt).where(LoginAttempt.succeeded.is_(False))
        )


def test_parallel_wrong_guesses_get_at_most_the_limit_of_password_checks(runtime, bcrypt_calls):
    _register(runtime)
    accounts.dummy_hash()
    n = 24
    barrier = threading.Barrier(n)

    def guess(i: int) -> str:
        barrier.wait()
        return _outcome(lambda: _login(runtime, password=f"wrong guess number {i}"))

    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(guess, range(n)))
    limit = runtime.settings.accounts.login_max_failures
    assert bcrypt_calls["calls"] <= limit
    assert outcomes.count("AuthenticationFailed") == limit
    assert outcomes.count("AccountLocked") == n - limit
    assert _failures(runtime) == limit
    with pytest.raises(AccountLocked):  # the owner is locked out too, as designed
        _login(runtime)


def test_a_login_flood_does_not_hold_database_connections(
    settings, db_url, tmp_path, make_user, bcrypt_calls
):
    small = Settings(
        database_url=db_url,
        data_dir=tmp_path / "small",
        db_pool_size=2,
        db_max_overflow=0,
        db_pool_timeout_s=3,
        login_bcrypt_concurrency=2,
    )
    rt = create_runtime(small, migrate=False)
    try:
        make_user("owner@example.com", display_name="Owner")
        accounts.dummy_hash()
        gate = threading.Event()
        bcrypt_calls["gate"] = gate
        with ThreadPoolExecutor(12) as pool:
            futures = [
                pool.submit(
                    _outcome,
                    lambda i=i: _login(rt, email=f"flood{i}@example.com", password="wrong guess!!"),
                )
                for i in range(12)
            ]
            while bcrypt_calls["running"] < 2:
                threading.Event().wait(0.01)
            # Two checks are stuck in bcrypt and ten wait for a slot: other requests still
            # get connections from the two-connection pool.
            assert accounts.get_account(rt, email="owner@example.com").display_name == "Owner"
            with rt.session_factory() as s:
                assert s.scalar(select(func.count()).select_from(LoginAttempt)) >= 2
            gate.set()
            outcomes = [f.result() for f in futures]
        assert outcomes == ["AuthenticationFailed"] * 12
        assert bcrypt_calls["max_running"] == 2
    finally:
        rt.close()


def test_a_login_that_waits_too_long_for_bcrypt_is_busy_and_not_counted(runtime, bcrypt_calls):
    _register(runtime)
    accounts.dummy_hash()
    tight = runtime.settings.replace(login_bcrypt_concurrency=1, login_bcrypt_wait_s=0.2)
    gate = threading.Event()
    bcrypt_calls["gate"] = gate
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(
            _outcome, lambda: _login(runtime, email="other@example.com", settings=tight)
        )
        while bcrypt_calls["running"] < 1:
            threading.Event().wait(0.01)
        with pytest.raises(RateLimited, match="busy"):
            _login(runtime, settings=tight)
        gate.set()
        assert first.result() == "AuthenticationFailed"
    with runtime.session_factory() as s:
        emails = s.scalars(select(LoginAttempt.email_normalized)).all()
    assert emails == ["other@example.com"]  # the busy attempt left no failure behind


def test_failures_from_one_address_lock_that_address_for_every_email(runtime):
    _register(runtime)
    capped = runtime.settings.replace(login_max_failures_per_address=3)
    attacker, neighbour = "198.51.100.9", "203.0.113.5"
    for i in range(3):
        with pytest.raises(AuthenticationFailed):
            _login(
                runtime,
                email=f"victim{i}@example.com",
                password="wrong guess!!",
                settings=capped,
                address=attacker,
            )
    with pytest.raises(AccountLocked, match="from your network"):
        _login(runtime, settings=capped, address=attacker)  # even a right password
    assert _login(runtime, settings=capped, address=neighbour).email == "ada@example.com"
    assert _login(runtime, settings=capped, address=None).email == "ada@example.com"


def test_a_success_does_not_reset_the_address_count(runtime):
    _register(runtime)
    capped = runtime.settings.replace(login_max_failures_per_address=2)
    address = "198.51.100.10"
    with pytest.raises(AuthenticationFailed):
        _login(
            runtime,
            email="x@example.com",
            password="wrong guess!!",
            settings=capped,
            address=address,
        )
    _login(runtime, settings=capped, address=address)
    with pytest.raises(AuthenticationFailed):
        _login(
            runtime,
            email="y@example.com",
            password="wrong guess!!",
            settings=capped,
            address=address,
        )
    with pytest.raises(AccountLocked):
        _login(
            runtime,
            email="z@example.com",
            password="wrong guess!!",
            settings=capped,
            address=address,
        )


@pytest.mark.parametrize("password", ["x" * 10_000, "ü" * 37, PASSWORD + "!" * 60])
def test_an_overlong_password_at_login_is_a_failed_login(runtime, password):
    _register(runtime)
    with pytest.raises(AuthenticationFailed, match="Wrong email or password"):
        _login(runtime, password=password)
    assert _failures(runtime) == 1
    assert passwords.verify_password(password, passwords.dummy_hash()) is False


def test_sign_up_caps_password_length_with_a_clear_message(runtime):
    with pytest.raises(RegistrationError, match="at most 72 bytes"):
        _register_with(runtime, "ada@example.com", "a" * 40 + "b" * 40)


def _register_with(rt, email, password=PASSWORD):
    return accounts.register_user(rt, email=email, password=password, display_name="Someone")


@pytest.mark.parametrize(
    ("registered", "look_alike"),
    [
        ("ada@example.com", "ａｄａ@ｅｘａｍｐｌｅ.ｃｏｍ"),  # fullwidth letters
        ("ada@example.com", "ADA@EXAMPLE.COM"),
        ("admin@example.com", "admın@example.com"),  # dotless i
        ("admin@example.com", "ADMİN@example.com"),  # capital I with dot above
        ("jose@example.com", "jose\u0301@example.com"),  # combining accent
    ],
)
def test_look_alike_emails_are_one_account(runtime, registered, look_alike):
    _register_with(runtime, registered)
    with pytest.raises(RegistrationError, match="already exists"):
        _register_with(runtime, look_alike)


@pytest.mark.parametrize(
    "invisible",
    [
        "ada\u200b@example.com",
        "a\u200dda@example.com",
        "\u00adada@example.com",
        "ada@exa\u2060mple.com",
        "\u202eada@example.com",
    ],
)
def test_emails_with_invisible_characters_are_refused(runtime, invisible):
    with pytest.raises(RegistrationError, match="invisible characters"):
        _register_with(runtime, invisible)


def test_a_look_alike_spelling_logs_in_to_the_one_account_and_shares_its_limit(runtime):
    info = _register(runtime)
    assert _login(runtime, email="ａｄａ@example.com").user_id == info.user_id
    for spelling in [
        "ada\u200b@example.com",
        "ＡＤＡ@example.com",
        "Ada@example.com",
        "a\u200cda@example.com",
        "ada@example.com",
    ]:
        with pytest.raises(AuthenticationFailed):
            _login(runtime, email=spelling, password="wrong guess!!")
    with pytest.raises(AccountLocked):
        _login(runtime)


# --- a login flood on one email with a small pool (issue 20, item 9) ----------------------------


def test_logins_waiting_on_one_email_hold_no_connection_and_end_busy(db_url, tmp_path, make_user):
    """Another login holds the email's lock: eight more on that email wait without taking the
    two pooled connections (other pages still get one) and end in "busy", never a pool
    timeout; once the lock is free the owner signs in."""
    from sqlalchemy import create_engine, text

    from engine.accounts.login import _LOCK_EMAIL

    small = Settings(
        database_url=db_url,
        data_dir=tmp_path / "small",
        db_pool_size=2,
        db_max_overflow=0,
        db_pool_timeout_s=1,
        login_lock_wait_s=3,
    )
    rt = create_runtime(small, migrate=False)
    holder = create_engine(db_url)  # a connection of its own, outside the app's pool
    try:
        make_user("owner@example.com", display_name="Owner", password=PASSWORD)
        accounts.dummy_hash()
        with holder.connect() as conn:
            conn.execute(
                text("SELECT pg_advisory_lock(:ns, hashtext(:key))"),
                {"ns": _LOCK_EMAIL, "key": "owner@example.com"},
            )
            outcomes: list[str] = []

            def attempt() -> str:
                try:
                    _login(rt, email="owner@example.com")
                except (AccountLocked, AuthenticationFailed, RateLimited) as e:
                    return f"{type(e).__name__}: {e.user_message}"
                except Exception as e:  # noqa: BLE001 (a raw pool timeout is the failure shown)
                    return f"raw {type(e).__name__}: {e}"
                return "ok"

            with ThreadPoolExecutor(8) as pool:
                futures = [pool.submit(attempt) for _ in range(8)]
                threading.Event().wait(0.5)
                # The waiting logins leave the pool to other pages.
                assert accounts.get_account(rt, email="owner@example.com") is not None
                outcomes = [f.result() for f in futures]
            conn.execute(text("SELECT pg_advisory_unlock_all()"))
        assert outcomes == [f"RateLimited: {accounts.login.BUSY}"] * 8
        assert _login(rt, email="owner@example.com").email == "owner@example.com"
        assert _failures(rt) == 0  # a busy answer records nothing
    finally:
        holder.dispose()
        rt.close()


# --- the owner's known browser while an attacker hammers the email (issue 20, item 7) ----------


def test_an_attacker_on_an_email_does_not_lock_out_its_owners_known_browser(runtime):
    _register(runtime)
    key = runtime.cookie_key
    device = accounts.issue_device_token("Ada@Example.com", key, settings=runtime.settings)
    limit = runtime.settings.accounts.login_max_failures
    for i in range(limit + 3):  # the attacker from another address, no device cookie
        outcome = _outcome(
            lambda i=i: _login(runtime, password=f"wrong guess {i}", address="198.51.100.66")
        )
        assert outcome == ("AuthenticationFailed" if i < limit else "AccountLocked")
    with pytest.raises(AccountLocked, match="for this account"):  # an untrusted browser
        _login(runtime, address="203.0.113.20")
    # The owner's browser, with the device cookie it got when signing in before:
    info = accounts.authenticate(
        runtime,
        email="ada@example.com",
        password=PASSWORD,
        client_address="203.0.113.20",
        device_token=device,
    )
    assert info.email == "ada@example.com"
    # The cookie is worth nothing for another email, or signed with another key.
    other = accounts.issue_device_token("eve@example.com", key, settings=runtime.settings)
    foreign = accounts.issue_device_token("ada@example.com", "f" * 40, settings=runtime.settings)
    for token in (other, foreign, device + "x"):
        with pytest.raises(AccountLocked, match="for this account"):
            accounts.authenticate(
                runtime, email="ada@example.com", password=PASSWORD, device_token=token
            )


def test_a_device_cookie_gets_its_own_lock_and_skips_the_address_lock(runtime):
    _register(runtime)
    capped = dataclasses.replace(
        runtime, settings=runtime.settings.replace(login_max_failures_per_address=3)
    )
    device = accounts.issue_device_token(
        "ada@example.com", runtime.cookie_key, settings=runtime.settings
    )
    school = "192.0.2.1"  # one address for a whole school, locked by someone else's guesses
    for i in range(3):
        with pytest.raises(AuthenticationFailed):
            _login(capped, email=f"victim{i}@example.com", password="wrong guess!!", address=school)
    with pytest.raises(AccountLocked, match="from your network"):
        _login(capped, address=school)
    assert accounts.authenticate(
        capped,
        email="ada@example.com",
        password=PASSWORD,
        client_address=school,
        device_token=device,
    ).user_id
    # Guessing with a stolen device cookie is limited like any other browser.
    limit = runtime.settings.accounts.login_max_failures
    for _ in range(limit):
        with pytest.raises(AuthenticationFailed):
            accounts.authenticate(
                runtime, email="ada@example.com", password="wrong guess!!", device_token=device
            )
    with pytest.raises(AccountLocked, match="in this browser"):
        accounts.authenticate(
            runtime, email="ada@example.com", password=PASSWORD, device_token=device
        )
    assert _login(runtime).email == "ada@example.com"  # the email's own count is untouched


# --- behind the shipped proxy (issue 20, item 6) ------------------------------------------------


def test_behind_the_shipped_proxy_one_abuser_cannot_lock_out_others(runtime):
    """Every request reaches the app from the proxy's one address; the app reads the header
    docker-compose.yml names, set by deploy/nginx.conf to the browser's address (replacing
    whatever the browser sent), so the abuser's failures lock the abuser only."""
    import re
    from pathlib import Path

    import yaml

    from engine.accounts.addresses import client_address_from

    root = Path(__file__).resolve().parents[2]
    app_env = yaml.safe_load((root / "docker-compose.yml").read_text())["services"]["app-1"][
        "environment"
    ]
    header = app_env.get("GROUNDWORK_CLIENT_ADDRESS_HEADER")
    nginx = (root / "deploy" / "nginx.conf").read_text()
    assert header and re.search(rf"proxy_set_header {header} \$remote_addr;", nginx)
    settings = runtime.settings.replace(
        client_address_header=header, login_max_failures_per_address=3
    )
    proxy = "172.18.0.9"  # the nginx container: the peer of every request

    def through_proxy(browser_address: str, sent: dict[str, str] | None = None) -> str | None:
        headers = {**(sent or {}), header: browser_address}  # nginx overwrites the header
        return client_address_from(headers, proxy, settings.accounts.client_address_header)

    _register(runtime)
    for i in range(3):
        with pytest.raises(AuthenticationFailed):
            _login(
                runtime,
                email=f"made-up{i}@example.com",
                password="wrong guess!!",
                settings=settings,
                address=through_proxy("198.51.100.23"),
            )
    with pytest.raises(AccountLocked, match="from your network"):
        _login(
            runtime,
            email="made-up9@example.com",
            password="wrong guess!!",
            settings=settings,
            address=through_proxy("198.51.100.23", {header: "10.0.0.1"}),
        )
    assert (
        _login(runtime, settings=settings, address=through_proxy("203.0.113.44")).email
        == "ada@example.com"
    )


# --- sign-up answers "is this email registered?" slowly (issue 20, item 8) ---------------------


def _sign_up(rt, email, *, address, settings=None):
    if settings is not None:
        rt = dataclasses.replace(rt, settings=settings)
    return accounts.register_user(
        rt, email=email, password=PASSWORD, display_name="Probe", client_address=address
    )


def test_one_address_can_ask_sign_up_about_only_a_few_registered_emails(runtime, monkeypatch):
    for i in range(8):
        accounts.register_user(
            runtime,
            email=f"known{i}@example.com",
            password=PASSWORD,
            display_name="Known",
            by_admin=True,
        )
    hashes = []
    real_hash = passwords.hash_password
    monkeypatch.setattr(passwords, "hash_password", lambda p: hashes.append(1) or real_hash(p))
    limits = runtime.settings.replace(signup_max_taken_per_address=3, signup_max_per_address=6)
    prober, neighbour = "198.51.100.77", "203.0.113.8"
    outcomes = []
    for i in range(8):
        try:
            _sign_up(runtime, f"known{i}@example.com", address=prober, settings=limits)
        except (RegistrationError, RateLimited) as e:
            outcomes.append(e.user_message)
    assert outcomes[:3] == ["An account with this email already exists. Log in instead."] * 3
    assert outcomes[3:] == ["Too many sign-ups from your network. Try again in 60 minutes."] * 5
    assert len(hashes) == 3  # a refused flood costs no bcrypt work
    assert _sign_up(runtime, "new@example.com", address=neighbour, settings=limits).user_id
    with runtime.session_factory() as s:
        rows = s.execute(
            select(SignupAttempt.client_address, SignupAttempt.taken).order_by(SignupAttempt.id)
        ).all()
    assert rows == [(prober, True)] * 3 + [(neighbour, False)]  # no email is kept


def test_sign_ups_are_limited_per_address_and_server_wide(runtime):
    limits = runtime.settings.replace(signup_max_per_address=2, signup_max_global=3)
    _sign_up(runtime, "a1@example.com", address="192.0.2.10", settings=limits)
    _sign_up(runtime, "a2@example.com", address="192.0.2.10", settings=limits)
    with pytest.raises(RateLimited, match="from your network"):
        _sign_up(runtime, "a3@example.com", address="192.0.2.10", settings=limits)
    _sign_up(runtime, "b1@example.com", address="192.0.2.11", settings=limits)
    with pytest.raises(RateLimited, match="no more new accounts for now"):
        _sign_up(runtime, "c1@example.com", address="192.0.2.12", settings=limits)
    # The operator's accounts are not limited.
    assert accounts.register_user(
        dataclasses.replace(runtime, settings=limits),
        email="d1@example.com",
        password=PASSWORD,
        display_name="Dee",
        by_admin=True,
    ).user_id
    with pytest.raises(NotFound):
        accounts.get_account(runtime, email="a3@example.com")


def test_parallel_sign_ups_from_one_address_cannot_outrun_the_limit(runtime):
    limits = dataclasses.replace(
        runtime, settings=runtime.settings.replace(signup_max_per_address=3)
    )
    n = 10
    barrier = threading.Barrier(n)

    def sign_up(i: int) -> str:
        barrier.wait()
        try:
            _sign_up(limits, f"p{i}@example.com", address="192.0.2.50")
        except RateLimited:
            return "limited"
        return "ok"

    with ThreadPoolExecutor(n) as pool:
        outcomes = list(pool.map(sign_up, range(n)))
    assert outcomes.count("ok") == 3 and outcomes.count("limited") == n - 3
