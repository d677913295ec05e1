"""Importing an Anki package into a learner's bank, with its review history.

The package is read and checked in full before the database is touched, and everything is
written in one transaction: a refused or failing import leaves nothing behind.

* Questions: see engine.interop.anki_notes. A question already imported (same note guid and
  card) is updated in place, its tags replaced by the note's; its practice history stays.
* History: each Anki answer (revlog row with a rating) becomes an attempt at its original
  time, with its rating and duration (clamped to 1-3600 s), graded 'self' and earning no XP.
  Replaying the answers in order rebuilds both schedulers' states, so FSRS continues from the
  history; for a card in review the SM-2 state then takes Anki's own ease and interval, so
  SM-2 continues where Anki left it. Answers already imported (same revlog id) are skipped, as
  are answers older than the question's latest review in Groundwork.
* Confidence, which Anki does not ask, is derived from the rating: Again 1, Hard 2, Good 4,
  Easy 5 (so calibration charts read self-ratings sensibly).
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update

from engine.bank.images import replace_images
from engine.bank.tags import replace_tags
from engine.db.bulk import copy_rows
from engine.db.models import Attempt, Question, ReviewState
from engine.domain.vocabulary import Generator, Scheduler
from engine.interop.anki_notes import ImportedQuestion, convert
from engine.interop.anki_package import Card, Collection, Limits, Review, read_package
from engine.practice import store
from engine.practice.answering import Schedule, fsrs_params_for, review
from engine.practice.params import answer_params
from engine.scheduling import fsrs6, sm2
from engine.scheduling.rating import Grade
from engine.scheduling.replay import QUALITY_FOR_RATING

if TYPE_CHECKING:
    from engine.runtime import Runtime

CONFIDENCE_FOR_RATING = {1: 1, 2: 2, 3: 4, 4: 5}
TOKEN_PREFIX = "anki-"


@dataclass(frozen=True)
class ImportSummary:
    notes: int
    questions: int  # imported now: created + updated
    created: int
    updated: int
    reviews: int  # attempts added from the review log
    media: int  # images stored with the questions
    skipped: dict[str, int]

    def as_json(self) -> dict[str, Any]:
        return {
            "notes": self.notes,
            "questions": self.questions,
            "reviews": self.reviews,
            "media": self.media,
            "skipped": dict(sorted(self.skipped.items())),
        }


# progress(notes done, notes in the package): "Imported 3,000 of 10,000 notes". It may raise
# (a job cancelled by its learner): the import's transaction is then rolled back whole.
Progress = Callable[[int, int], None]


def _no_progress(done: int, total: int) -> None:
    return None


def limits(rt: Runtime) -> Limits:
    s = rt.settings.ingestion
    return Limits(
        max_bytes=s.anki_max_mb * 1_000_000,
        max_unpacked_bytes=s.anki_max_unpacked_mb * 1_000_000,
        max_media_files=s.anki_max_media_files,
        max_image_bytes=s.anki_image_max_kb * 1000,
    )


def import_anki(
    rt: Runtime, *, user_id: int, data: bytes, progress: Progress = _no_progress
) -> ImportSummary:
    """Import an `.apkg` or `.colpkg` into the learner's bank, with the images its notes show.

    Raises:
        AnkiPackageRefused (an InvalidInput): the package cannot be imported; nothing was.
        NotFound: no such learner.
    """
    collection = read_package(data, limits(rt))
    converted = convert(collection)
    skipped = {**converted.skipped, **collection.skipped}
    # Files no note shows as a picture (sounds, unused files); the pictures left out are
    # counted by their reason instead.
    refused = sum(n for k, n in collection.skipped.items() if k != "image_missing")
    if unused := collection.media - len(collection.images) - refused:
        skipped["media_file"] = unused
    notes = len(collection.notes)
    progress(0, notes)
    with rt.session_factory.begin() as session:
        profile = store.load_profile(session, user_id, lock=True)
        learner = store.learner(profile, store.personal_parameters(session, user_id))
        ids, created, updated = _upsert_questions(session, user_id, converted.questions)
        stored = _store_images(session, user_id, converted.questions, ids, collection)
        # The note's tags replace those an earlier import stored (the same guid: updated).
        replace_tags(
            session, user_id=user_id, tags=((ids[q.key], q.tags) for q in converted.questions)
        )
        card_question = {q.card_id: ids[q.key] for q in converted.questions}
        added, ignored = _import_history(
            session,
            user_id,
            collection,
            card_question,
            learner=learner,
            params=answer_params(rt.settings),
            progress=_by_note(collection, progress),
        )
        progress(notes, notes)  # inside: a cancel here still rolls everything back
    if ignored:
        skipped["review_not_imported"] = ignored
    return ImportSummary(
        notes=notes,
        questions=created + updated,
        created=created,
        updated=updated,
        reviews=added,
        media=stored,
        skipped=skipped,
    )


def _by_note(collection: Collection, progress: Progress) -> Callable[[int], None]:
    """Turn "this card is done" into "this many notes are done", told every 500 cards."""
    note_of = {c.id: c.note_id for c in collection.cards}
    total = len(collection.notes)
    seen: set[int] = set()
    cards = 0

    def card_done(card_id: int) -> None:
        nonlocal cards
        seen.add(note_of.get(card_id, -1))
        cards += 1
        if cards % 500 == 0:
            progress(min(len(seen), total), total)

    return card_done


def _store_images(
    session: Any,
    user_id: int,
    questions: list[ImportedQuestion],
    ids: dict[str, int],
    collection: Collection,
) -> int:
    """The questions' images replace those an earlier import stored; returns how many."""
    rows = (
        (ids[q.key], side, collection.images[name].media_type, collection.images[name].data)
        for q in questions
        for side, name in q.images
    )
    return replace_images(
        session, user_id=user_id, question_ids=[ids[q.key] for q in questions], images=rows
    )


