"""AppTest: a self-rated flashcard on the Today page: front, "Show answer", back, rating."""

from __future__ import annotations

from sqlalchemy import select

from engine.db.models import Attempt, ReviewState
from tests.support.practice import add_question


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [s.value for s in at.success]
    parts += [h.value for h in at.subheader] + [t.value for t in at.text]
    return "\n".join(str(p) for p in parts)


def button(at, label):
    return next(b for b in at.button if b.label == label)


def add_flashcard(runtime, uid: int, *, front: str, back: str) -> int:
    """A self-rated flashcard in the learner's bank, due now."""
    return add_question(
        runtime.session_factory,
        uid,
        type="short",
        form="flashcard",
        options=None,
        correct_index=None,
        stem=front,
        answer=back,
    )


def test_turn_over_and_rate_a_flashcard(signed_in_app, runtime):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    qid = add_flashcard(runtime, uid, front="perro", back="dog <b>[link](http://x.example)</b>")
    at.switch_page("pages/today.py").run()
    assert not at.exception
    assert at.subheader[0].value == "perro"
    assert "dog" not in texts(at)  # face down: no answer box, no back
    assert not any(b.label == "Check answer" for b in at.button)
    button(at, "Show answer").click().run()
    assert [t.value for t in at.text] == ["dog <b>[link](http://x.example)</b>"]  # literal
    assert [b.label for b in at.button if b.key.startswith("today_rate_")] == [
        "Again",
        "Hard",
        "Good",
        "Easy",
    ]
    button(at, "Good").click().run()
    assert not at.exception
    assert "You rated your recall Good\\." in texts(at)  # escaped Markdown
    with runtime.session_factory() as s:
        a = s.scalars(select(Attempt).where(Attempt.question_id == qid)).one()
        assert (a.grader, a.rating, a.quality, a.correct, a.response) == (
            "self",
            3,
            4,
            True,
            "Good",
        )
        assert s.scalar(select(ReviewState.reviews).where(ReviewState.question_id == qid)) == 1


def test_an_imported_cards_pictures_show_on_their_side(signed_in_app, runtime):
    from engine.bank.images import replace_images
    from tests.support.anki_decks import image

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    qid = add_flashcard(runtime, uid, front="What organ is this?", back="The heart")
    front, back = image("PNG", (5, 5)), image("GIF", (7, 2))
    with runtime.session_factory.begin() as s:
        replace_images(
            s,
            user_id=uid,
            question_ids=[qid],
            images=[(qid, "question", "image/png", front), (qid, "answer", "image/gif", back)],
        )
    at.switch_page("pages/today.py").run()
    assert not at.exception
    assert len(at.get("image")) == 1  # face down: the front's picture only
    button(at, "Show answer").click().run()
    assert not at.exception
    assert len(at.get("image")) == 2  # turned over: the back's picture too
