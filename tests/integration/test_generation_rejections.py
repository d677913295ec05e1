"""Questions rejected on the Generate page are kept per learner: regeneration never offers
them again (nor their source sentence offline); Undo forgets them; learners are isolated."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from engine.db.models import RejectedQuestion
from engine.errors import NotFound
from engine.generation import service
from engine.generation.validation import dedupe_key, normalise
from tests.support.generation_data import BIOLOGY, add_material


def _rejected_count(runtime, user_id: int) -> int:
    with runtime.session_factory() as s:
        return s.scalar(select(func.count()).where(RejectedQuestion.user_id == user_id))


def test_a_rejected_question_is_never_offered_again(settings, make_user, runtime):
    user_id = make_user()
    add_material(runtime.session_factory, user_id, "Biology notes", BIOLOGY)
    first = service.generate_questions(runtime, user_id=user_id, question_type="mcq", count=4)
    rejected = first.drafts[:2]
    for d in rejected:
        service.reject_draft(runtime, user_id=user_id, draft=d)
    service.reject_draft(runtime, user_id=user_id, draft=rejected[0])  # twice: kept once
    assert _rejected_count(runtime, user_id) == 2
    keys = {dedupe_key(d.stem, d.answer) for d in rejected}
    sentences = {normalise(d.excerpt) for d in rejected}
    for _ in range(2):  # regenerating the same request, twice
        again = service.generate_questions(runtime, user_id=user_id, question_type="mcq", count=4)
        assert not keys & {dedupe_key(d.stem, d.answer) for d in again.drafts}
        assert not sentences & {normalise(d.excerpt) for d in again.drafts}


def test_undo_forgets_the_rejection(settings, make_user, runtime):
    user_id = make_user()
    add_material(runtime.session_factory, user_id, "Biology notes", BIOLOGY)
    draft = service.generate_questions(
        runtime, user_id=user_id, question_type="cloze", count=1
    ).drafts[0]
    service.reject_draft(runtime, user_id=user_id, draft=draft)
    service.undo_rejection(runtime, user_id=user_id, draft=draft)
    assert _rejected_count(runtime, user_id) == 0


def test_rejections_are_per_learner(settings, make_user, runtime):
    alice, bob = make_user(), make_user()
    add_material(runtime.session_factory, alice, "Biology notes", BIOLOGY)
    bob_material, _ = add_material(runtime.session_factory, bob, "Biology notes", BIOLOGY)
    draft = service.generate_questions(
        runtime, user_id=alice, question_type="cloze", count=1
    ).drafts[0]
    service.reject_draft(runtime, user_id=alice, draft=draft)
    # Bob's identical material still gives him that question; Alice's undo cannot touch his.
    bob_drafts = service.generate_questions(
        runtime, user_id=bob, question_type="cloze", count=1
    ).drafts
    assert dedupe_key(bob_drafts[0].stem, bob_drafts[0].answer) == dedupe_key(
        draft.stem, draft.answer
    )
    service.reject_draft(runtime, user_id=bob, draft=bob_drafts[0])
    service.undo_rejection(runtime, user_id=alice, draft=draft)
    assert (_rejected_count(runtime, alice), _rejected_count(runtime, bob)) == (0, 1)
    # A draft naming another learner's material is refused, and nothing is written.
    draft.material_id = bob_material
    with pytest.raises(NotFound):
        service.reject_draft(runtime, user_id=alice, draft=draft)
    assert _rejected_count(runtime, alice) == 0
