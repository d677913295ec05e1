"""The question bank services and learner isolation for everything generation touches."""

from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.exc import IntegrityError

from engine.bank import service as bank
from engine.db.models import Question
from engine.errors import InvalidInput, NotFound
from engine.generation import service
from tests.support.generation_data import BIOLOGY, HISTORY, add_material, grounded_responder
from tests.support.round_trips import traced


@pytest.fixture
def two_learners(make_user, session_factory, settings, runtime):
    alice, bob = make_user("alice@example.com"), make_user("bob@example.com")
    a_mat, a_chunks = add_material(session_factory, alice, "Alice biology", BIOLOGY)
    b_mat, _ = add_material(session_factory, bob, "Bob history", HISTORY)
    drafts = service.generate_questions(runtime, user_id=alice, question_type="mix", count=4).drafts
    a_ids = bank.save_questions(runtime, user_id=alice, drafts=drafts)
    return {
        "alice": alice,
        "bob": bob,
        "a_mat": a_mat,
        "a_chunks": a_chunks,
        "b_mat": b_mat,
        "a_ids": a_ids,
        "drafts": drafts,
    }


def test_bank_lists_and_filters(two_learners, session_factory, runtime):
    alice = two_learners["alice"]
    page = bank.list_questions(runtime, user_id=alice)
    assert page.total == 4 and len(page.questions) == 4
    mcq = bank.list_questions(runtime, user_id=alice, question_type="mcq")
    assert mcq.total == sum(1 for d in two_learners["drafts"] if d.type == "mcq")
    assert all(q.type == "mcq" for q in mcq.questions)
    by_material = bank.list_questions(runtime, user_id=alice, material_id=two_learners["a_mat"])
    assert by_material.total == 4
    assert bank.list_questions(runtime, user_id=alice, status="retired").total == 0
    # offline difficulty is measured per question, so filter by what each one got
    level = two_learners["drafts"][0].difficulty
    assert bank.list_questions(runtime, user_id=alice, difficulty=level).total == sum(
        1 for d in two_learners["drafts"] if d.difficulty == level
    )
    first = page.questions[0]
    word = first.answer.split()[0]
    assert first.id in [
        q.id for q in bank.list_questions(runtime, user_id=alice, text=word).questions
    ]
    assert bank.list_questions(runtime, user_id=alice, text="%").total == 0
    assert bank.bank_materials(runtime, user_id=alice) == [(two_learners["a_mat"], "Alice biology")]
    paged = bank.list_questions(runtime, user_id=alice, limit=3, offset=3)
    assert paged.total == 4 and len(paged.questions) == 1


def test_edit_keeps_source_and_validates(two_learners, session_factory, runtime):
    alice = two_learners["alice"]
    q = next(q for q in bank.list_questions(runtime, user_id=alice).questions if q.type == "mcq")
    options = list(q.options)
    options[0] = options[0] + " (edited)" if q.correct_index != 0 else options[0]
    updated = bank.update_question(
        runtime,
        user_id=alice,
        question_id=q.id,
        stem="Edited: " + q.stem,
        answer=q.answer,
        explanation="Because the source says so, clearly.",
        difficulty=5,
        options=options,
        correct_index=q.correct_index,
        status="flagged",
    )
    assert updated.stem.startswith("Edited: ") and updated.difficulty == 5
    assert updated.status == "flagged" and updated.excerpt == q.excerpt
    with pytest.raises(InvalidInput, match="repeated options"):
        bank.update_question(
            runtime,
            user_id=alice,
            question_id=q.id,
            stem=q.stem,
            answer=q.answer,
            explanation=q.explanation,
            difficulty=3,
            options=[options[0]] * 4,
            correct_index=0,
        )
    with pytest.raises(InvalidInput, match="difficulty"):
        bank.update_question(
            runtime,
            user_id=alice,
            question_id=q.id,
            stem=q.stem,
            answer=q.answer,
            explanation=q.explanation,
            difficulty=7,
            options=options,
            correct_index=q.correct_index,
        )
    # Failed edits left the saved question as it was.
    assert bank.get_question(runtime, user_id=alice, question_id=q.id) == updated


def test_delete(two_learners, session_factory, runtime):
    alice, qid = two_learners["alice"], two_learners["a_ids"][0]
    bank.delete_question(runtime, user_id=alice, question_id=qid)
    with pytest.raises(NotFound):
        bank.get_question(runtime, user_id=alice, question_id=qid)
    assert bank.list_questions(runtime, user_id=alice).total == 3


def test_save_is_all_or_nothing(two_learners, session_factory, runtime):
    alice = two_learners["alice"]
    good = dataclasses.replace(two_learners["drafts"][0], stem="A fresh stem for a new question")
    bad = dataclasses.replace(two_learners["drafts"][1], difficulty=0)
    with pytest.raises(InvalidInput):
        bank.save_questions(runtime, user_id=alice, drafts=[good, bad])
    assert bank.list_questions(runtime, user_id=alice).total == 4


def test_save_rechecks_grounding(two_learners, session_factory, runtime):
    alice = two_learners["alice"]
    forged = dataclasses.replace(
        two_learners["drafts"][0], excerpt="Words that never appeared in the source chunk."
    )
    with pytest.raises(InvalidInput, match="not in the cited passage"):
        bank.save_questions(runtime, user_id=alice, drafts=[forged])


