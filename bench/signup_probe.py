"""How fast one client address can learn which emails are registered: sign-up vs login.

A fresh embedded PostgreSQL holds REGISTERED accounts. One address then sends PROBES sign-ups
(half of them for registered emails), first with the sign-up limits off (the behaviour before
they existed), then with the configured limits; and the same number of logins. For each, the
figures are: answers that tell whether the email is registered, the time they took, and the
sustained rate per minute (a burst rate when nothing stops it; otherwise what the limits let
through per window). Login answers never tell (same message; the mean time for registered and
unknown emails is printed to show the timing does not either).

    python -m bench.signup_probe [--probes 40] [--registered 20]
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from bench._library import bench_runtime
from engine import accounts
from engine.errors import AccountLocked, AuthenticationFailed, RateLimited, RegistrationError

PASSWORD = "benchmark password 123"


def _probe_sign_up(rt, emails: list[str], address: str) -> tuple[int, int, float]:
    """(answers telling registered or not, refused by a limit, seconds)."""
    told = limited = 0
    start = time.perf_counter()
    for email in emails:
        try:
            accounts.register_user(
                rt, email=email, password=PASSWORD, display_name="Probe", client_address=address
            )
            told += 1  # not registered (and an account now exists)
        except RegistrationError:
            told += 1  # registered
        except RateLimited:
            limited += 1
    return told, limited, time.perf_counter() - start


def _probe_login(
    rt, emails: list[str], address: str, known: set[str]
) -> tuple[int, int, float, list[float], list[float]]:
    """(answered, locked, seconds, ms for registered emails, ms for unknown ones)."""
    answered = locked = 0
    times: dict[bool, list[float]] = {True: [], False: []}
    start = time.perf_counter()
    for email in emails:
        t = time.perf_counter()
        try:
            accounts.authenticate(rt, email=email, password="wrong guess!!", client_address=address)
        except AuthenticationFailed:
            answered += 1
            times[email in known].append((time.perf_counter() - t) * 1000)
        except (AccountLocked, RateLimited):
            locked += 1
    return answered, locked, time.perf_counter() - start, times[True], times[False]


def _mean(values: list[float]) -> float:
    return statistics.fmean(values) if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=40)
    parser.add_argument("--registered", type=int, default=20)
    args = parser.parse_args()

    rt = bench_runtime()
    a = rt.settings.accounts
    known = [f"learner{i}@example.com" for i in range(args.registered)]
    for email in known:
        accounts.register_user(
            rt, email=email, password=PASSWORD, display_name="Learner", by_admin=True
        )

    def probes(tag: str) -> list[str]:  # alternating registered and unknown emails
        return [
            known[i // 2 % len(known)] if i % 2 == 0 else f"{tag}{i}@example.com"
            for i in range(args.probes)
        ]

    print(
        f"settings: signup_max_per_address={a.signup_max_per_address} "
        f"signup_max_taken_per_address={a.signup_max_taken_per_address} "
        f"signup_max_global={a.signup_max_global} signup_window_min={a.signup_window_min}; "
        f"login_max_failures_per_address={a.login_max_failures_per_address} "
        f"window+lockout={a.login_failure_window_min}+{a.login_lockout_min} min"
    )

    unlimited = dataclasses.replace(
        rt,
        settings=rt.settings.replace(
            signup_max_per_address=0, signup_max_taken_per_address=0, signup_max_global=0
        ),
    )
    told, limited, secs = _probe_sign_up(unlimited, probes("before"), "198.51.100.1")
    before_per_min = told / secs * 60
    print(
        f"sign-up, no limits (before): {told} of {args.probes} probes told, {limited} "
        f"refused, in {secs:.1f} s -> {before_per_min:.0f} emails/min"
    )

    told, limited, secs = _probe_sign_up(rt, probes("after"), "198.51.100.2")
    after_per_min = told / a.signup_window_min
    print(
        f"sign-up, limited (after): {told} of {args.probes} probes told, {limited} refused, "
        f"in {secs:.1f} s -> at most {told} per {a.signup_window_min} min "
        f"= {after_per_min:.2f} emails/min"
    )

    answered, locked, secs, ms_known, ms_unknown = _probe_login(
        rt, probes("login"), "198.51.100.3", set(known)
    )
    cycle = a.login_failure_window_min + a.login_lockout_min
    print(
        f"login: {answered} of {args.probes} answered, {locked} locked, in {secs:.1f} s; "
        f"answers tell nothing (mean ms registered {_mean(ms_known):.0f} vs unknown "
        f"{_mean(ms_unknown):.0f}); at most {a.login_max_failures_per_address} answers per "
        f"{cycle} min = {a.login_max_failures_per_address / cycle:.2f} attempts/min"
    )
    print(
        f"RESULT probes={args.probes} signup_emails_per_min_before={before_per_min:.0f} "
        f"signup_emails_per_min_after={after_per_min:.2f} login_emails_per_min=0 "
        f"login_attempts_per_min={a.login_max_failures_per_address / cycle:.2f} "
        f"login_ms_registered={_mean(ms_known):.0f} login_ms_unknown={_mean(ms_unknown):.0f}"
    )


if __name__ == "__main__":
    main()