def _values(q: ImportedQuestion) -> dict[str, Any]:
    return {
        "type": q.type,
        "form": q.form,
        "stem": q.stem,
        "answer": q.answer,
        "explanation": q.explanation,
        "topic": q.topic,
        "excerpt": f"Imported from Anki (deck {q.deck}).",
        "material_title": f"Anki: {q.deck}"[:300],
    }


def _upsert_questions(
    session: Any,
    user_id: int,
    questions: list[ImportedQuestion],
) -> tuple[dict[str, int], int, int]:
    keys = [q.key for q in questions]
    existing: dict[str, int] = {}
    for start in range(0, len(keys), 5000):
        existing.update(
            session.execute(
                select(Question.external_key, Question.id).where(
                    Question.user_id == user_id,
                    Question.external_key.in_(keys[start : start + 5000]),
                )
            ).all()
        )
    fresh = [q for q in questions if q.key not in existing]
    stale = [q for q in questions if q.key in existing]
    for q in stale:
        session.execute(update(Question).where(Question.id == existing[q.key]).values(**_values(q)))
    if fresh:
        rows = [
            {
                "user_id": user_id,
                "external_key": q.key,
                "page_start": 1,
                "page_end": 1,
                "generator": Generator.ANKI,
                "key_points": [],
                "difficulty": 3,
                **_values(q),
            }
            for q in fresh
        ]
        for start in range(0, len(rows), 2000):
            batch = rows[start : start + 2000]
            result = session.execute(
                insert(Question).returning(Question.external_key, Question.id), batch
            )
            existing.update(result.all())
    return existing, len(fresh), len(stale)


def _at(ms: int) -> dt.datetime:
    return dt.datetime.fromtimestamp(ms / 1000, tz=dt.UTC)


def _import_history(
    session: Any,
    user_id: int,
    collection: Collection,
    card_question: dict[int, int],
    *,
    learner: Any,
    params: Any,
    progress: Callable[[int], None],
) -> tuple[int, int]:
    """Attempts and review states from the review log; returns (added, not imported)."""
    by_card, ignored = _reviews_by_card(collection, card_question)
    for card_id in card_question.keys() - by_card.keys():
        progress(card_id)  # no history
    if not by_card:
        return 0, ignored
    states, tokens = _history_so_far(session, user_id, [card_question[c] for c in by_card])
    cards = {c.id: c for c in collection.cards}
    scheduler = fsrs6.scheduler_for(fsrs_params_for(learner, params))
    attempts: list[dict[str, Any]] = []
    new_states: list[dict[str, Any]] = []
    for card_id, reviews in by_card.items():
        progress(card_id)
        qid = card_question[card_id]
        row = states.get(qid)
        added, schedule, skipped = _replay_card(
            reviews,
            user_id=user_id,
            qid=qid,
            schedule=Schedule.from_columns(row) if row is not None else None,
            tokens=tokens,
            learner=learner,
            params=params,
            scheduler=scheduler,
        )
        ignored += skipped
        attempts += added
        if not added or schedule is None:
            continue
        if row is None:
            schedule = _continue_anki_sm2(schedule, cards.get(card_id), learner.scheduler)
            first = _at(min(r.id for r in reviews))
            new_states.append(
                {"user_id": user_id, "question_id": qid, "suspended": False}
                | {"first_reviewed_at": first, **schedule.columns()}
            )
        else:
            session.execute(
                update(ReviewState).where(ReviewState.id == row.id).values(**schedule.columns())
            )
    # COPY: the attempts' statement-level triggers (analytics rollups) run once for the whole
    # history instead of once per row, as an executemany would make them.
    if attempts:
        copy_rows(session, Attempt.__table__, list(attempts[0]), attempts)
    if new_states:
        copy_rows(session, ReviewState.__table__, list(new_states[0]), new_states)
    return len(attempts), ignored