def test_an_accept_is_one_transaction_of_four_round_trips(two_learners, runtime):
    """BEGIN, one read of the sources (material, chunk), the insert, COMMIT: an Accept in
    the Generate preview waits for each."""
    alice = two_learners["alice"]
    with traced(runtime.engine) as traffic:
        bank.save_questions(runtime, user_id=alice, drafts=two_learners["drafts"][:1])
    assert traffic.commands == ["BEGIN", "COMMIT"] and traffic.round_trips == 4


def test_replacement_records_what_it_replaces(two_learners, session_factory, settings, runtime):
    alice, old = two_learners["alice"], two_learners["a_ids"][0]
    chunk = two_learners["a_chunks"][3]
    drafts = service.generate_from_chunk(
        runtime, user_id=alice, chunk_id=chunk, question_type="mcq", difficulty=2
    )
    (new_id,) = bank.save_questions(
        runtime, user_id=alice, drafts=drafts[:1], replaces_question_id=old
    )
    with session_factory() as s:
        assert s.get(Question, new_id).replaces_question_id == old


def test_a_learner_cannot_touch_another_learners_material_or_questions(
    two_learners, session_factory, settings, runtime
):
    bob, a_ids = two_learners["bob"], two_learners["a_ids"]
    # Generate from Alice's material or chunk.
    with pytest.raises(NotFound):
        service.generate_questions(
            runtime, user_id=bob, material_ids=[two_learners["a_mat"]], count=2
        )
    with pytest.raises(NotFound):
        service.generate_from_chunk(
            runtime,
            user_id=bob,
            chunk_id=two_learners["a_chunks"][0],
            question_type="mcq",
            difficulty=3,
        )
    # Bob's own generation never draws on Alice's material.
    result = service.generate_questions(runtime, user_id=bob, count=3)
    assert {d.material_id for d in result.drafts} == {two_learners["b_mat"]}
    # See, edit, delete Alice's questions.
    assert bank.list_questions(runtime, user_id=bob).total == 0
    assert bank.list_questions(runtime, user_id=bob, material_id=two_learners["a_mat"]).total == 0
    assert bank.bank_materials(runtime, user_id=bob) == []
    with pytest.raises(NotFound):
        bank.get_question(runtime, user_id=bob, question_id=a_ids[0])
    with pytest.raises(NotFound):
        bank.update_question(
            runtime,
            user_id=bob,
            question_id=a_ids[0],
            stem="Bob was here, editing",
            answer="x",
            explanation="Not allowed to do this",
            difficulty=3,
        )
    with pytest.raises(NotFound):
        bank.delete_question(runtime, user_id=bob, question_id=a_ids[0])
    # Save a draft citing Alice's source, or replacing Alice's question.
    with pytest.raises(NotFound):
        bank.save_questions(runtime, user_id=bob, drafts=[two_learners["drafts"][0]])
    with pytest.raises(NotFound):
        bank.save_questions(
            runtime, user_id=bob, drafts=result.drafts[:1], replaces_question_id=a_ids[0]
        )
    assert bank.list_questions(runtime, user_id=two_learners["alice"]).total == 4


def test_bank_isolation_in_llm_mode(two_learners, session_factory, settings, llm_stub, runtime):
    """Bob's model prompt carries only Bob's passages."""
    llm_stub.responder = grounded_responder("mcq")
    s = llm_stub.settings_for(settings)
    service.generate_questions(
        runtime.with_settings(s), user_id=two_learners["bob"], question_type="mcq", count=2
    )
    prompt = llm_stub.chat_requests[0]["body"]["messages"][1]["content"]
    assert "Bob history" in prompt and "Alice biology" not in prompt
    assert not any(sentence.split(".")[0] in prompt for sentence in BIOLOGY)


def test_database_refuses_an_mcq_with_index_outside_options(two_learners, session_factory):
    with pytest.raises(IntegrityError), session_factory.begin() as s:
        s.add(
            Question(
                user_id=two_learners["alice"],
                type="mcq",
                stem="Broken?",
                options=["a", "b"],
                correct_index=2,
                answer="a",
                excerpt="x",
                page_start=1,
                page_end=1,
                material_title="t",
                generator="llm",
            )
        )
    with session_factory() as s:
        assert s.scalar(select(func.count()).select_from(Question)) == 4


def test_deleting_a_replaced_question_finds_its_replacements_by_index(
    two_learners, session_factory, settings, runtime
):
    """Deleting a question clears `replaces_question_id` of the questions that replaced it, and
    PostgreSQL finds those through an index instead of reading every learner's questions (a
    second per deleted question at 1.2 M questions)."""
    alice, old = two_learners["alice"], two_learners["a_ids"][0]
    drafts = service.generate_from_chunk(
        runtime,
        user_id=alice,
        chunk_id=two_learners["a_chunks"][3],
        question_type="mcq",
        difficulty=2,
    )
    (new_id,) = bank.save_questions(
        runtime, user_id=alice, drafts=drafts[:1], replaces_question_id=old
    )
    bank.delete_question(runtime, user_id=alice, question_id=old)
    with session_factory() as s:
        assert s.get(Question, new_id).replaces_question_id is None
        # What the foreign key's ON DELETE SET NULL runs, planned as if the table were large.
        s.execute(text("SET LOCAL enable_seqscan = off"))
        plan = "\n".join(
            s.scalars(
                text(
                    "EXPLAIN UPDATE questions SET replaces_question_id = NULL "
                    "WHERE replaces_question_id = :q"
                ),
                {"q": old},
            )
        )
    assert "ix_questions_replaces_question_id" in plan
