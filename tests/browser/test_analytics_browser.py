"""A busy learner opens Analytics in a real browser: the first view, then every chart renders,
no error box."""

from __future__ import annotations

import os
from pathlib import Path

from engine.accounts import get_account
from tests.browser.conftest import ARTIFACTS, signup_and_onboard, wait_for_text, wait_idle
from tests.support.analytics import busy

# Calendar, reviews per day, future due, card counts, intervals, SM-2 easiness, retention,
# hourly, outcomes, calibration, coverage, time per answer, XP, model cost.
EXPECTED_CHARTS = 14


def test_analytics_renders_every_chart(page, app_server):
    email = signup_and_onboard(page, app_server.url, name="Ada")
    sf = app_server.runtime.session_factory
    rt = app_server.runtime
    busy(sf, get_account(rt, email=email).user_id)

    page.get_by_role("link", name="Analytics").click()
    wait_for_text(page, "Workload")  # the Progress view comes first
    wait_idle(page)
    # Streamlit loads its chart component on first use: a chart's frame can come a moment
    # after the run has finished (CI once counted none right then).
    progress_charts = page.locator('[data-testid="stPlotlyChart"]')
    progress_charts.nth(2).wait_for(state="attached")
    assert progress_charts.count() == 3
    page.locator(".st-key-an_view button", has_text="Everything").click()
    wait_for_text(page, "Coverage of your material")
    wait_for_text(page, "Export")
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(EXPECTED_CHARTS - 1).wait_for(state="attached")
    assert charts.count() == EXPECTED_CHARTS
    # Every chart drew its plot (plotly's SVG root), none is an empty frame.
    for i in range(charts.count()):
        charts.nth(i).scroll_into_view_if_needed()
        charts.nth(i).locator(".main-svg").first.wait_for(state="attached")
    wait_idle(page)
    assert page.locator('[data-testid="stException"]').count() == 0
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    # The untrusted material title shows literally: no image was made from it.
    assert page.locator('img[src*="evil"]').count() == 0

    out = Path(os.environ.get("GW_SCREENSHOT_DIR", ARTIFACTS))
    out.mkdir(parents=True, exist_ok=True)
    # Streamlit scrolls inside its own container: a tall window shows the whole page.
    page.set_viewport_size({"width": 1400, "height": 6000})
    wait_idle(page)
    for i in range(charts.count()):  # every chart drawn again at the new size
        charts.nth(i).locator(".main-svg").first.wait_for(state="visible")
    page.screenshot(path=str(out / "analytics_busy_learner.png"), full_page=True)
