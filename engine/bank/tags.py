"""Tags of a learner's questions (every tag of an imported Anki note): stored, listed and
filtered on per learner.

Hierarchical tags keep their path ("Lang::Spanish"); filtering on a tag also finds its
descendants, as Anki's tag browser does. Every read names the learner: another learner's
tags are never listed, shown or matched.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence

from sqlalchemy import ColumnElement, delete, exists, insert, or_, select
from sqlalchemy.orm import Session

from engine.db.models import Question, QuestionTag
from engine.runtime import Runtime

SEPARATOR = "::"


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _order(tag: str) -> tuple[str, str]:
    return (tag.casefold(), tag)


def tag_filter(user_id: int, tag: str) -> ColumnElement[bool]:
    """A `Question` row carries the tag or one below it ("Lang" finds "Lang::Spanish")."""
    return exists().where(
        QuestionTag.user_id == user_id,
        QuestionTag.question_id == Question.id,
        or_(
            QuestionTag.tag == tag,
            QuestionTag.tag.like(_escape_like(tag + SEPARATOR) + "%", escape="\\"),
        ),
    )


def bank_tags(rt: Runtime, *, user_id: int) -> list[str]:
    """The learner's tags and every level above them ("Lang" for "Lang::Spanish"), sorted."""
    with rt.session_factory() as session:
        stored = session.scalars(
            select(QuestionTag.tag).where(QuestionTag.user_id == user_id).distinct()
        ).all()
    out: set[str] = set()
    for tag in stored:
        levels = tag.split(SEPARATOR)
        out.update(SEPARATOR.join(levels[: i + 1]) for i in range(len(levels)))
    out.discard("")
    return sorted(out, key=_order)


def tags_for(
    session: Session, *, user_id: int, question_ids: Sequence[int]
) -> dict[int, tuple[str, ...]]:
    """The learner's tags of these questions, by question, sorted as `bank_tags` sorts."""
    if not question_ids:
        return {}
    out: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(QuestionTag.question_id, QuestionTag.tag).where(
            QuestionTag.user_id == user_id, QuestionTag.question_id.in_(list(question_ids))
        )
    )
    for qid, tag in rows:
        out[qid].append(tag)
    return {qid: tuple(sorted(tags, key=_order)) for qid, tags in out.items()}


def replace_tags(
    session: Session, *, user_id: int, tags: Iterable[tuple[int, Sequence[str]]]
) -> int:
    """In the caller's transaction: each question's tags become the given ones
    ((question id, tags)); returns how many were stored."""
    wanted = {qid: list(dict.fromkeys(t for t in names if t)) for qid, names in tags}
    ids = list(wanted)
    for start in range(0, len(ids), 5000):
        session.execute(
            delete(QuestionTag).where(
                QuestionTag.user_id == user_id,
                QuestionTag.question_id.in_(ids[start : start + 5000]),
            )
        )
    rows = [
        {"question_id": qid, "user_id": user_id, "tag": tag}
        for qid, names in wanted.items()
        for tag in names
    ]
    for start in range(0, len(rows), 5000):
        session.execute(insert(QuestionTag), rows[start : start + 5000])
    return len(rows)
