"""Images shown with a learner's questions (imported from Anki): stored and read per learner.

Every read names the learner: another learner's question has no images here. The bytes were
checked to be a real PNG, JPEG, GIF or WebP before they were stored
(engine.interop.anki_media); pages show them from these bytes, never through markup.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from engine.db.models import QuestionImage
from engine.runtime import Runtime

QUESTION_SIDE = "question"
ANSWER_SIDE = "answer"


@dataclass(frozen=True)
class ShownImage:
    side: str  # QUESTION_SIDE or ANSWER_SIDE
    media_type: str
    data: bytes


def images_for(
    rt: Runtime, *, user_id: int, question_ids: Sequence[int]
) -> dict[int, list[ShownImage]]:
    """The learner's images of these questions, by question, in the order the card shows
    them (questions of another learner have none)."""
    if not question_ids:
        return {}
    out: dict[int, list[ShownImage]] = defaultdict(list)
    with rt.read_session_factory() as session:
        rows = session.execute(
            select(
                QuestionImage.question_id,
                QuestionImage.side,
                QuestionImage.media_type,
                QuestionImage.data,
            )
            .where(
                QuestionImage.user_id == user_id,
                QuestionImage.question_id.in_(list(question_ids)),
            )
            .order_by(QuestionImage.question_id, QuestionImage.position)
        )
        for qid, side, media_type, data in rows:
            out[qid].append(ShownImage(side, media_type, bytes(data)))
    return dict(out)


def replace_images(
    session: Session,
    *,
    user_id: int,
    question_ids: Iterable[int],
    images: Iterable[tuple[int, str, str, bytes]],
) -> int:
    """In the caller's transaction: the questions' images become `images`
    ((question id, side, media type, bytes), in order); returns how many were stored."""
    ids = list(question_ids)
    for start in range(0, len(ids), 5000):
        session.execute(
            delete(QuestionImage).where(
                QuestionImage.user_id == user_id,
                QuestionImage.question_id.in_(ids[start : start + 5000]),
            )
        )
    position: dict[int, int] = defaultdict(int)
    rows = []
    for qid, side, media_type, data in images:
        rows.append(
            {
                "user_id": user_id,
                "question_id": qid,
                "side": side,
                "position": position[qid],
                "media_type": media_type,
                "data": data,
            }
        )
        position[qid] += 1
    for start in range(0, len(rows), 200):
        session.execute(insert(QuestionImage), rows[start : start + 200])
    return len(rows)