def _reviews_by_card(
    collection: Collection, card_question: dict[int, int]
) -> tuple[dict[int, list[Review]], int]:
    """The reviews to import, per imported card (real ratings, no manual reschedules), and
    how many others there are."""
    by_card: dict[int, list[Review]] = defaultdict(list)
    ignored = 0
    for r in collection.reviews:
        if r.card_id in card_question and 1 <= r.ease <= 4 and r.type != 4:
            by_card[r.card_id].append(r)
        else:
            ignored += 1
    return by_card, ignored


def _history_so_far(
    session: Any, user_id: int, question_ids: list[int]
) -> tuple[dict[int, ReviewState], set[str]]:
    """The questions' review states, and the tokens of reviews an earlier import added."""
    states = {
        s.question_id: s
        for s in session.scalars(
            select(ReviewState).where(
                ReviewState.user_id == user_id, ReviewState.question_id.in_(question_ids)
            )
        )
    }
    tokens = set(
        session.scalars(
            select(Attempt.token).where(
                Attempt.user_id == user_id,
                Attempt.question_id.in_(question_ids),
                Attempt.token.startswith(TOKEN_PREFIX),
            )
        )
    )
    return states, tokens


def _replay_card(
    reviews: list[Review],
    *,
    user_id: int,
    qid: int,
    schedule: Schedule | None,
    tokens: set[str],
    learner: Any,
    params: Any,
    scheduler: Any,
) -> tuple[list[dict[str, Any]], Schedule | None, int]:
    """One card's reviews replayed through the learner's scheduler from `schedule`: the
    attempt rows of those not imported before (nor older than the schedule), the schedule
    after them, and how many were skipped."""
    rows: list[dict[str, Any]] = []
    skipped = 0
    for r in sorted(reviews, key=lambda r: r.id):
        token = f"{TOKEN_PREFIX}{r.id}-{r.card_id}"[:64]
        at = _at(r.id)
        if token in tokens or (schedule is not None and at <= schedule.last_reviewed_at):
            skipped += 1
            continue
        grade = Grade(quality=QUALITY_FOR_RATING[r.ease], rating=r.ease)
        after = review(
            schedule,
            grade,
            correct=r.ease > 1,
            learner=learner,
            now=at,
            params=params,
            fsrs_scheduler=scheduler,
        )
        rows.append(
            {
                "user_id": user_id,
                "question_id": qid,
                "token": token,
                "review_number": after.reviews,
                "answered_at": at,
                "seconds": int(min(3600, max(1, round(r.time_ms / 1000)))),
                "confidence": CONFIDENCE_FOR_RATING[r.ease],
                "response": "",
                "hinted": False,
                "correct": r.ease > 1,
                "score": 1.0 if r.ease > 1 else 0.0,
                "grader": "self",
                "grade_reason": "Rated in Anki (imported).",
                "quality": grade.quality,
                "rating": grade.rating,
                "scheduler": learner.scheduler,
                "xp": 0,
                "state_before": schedule.to_json() if schedule is not None else None,
                "previous_answered_at": schedule.last_reviewed_at if schedule else None,
                "state_after": after.to_json(),
            }
        )
        schedule = after
    return rows, schedule, skipped


def _continue_anki_sm2(schedule: Schedule, card: Card | None, scheduler: str) -> Schedule:
    """For a card Anki has in review, SM-2 takes Anki's ease and interval from the last
    review, so its next due date is Anki's."""
    if card is None or card.type != 2 or card.ivl <= 0 or card.factor <= 0:
        return schedule
    interval = int(card.ivl)
    state = sm2.SM2State(
        repetitions=max(schedule.sm2.repetitions, 1),
        interval_days=interval,
        easiness=max(1.3, card.factor / 1000),
        due_at=schedule.last_reviewed_at + dt.timedelta(days=interval),
    )
    due = state.due_at if scheduler == Scheduler.SM2 else schedule.due_at
    return replace(schedule, sm2=state, due_at=due)
