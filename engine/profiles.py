"""Learner profiles: onboarding answers, later edits, and the figures Home shows."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, TypedDict, Unpack

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from engine.db.models import Material, Profile, Question, User
from engine.db.models.accounts import SELF_LEVELS
from engine.errors import InvalidInput, NotFound
from engine.scoring.xp import Streak, current_streak

if TYPE_CHECKING:
    from engine.runtime import Runtime

MAX_TEXT = 2000


@dataclass(frozen=True)
class ProfileView:
    user_id: int
    email: str
    display_name: str
    learning_goals: str
    subjects: str
    self_level: str | None
    daily_target: int
    exam_date: dt.date | None
    timezone: str
    onboarded: bool
    scheduler: str
    xp: int
    level: int
    streak: int
    best_streak: int
    last_activity_date: dt.date | None


@dataclass(frozen=True)
class HomeSummary:
    profile: ProfileView
    materials: int
    questions: int
    has_practice: bool
    # The streak as it stands today in the learner's time zone (the stored one only changes
    # when they answer, so it would still show a streak broken by missed days).
    streak_now: int


@lru_cache(maxsize=1)
def time_zones() -> list[str]:
    """Every IANA time zone name this system knows, sorted, for the pickers."""
    return sorted(zoneinfo.available_timezones())


def _view(user: User, profile: Profile) -> ProfileView:
    return ProfileView(
        user_id=user.id,
        email=user.email,
        display_name=user.display_name,
        learning_goals=profile.learning_goals,
        subjects=profile.subjects,
        self_level=profile.self_level,
        daily_target=profile.daily_target,
        exam_date=profile.exam_date,
        timezone=profile.timezone,
        onboarded=profile.onboarded_at is not None,
        scheduler=profile.scheduler,
        xp=profile.xp,
        level=profile.level,
        streak=profile.streak,
        best_streak=profile.best_streak,
        last_activity_date=profile.last_activity_date,
    )


def get_profile(rt: Runtime, *, user_id: int) -> ProfileView:
    """Raises NotFound when the account is gone."""
    with rt.session_factory() as session:
        return profile_view(session, user_id)


def profile_view(session: Session, user_id: int) -> ProfileView:
    """`get_profile` inside the caller's unit of work. Raises NotFound when the account is
    gone."""
    row = session.execute(
        select(User, Profile).join(Profile, Profile.user_id == User.id).where(User.id == user_id)
    ).first()
    if row is None:
        raise NotFound("Your account could not be found. Please log in again.")
    return _view(*row)


class ProfileForm(TypedDict):
    """What the onboarding and Profile forms send."""

    display_name: str
    learning_goals: str
    subjects: str
    self_level: str | None
    daily_target: int
    exam_date: dt.date | None
    timezone: str


def validate_profile(form: ProfileForm, *, today: dt.date) -> list[str]:
    """Every problem with the form, in the words the page shows (empty when it is valid)."""
    problems: list[str] = []
    display_name = form["display_name"].strip()
    if not display_name:
        problems.append("Enter a display name.")
    elif len(display_name) > 80:
        problems.append("Keep the display name to 80 characters or fewer.")
    if len(form["learning_goals"]) > MAX_TEXT:
        problems.append(f"Keep your learning goals under {MAX_TEXT} characters.")
    if len(form["subjects"]) > MAX_TEXT:
        problems.append(f"Keep the subjects under {MAX_TEXT} characters.")
    if form["self_level"] not in SELF_LEVELS:
        problems.append("Choose your level: beginner, intermediate, advanced or expert.")
    daily_target = form["daily_target"]
    if not isinstance(daily_target, int) or not 1 <= daily_target <= 500:
        problems.append("Choose a daily review target between 1 and 500 questions.")
    exam_date = form["exam_date"]
    if exam_date is not None and exam_date < today:
        problems.append("The exam date is in the past; leave it empty or pick a future date.")
    if form["timezone"] not in zoneinfo.available_timezones():
        problems.append("Choose a time zone from the list.")
    return problems


def save_profile(
    rt: Runtime,
    *,
    user_id: int,
    now: dt.datetime | None = None,
    **form: Unpack[ProfileForm],
) -> ProfileView:
    """Save onboarding or profile edits; the first save completes onboarding.

    Raises:
        InvalidInput: every problem with the form, in one message.
        NotFound: the account is gone.
    """
    now = now or dt.datetime.now(dt.UTC)
    timezone = form["timezone"]
    known_zone = timezone in zoneinfo.available_timezones()
    today = now.astimezone(zoneinfo.ZoneInfo(timezone)).date() if known_zone else now.date()
    problems = validate_profile(form, today=today)
    if problems:
        raise InvalidInput(" ".join(problems))
    with rt.session_factory.begin() as session:
        user = session.get(User, user_id)
        profile = session.get(Profile, user_id, with_for_update=True)
        if user is None or profile is None:
            raise NotFound("Your account could not be found. Please log in again.")
        if timezone != profile.timezone and not _database_knows_zone(session, timezone):
            # Local days are computed in PostgreSQL too (analytics, and the rollup kept when
            # the zone changes); its zone list can lag behind Python's by a release.
            raise InvalidInput(
                f"The time zone {timezone} is too new for this server's "
                "database. Choose a neighbouring zone with the same time."
            )
        user.display_name = form["display_name"].strip()
        profile.learning_goals = form["learning_goals"].strip()
        profile.subjects = form["subjects"].strip()
        profile.self_level = form["self_level"]
        profile.daily_target = form["daily_target"]
        profile.exam_date = form["exam_date"]
        profile.timezone = timezone
        if profile.onboarded_at is None:
            profile.onboarded_at = now
        session.flush()
        return _view(user, profile)


def _database_knows_zone(session: Session, timezone: str) -> bool:
    return bool(
        session.scalar(
            text("SELECT EXISTS (SELECT 1 FROM pg_timezone_names WHERE name = :tz)"),
            {"tz": timezone},
        )
    )


def home_summary(rt: Runtime, *, user_id: int, now: dt.datetime | None = None) -> HomeSummary:
    """What Home shows: the profile and whether there is material and practice yet."""
    now = now or dt.datetime.now(dt.UTC)
    profile = get_profile(rt, user_id=user_id)
    with rt.session_factory() as session:
        materials = (
            session.scalar(
                select(func.count()).select_from(Material).where(Material.user_id == user_id)
            )
            or 0
        )
        questions = (
            session.scalar(
                select(func.count()).select_from(Question).where(Question.user_id == user_id)
            )
            or 0
        )
    return HomeSummary(
        profile=profile,
        materials=materials,
        questions=questions,
        has_practice=profile.xp > 0 or profile.last_activity_date is not None,
        streak_now=current_streak(
            Streak(profile.streak, profile.best_streak, profile.last_activity_date),
            now=now,
            timezone=profile.timezone,
        ),
    )
