"""Seeding helpers for analytics tests: attempts, schedules, materials and model usage written
directly with exact timestamps, as the practice service would have saved them."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from sqlalchemy import insert, update

from engine.db.models import Attempt, LLMUsage, Material, Profile, ReviewState

_n = itertools.count(1)


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def set_profile(sf, user_id: int, **values) -> None:
    with sf.begin() as s:
        s.execute(update(Profile).where(Profile.user_id == user_id).values(**values))


def add_material(sf, user_id: int, title: str = "Cell Biology", pages: int = 3) -> int:
    n = next(_n)
    with sf.begin() as s:
        return s.execute(
            insert(Material)
            .values(
                user_id=user_id,
                title=title,
                filename=f"m{n}.pdf",
                sha256=f"{n:064d}",
                size_bytes=1000,
                page_count=pages,
                chunk_count=1,
            )
            .returning(Material.id)
        ).scalar()


def add_attempt(
    sf,
    user_id: int,
    question_id: int,
    at: dt.datetime,
    *,
    prev: dt.datetime | None = None,
    correct: bool = True,
    number: int = 1,
    seconds: int = 30,
    confidence: int = 3,
    rating: int | None = None,
    xp: int = 10,
) -> None:
    before = (
        None
        if prev is None
        else {
            "due_at": at.isoformat(),
            "reviews": number - 1,
            "lapses": 0,
            "fsrs": {"last_reviewed_at": prev.isoformat()},
        }
    )
    with sf.begin() as s:
        s.execute(
            insert(Attempt).values(
                user_id=user_id,
                question_id=question_id,
                token=uuid.uuid4().hex,
                review_number=number,
                answered_at=at,
                seconds=seconds,
                confidence=confidence,
                correct=correct,
                score=float(correct),
                grader="choice",
                quality=4 if correct else 1,
                rating=rating or (3 if correct else 1),
                scheduler="sm2",
                xp=xp,
                state_before=before,
                previous_answered_at=prev,
                state_after={},
            )
        )


def add_state(
    sf,
    user_id: int,
    question_id: int,
    *,
    last: dt.datetime,
    due: dt.datetime,
    stability: float,
    difficulty: float,
    easiness: float = 2.5,
    suspended: bool = False,
) -> None:
    with sf.begin() as s:
        s.execute(
            insert(ReviewState).values(
                user_id=user_id,
                question_id=question_id,
                due_at=due,
                suspended=suspended,
                reviews=2,
                lapses=0,
                first_reviewed_at=last - dt.timedelta(days=5),
                last_reviewed_at=last,
                sm2_repetitions=2,
                sm2_interval_days=max(1, round((due - last).total_seconds() / 86400)),
                sm2_easiness=easiness,
                sm2_due_at=due,
                fsrs_state=2,
                fsrs_step=None,
                fsrs_stability=stability,
                fsrs_difficulty=difficulty,
                fsrs_due_at=due,
            )
        )


def add_usage(
    sf,
    user_id: int,
    at: dt.datetime,
    model: str,
    cost: float,
    tokens: tuple[int, int] = (100, 50),
    outcome: str = "ok",
) -> None:
    with sf.begin() as s:
        s.execute(
            insert(LLMUsage).values(
                user_id=user_id,
                request_id=str(uuid.uuid4()),
                task="generation",
                generator="llm",
                model=model,
                tokens_in=tokens[0],
                tokens_out=tokens[1],
                cost_usd=cost,
                latency_ms=100,
                outcome=outcome,
                created_at=at,
                expires_at=at + dt.timedelta(minutes=5) if outcome == "reserved" else None,
            )
        )


def busy(sf, user_id: int) -> tuple[int, list[int]]:
    """A learner with a month of answers: one material of 6 pages, 12 questions (10 scheduled),
    three answers each, an exam in 20 days and one model call. Returns (material, questions)."""
    from tests.support.practice import add_question

    now = dt.datetime.now(dt.UTC)
    day = dt.timedelta(days=1)
    set_profile(sf, user_id, timezone="Pacific/Honolulu", exam_date=(now + 20 * day).date())
    mid = add_material(sf, user_id, "Cell ![x](http://evil/p.png) Biology", pages=6)
    qids = []
    for i in range(12):
        qid = add_question(
            sf,
            user_id,
            material_id=mid,
            page_start=1 + i % 4,
            page_end=1 + i % 4,
            material_title="Cell ![x](http://evil/p.png) Biology",
            topic=f"topic {i % 3}",
            quality_score=(i % 10) / 10,
        )
        qids.append(qid)
        prev = None
        for n in range(1, 4):
            at_ = now - (40 - 12 * n + i % 3) * day
            add_attempt(
                sf,
                user_id,
                qid,
                at_,
                prev=prev,
                number=n,
                correct=(i + n) % 4 != 0,
                confidence=1 + (i + n) % 5,
                seconds=10 + 20 * n,
            )
            prev = at_
        if i < 10:
            add_state(
                sf,
                user_id,
                qid,
                last=prev,
                due=prev + (3 + i) * day,
                stability=3.0 + i,
                difficulty=2 + i % 8,
            )
    add_usage(sf, user_id, now - 2 * day, "openai/gpt-4o-mini", 0.02)
    return mid, qids
