"""Passwords: bcrypt hashes only, the rules a new password follows, and a bound on how many
bcrypt checks run at once in this process (a login flood queues instead of taking every CPU).

Sign-in checks run on a small pool of threads at a lower CPU priority (Linux: threads have
their own nice value), so a class signing in at once slows the sign-ins, not the answers and
searches of learners already studying. Job worker processes yield more (`engine.bootstrap`),
so sign-ins still come before background work."""

from __future__ import annotations

import logging
import os
import secrets
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import TypeVar

import bcrypt

from engine.config import Settings
from engine.errors import RateLimited

T = TypeVar("T")

log = logging.getLogger(__name__)

MAX_PASSWORD_BYTES = 72  # bcrypt's limit; longer passwords are refused, never truncated
# The bound on concurrent bcrypt work belongs to the process, not to a runtime (every runtime
# of the process shares the CPU it protects): one semaphore and one pool of checking threads
# per configured size (`login_bcrypt_concurrency`), kept for the life of the process.
_semaphores: dict[int, threading.BoundedSemaphore] = {}
_checker_pools: dict[int, ThreadPoolExecutor] = {}
_semaphores_lock = threading.Lock()


def hash_password(password: str) -> str:
    return bcrypt.hashpw(password.encode("utf-8"), bcrypt.gensalt()).decode("ascii")


def verify_password(password: str, password_hash: str) -> bool:
    """True when `password` matches; a password bcrypt cannot take (over 72 bytes) is simply
    wrong, after the same amount of work as any other check."""
    encoded = password.encode("utf-8")
    if len(encoded) > MAX_PASSWORD_BYTES:
        bcrypt.checkpw(b"too long to be anyone's password", password_hash.encode("ascii"))
        return False
    return bcrypt.checkpw(encoded, password_hash.encode("ascii"))


@lru_cache(maxsize=1)
def dummy_hash() -> str:
    # Same cost as real hashes, so an unknown email costs the same time as a wrong password.
    return hash_password("groundwork-timing-equaliser")


def generate_password() -> str:
    """A random password that passes the rules (24 URL-safe characters, 144 bits)."""
    return secrets.token_urlsafe(18)


def password_problems(password: str, settings: Settings) -> list[str]:
    """Why a new password cannot be used (empty when it can)."""
    if len(password) < settings.accounts.password_min_length:
        return [
            f"Choose a password of at least {settings.accounts.password_min_length} characters."
        ]
    if len(password.encode("utf-8")) > MAX_PASSWORD_BYTES:
        return [
            f"Choose a password of at most {MAX_PASSWORD_BYTES} bytes: that is "
            f"{MAX_PASSWORD_BYTES} plain letters or digits, fewer with accented letters "
            "or emoji."
        ]
    if password.strip() == "" or len(set(password)) < 4:
        return ["Choose a password with more variety than that."]
    return []


def _semaphore(size: int) -> threading.BoundedSemaphore:
    with _semaphores_lock:
        if size not in _semaphores:
            _semaphores[size] = threading.BoundedSemaphore(size)
        return _semaphores[size]


CHECK_NICENESS = 5  # added to the process's nice value for the threads that check passwords


def _lower_priority() -> None:
    if sys.platform != "linux":
        return  # elsewhere the nice value belongs to the whole process
    tid = threading.get_native_id()
    try:
        os.setpriority(
            os.PRIO_PROCESS, tid, min(19, os.getpriority(os.PRIO_PROCESS, tid) + CHECK_NICENESS)
        )
    except OSError as e:
        log.warning("password checks keep normal CPU priority: %s", e)


def _checkers(size: int) -> ThreadPoolExecutor:
    with _semaphores_lock:
        if size not in _checker_pools:
            _checker_pools[size] = ThreadPoolExecutor(
                size, thread_name_prefix="password-check", initializer=_lower_priority
            )
        return _checker_pools[size]


def _bounded(settings: Settings, work: Callable[..., T], *args: str) -> T:
    """Run bcrypt `work` under this process's bound on concurrent bcrypt work (sign-ups and
    logins share it, so a flood of either queues).

    Raises:
        RateLimited: no slot came free within `login_bcrypt_wait_s`.
    """
    slots = _semaphore(settings.accounts.login_bcrypt_concurrency)
    if not slots.acquire(timeout=settings.accounts.login_bcrypt_wait_s):
        raise RateLimited(
            "The server is busy checking other logins. Try again in a moment.", retry_after_s=5
        )
    try:
        return _checkers(settings.accounts.login_bcrypt_concurrency).submit(work, *args).result()
    finally:
        slots.release()


def checked_hash(password: str, settings: Settings) -> str:
    """`hash_password` under the same bound as `checked_password`.

    Raises:
        RateLimited: no slot came free within `login_bcrypt_wait_s`.
    """
    return _bounded(settings, hash_password, password)


def checked_password(password: str, password_hash: str, settings: Settings) -> bool:
    """`verify_password` under this process's bound on concurrent bcrypt checks.

    Never call it while holding a database connection: it may wait for a free slot.

    Raises:
        RateLimited: no slot came free within `login_bcrypt_wait_s`.
    """
    return _bounded(settings, verify_password, password, password_hash)
