"""A served app that nobody is using does no busy work: its log stays quiet."""

from __future__ import annotations

import re
import time
from collections import Counter

from tests.browser.conftest import signup_and_onboard, wait_for_text

IDLE_S = 20
_STAMP = re.compile(r"^\S+ \S+ ")  # a leading date and time, when the log format has them


def test_idle_app_writes_no_repeating_log_lines(page, app_server):
    signup_and_onboard(page, app_server.url, name="Idle")
    wait_for_text(page, "Start by uploading a PDF")
    before = app_server.log_path.read_text().splitlines()
    time.sleep(IDLE_S)  # a learner reading the page: the app should be silent meanwhile
    idle = app_server.log_path.read_text().splitlines()[len(before) :]
    repeated = {line: n for line, n in Counter(_STAMP.sub("", x) for x in idle).items() if n > 1}
    assert not repeated, f"log lines repeated while idle: {repeated}"
    assert len(idle) <= 2, f"the idle app kept logging: {idle[:10]}"
