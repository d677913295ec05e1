"""Onboarding and profile edits."""

from __future__ import annotations

import datetime as dt

import pytest

from engine import accounts, profiles
from engine.errors import InvalidInput, NotFound

FORM = dict(
    display_name="Ada L.",
    learning_goals="Pass the analysis exam",
    subjects="Real analysis",
    self_level="advanced",
    daily_target=30,
    exam_date=None,
    timezone="Europe/Paris",
)


def test_first_save_completes_onboarding(runtime, make_user):
    uid = make_user(onboarded=False)
    assert not profiles.get_profile(runtime, user_id=uid).onboarded
    view = profiles.save_profile(runtime, user_id=uid, **FORM)
    assert view.onboarded and view.display_name == "Ada L." and view.timezone == "Europe/Paris"
    assert view.daily_target == 30 and view.self_level == "advanced"
    account = accounts.get_account(runtime, email=view.email)
    assert account.onboarded and account.display_name == "Ada L."


def test_profile_edit_keeps_onboarding_and_updates_fields(runtime, make_user):
    uid = make_user()
    exam = dt.date.today() + dt.timedelta(days=40)
    view = profiles.save_profile(
        runtime, user_id=uid, **{**FORM, "exam_date": exam, "daily_target": 5}
    )
    assert view.onboarded and view.exam_date == exam and view.daily_target == 5


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"self_level": "guru"}, "Choose your level"),
        ({"daily_target": 0}, "between 1 and 500"),
        ({"timezone": "Mars/Olympus"}, "time zone"),
        ({"display_name": ""}, "display name"),
        ({"exam_date": dt.date(2000, 1, 1)}, "in the past"),
    ],
)
def test_invalid_profiles_are_refused_and_change_nothing(runtime, make_user, change, message):
    uid = make_user(onboarded=False)
    with pytest.raises(InvalidInput, match=message):
        profiles.save_profile(runtime, user_id=uid, **{**FORM, **change})
    assert not profiles.get_profile(runtime, user_id=uid).onboarded


def test_learners_only_see_their_own_profile(runtime, make_user):
    a = make_user("a@example.com", display_name="Alice")
    b = make_user("b@example.com", display_name="Bob")
    profiles.save_profile(runtime, user_id=a, **{**FORM, "display_name": "Alice"})
    assert profiles.get_profile(runtime, user_id=b).display_name == "Bob"
    with pytest.raises(NotFound):
        profiles.get_profile(runtime, user_id=999_999)


def test_home_summary_starts_empty_and_never_fakes_progress(runtime, make_user):
    uid = make_user()
    summary = profiles.home_summary(runtime, user_id=uid)
    assert summary.materials == 0 and summary.questions == 0
    assert not summary.has_practice
    assert summary.profile.xp == 0 and summary.profile.streak == 0


def test_home_streak_is_zero_after_a_missed_day(runtime, make_user):
    from engine.db.models import Profile

    uid = make_user()
    with runtime.session_factory.begin() as s:
        p = s.get(Profile, uid)
        p.xp, p.streak, p.best_streak = 120, 4, 6
        p.last_activity_date = dt.date(2026, 3, 10)
    same_day = dt.datetime(2026, 3, 10, 20, 0, tzinfo=dt.UTC)
    next_day = dt.datetime(2026, 3, 11, 20, 0, tzinfo=dt.UTC)
    two_days = dt.datetime(2026, 3, 12, 20, 0, tzinfo=dt.UTC)
    summary = lambda now: profiles.home_summary(runtime, user_id=uid, now=now)  # noqa: E731
    assert summary(same_day).streak_now == 4
    assert summary(next_day).streak_now == 4  # still alive until the day ends unanswered
    assert summary(two_days).streak_now == 0
    assert summary(two_days).has_practice and summary(two_days).profile.best_streak == 6


def test_a_zone_the_database_does_not_know_yet_is_refused_with_a_reason(runtime, make_user):
    import zoneinfo

    from sqlalchemy import text

    with runtime.session_factory() as s:
        known = set(s.scalars(text("SELECT name FROM pg_timezone_names")))
    newer = sorted(zoneinfo.available_timezones() - known - {"localtime"})
    if not newer:
        pytest.skip("this PostgreSQL knows every zone Python knows")
    uid = make_user()
    profiles.save_profile(runtime, user_id=uid, **FORM)
    with pytest.raises(InvalidInput, match="too new for this server's database"):
        profiles.save_profile(runtime, user_id=uid, **{**FORM, "timezone": newer[0]})
    assert profiles.get_profile(runtime, user_id=uid).timezone == "Europe/Paris"
