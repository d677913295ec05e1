"""Sign-in password checks run at a lower CPU priority than the request that asked for them, so
a burst of sign-ins slows sign-ins rather than the answers of learners already studying."""

from __future__ import annotations

import os
import sys
import threading

import pytest

from engine.accounts import passwords
from engine.config import Settings


@pytest.mark.skipif(
    sys.platform != "linux", reason="only Linux gives each thread its own CPU priority"
)
def test_password_checks_run_at_a_lower_cpu_priority_than_the_caller(monkeypatch, tmp_path):
    seen = {}

    def spy(password, password_hash):
        seen["nice"] = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
        seen["thread"] = threading.current_thread().name
        return password == "right"

    monkeypatch.setattr(passwords, "verify_password", spy)
    settings = Settings(data_dir=tmp_path, login_bcrypt_concurrency=3)
    assert passwords.checked_password("right", "$2b$stored", settings) is True
    assert passwords.checked_password("wrong", "$2b$stored", settings) is False
    caller = os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
    assert seen["thread"].startswith("password-check")
    assert seen["nice"] == min(19, caller + passwords.CHECK_NICENESS)
    assert caller == os.getpriority(os.PRIO_PROCESS, threading.get_native_id())
