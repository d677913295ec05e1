"""Anki import against a real database: legacy and current packages built by the tests,
questions per card, history as attempts with their original times, re-import by guid, bad
input refused with nothing imported, and isolation between learners."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import zipfile

import pytest
from sqlalchemy import func, select

from engine import account_data
from engine.__main__ import main
from engine.accounts import get_account
from engine.bank.service import bank_tags, delete_question, get_question, list_questions
from engine.bootstrap import get_runtime
from engine.db.models import Attempt, AttemptRollup, Question, QuestionTag, ReviewState
from engine.errors import NotFound
from engine.interop.anki_import import import_anki
from engine.interop.anki_package import AnkiPackageRefused
from engine.practice.preferences import optimise_fsrs
from engine.scheduling import fsrs6
from tests.support import anki_decks as decks

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


def bank(rt, uid) -> dict[str, Question]:
    with rt.session_factory() as s:
        return {
            q.external_key: q for q in s.scalars(select(Question).where(Question.user_id == uid))
        }


def attempts(rt, uid) -> list[Attempt]:
    with rt.session_factory() as s:
        return list(
            s.scalars(select(Attempt).where(Attempt.user_id == uid).order_by(Attempt.answered_at))
        )


def state(rt, qid) -> ReviewState | None:
    with rt.session_factory() as s:
        return s.scalar(select(ReviewState).where(ReviewState.question_id == qid))


def test_legacy_deck_becomes_flashcards_and_clozes_with_history(runtime, make_user):
    uid = make_user()
    summary = import_anki(runtime, user_id=uid, data=decks.legacy_deck())
    assert summary.as_json() == {
        "notes": 3,
        "questions": 5,
        "reviews": 3,
        "media": 0,
        "skipped": {"image_missing": 1, "media_reference": 1, "review_not_imported": 1},
    }
    qs = bank(runtime, uid)
    basic = qs["anki:basic-guid:0"]
    assert (basic.type, basic.form, basic.generator) == ("short", "flashcard", "anki")
    # Safe plain text: no tags, script dropped, entities decoded, line breaks and lists kept.
    assert basic.stem == "hola & adiós"
    assert basic.answer == "hello\ngreeting\n- informal\n- any time"
    assert basic.topic == decks.SPANISH and basic.material_id is None
    # "and reversed": two cards, each way round.
    assert (qs["anki:reversed-guid:0"].stem, qs["anki:reversed-guid:0"].answer) == ("perro", "dog")
    assert (qs["anki:reversed-guid:1"].stem, qs["anki:reversed-guid:1"].answer) == ("dog", "perro")
    # Cloze: one question per deletion number; the other deletions are shown.
    c1, c2 = qs["anki:cloze-guid:0"], qs["anki:cloze-guid:1"]
    assert (c1.type, c1.stem, c1.answer) == (
        "cloze",
        "_____ is the capital; Spanish and Catalan are spoken",
        "Madrid",
    )
    assert (c2.stem, c2.answer) == (
        "Madrid is the capital; _____ and _____ are spoken",
        "Spanish; Catalan",
    )
    assert c1.explanation == "Extra note"
    # History: original times, ratings and durations (clamped); the manual reschedule is not
    # an answer.
    got = attempts(runtime, uid)
    assert [
        (a.answered_at, a.rating, a.correct, a.seconds, a.grader, a.xp, a.review_number)
        for a in got
    ] == [
        (T0, 3, True, 8, "self", 0, 1),
        (T0 + 2 * DAY, 1, False, 12, "self", 0, 2),
        (T0 + 3 * DAY, 4, True, 3600, "self", 0, 3),
    ]
    assert {a.question_id for a in got} == {basic.id}
    assert got[1].previous_answered_at == T0
    rs = state(runtime, basic.id)
    assert rs.reviews == 3 and rs.lapses == 1 and rs.last_reviewed_at == T0 + 3 * DAY
    # SM-2 continues from Anki's ease and interval; FSRS from the replayed history.
    assert (rs.sm2_easiness, rs.sm2_interval_days) == (2.35, 12)
    assert rs.sm2_due_at == T0 + 15 * DAY and rs.due_at == rs.sm2_due_at  # learner uses SM-2
    assert rs.fsrs_state == 2 and rs.fsrs_stability > 0
    assert got[-1].state_after["fsrs"]["stability"] == rs.fsrs_stability
    # Analytics show the imported history (the rollups kept by the attempts' triggers).
    with runtime.session_factory() as s:
        days = s.execute(
            select(AttemptRollup.day, AttemptRollup.answers)
            .where(AttemptRollup.user_id == uid, AttemptRollup.kind == 1)
            .order_by(AttemptRollup.day)
        ).all()
    assert [(d.isoformat(), n) for d, n in days] == [
        ("2026-01-01", 1),
        ("2026-01-03", 1),
        ("2026-01-04", 1),
    ]


def test_reimport_updates_by_guid_and_adds_no_duplicates(runtime, make_user):
    uid = make_user()
    import_anki(runtime, user_id=uid, data=decks.legacy_deck())
    first = bank(runtime, uid)
    again = import_anki(runtime, user_id=uid, data=decks.legacy_deck(back="hi there"))
    assert (again.created, again.updated, again.reviews) == (0, 5, 0)
    after = bank(runtime, uid)
    assert {k: q.id for k, q in after.items()} == {k: q.id for k, q in first.items()}
    assert after["anki:basic-guid:0"].answer == "hi there"
    assert len(attempts(runtime, uid)) == 3
    assert state(runtime, first["anki:basic-guid:0"].id).reviews == 3


def test_current_format_collection_is_read_and_its_stub_ignored(runtime, make_user):
    uid = make_user()
    summary = import_anki(
        runtime, user_id=uid, data=decks.current_deck(media=[("cell.png", b"\x89PNG" + b"0" * 50)])
    )
    assert summary.as_json() == {
        "notes": 2,
        "questions": 2,
        "reviews": 3,
        "media": 0,  # its one file is no note's picture
        "skipped": {"media_file": 1},
    }
    qs = bank(runtime, uid)
    assert set(qs) == {"anki:new-basic:0", "anki:new-cloze:0"}
    assert "Please update" not in "".join(q.stem for q in qs.values())
    basic = qs["anki:new-basic:0"]
    assert (basic.stem, basic.answer, basic.topic) == (
        "What makes ATP?",
        "The mitochondrion",
        "Bio::Cells",
    )
    cloze = qs["anki:new-cloze:0"]
    assert (cloze.stem, cloze.answer) == ("ATP stands for _____", "adenosine triphosphate")
    assert [a.answered_at for a in attempts(runtime, uid)] == [T0, T0 + DAY, T0 + 5 * DAY]
    rs = state(runtime, basic.id)
    assert (rs.sm2_easiness, rs.sm2_interval_days) == (2.6, 30)


def _nothing_imported(rt, uid) -> None:
    assert bank(rt, uid) == {} and attempts(rt, uid) == []


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: b"%PDF-1.7 not a zip", "not a zip file"),
        (lambda: decks.zip_of({"notes.txt": b"hello"}), "holds no Anki collection"),
        (
            lambda: decks.zip_of({"collection.anki2": b"SQLite format 3\x00" + b"\x07" * 5000}),
            "damaged",
        ),
        (lambda: decks.zip_of({"collection.anki21b": b"\x28\xb5\x2f\xfd garbage"}), "damaged"),
        (
            lambda: decks.zip_of({"collection.anki2": decks.view_instead_of_notes()}),
            "no notes table",
        ),
        (lambda: decks.with_schema(decks.legacy_deck(), 99), "schema version 99"),
        (lambda: decks.current_deck(version=12), "schema version 12"),
        (
            lambda: decks.zip_of({"collection.anki2": b"x", **{str(i): b"" for i in range(6)}}),
            "6 media files",
        ),
        (lambda: decks.zip_of({"collection.anki2": b"\x00" * 3_000_000}), "unpacks to more than"),
    ],
)
def test_bad_packages_are_refused_with_the_reason(runtime, make_user, make, reason):
    rt = runtime
    rt.settings = rt.settings.replace(anki_max_unpacked_mb=2, anki_max_media_files=5)
    uid = make_user()
    with pytest.raises(AnkiPackageRefused, match=reason):
        import_anki(rt, user_id=uid, data=make())
    _nothing_imported(rt, uid)


def test_a_package_over_the_size_limit_is_refused(runtime, make_user):
    rt = runtime
    rt.settings = rt.settings.replace(anki_max_mb=1)
    uid = make_user()
    with pytest.raises(AnkiPackageRefused, match="largest accepted is 1 MB"):
        import_anki(rt, user_id=uid, data=b"PK" + b"\x00" * 1_000_001)
    _nothing_imported(rt, uid)


def test_zstd_bomb_is_refused(runtime, make_user):
    rt = runtime
    rt.settings = rt.settings.replace(anki_max_unpacked_mb=1)
    uid = make_user()
    bomb = decks.current_deck(collection=b"\x00" * 5_000_000)  # 5 MB squeezed to a few KB
    with pytest.raises(AnkiPackageRefused, match="unpacks to more than 1 MB"):
        import_anki(rt, user_id=uid, data=bomb)
    _nothing_imported(rt, uid)


def test_learners_are_isolated(runtime, make_user):
    me, other = make_user(), make_user()
    import_anki(runtime, user_id=other, data=decks.legacy_deck(back="theirs"))
    theirs = bank(runtime, other)
    import_anki(runtime, user_id=me, data=decks.legacy_deck(back="mine"))
    # The same guids made my own questions; the other learner's were not touched.
    mine = bank(runtime, me)
    assert set(mine) == set(theirs)
    assert not {q.id for q in mine.values()} & {q.id for q in theirs.values()}
    assert bank(runtime, other)["anki:basic-guid:0"].answer == "theirs"
    assert mine["anki:basic-guid:0"].answer == "mine"
    assert len(attempts(runtime, me)) == 3 and len(attempts(runtime, other)) == 3
    with runtime.session_factory() as s:
        assert (
            s.scalar(
                select(func.count())
                .select_from(Attempt)
                .where(
                    Attempt.user_id == me, Attempt.question_id.in_([q.id for q in theirs.values()])
                )
            )
            == 0
        )


def tags_of(rt, uid) -> dict[str, tuple[str, ...]]:
    """The learner's questions' tags by external key, read as the bank reads them."""
    rows = list_questions(rt, user_id=uid, limit=200).questions
    keys = {q.id: q.external_key for q in bank(rt, uid).values()}
    return {keys[q.id]: q.tags for q in rows}


def keys_tagged(rt, uid, tag) -> set[str]:
    keys = {q.id: q.external_key for q in bank(rt, uid).values()}
    page = list_questions(rt, user_id=uid, tag=tag, limit=200)
    assert page.total == len(page.questions)
    return {keys[q.id] for q in page.questions}


BASIC_TAGS = ("greetings", "Lang::Spanish::A1", "exam_2026")


def test_every_tag_of_a_note_is_kept_with_its_questions(runtime, make_user):
    uid = make_user()
    import_anki(runtime, user_id=uid, data=decks.legacy_deck(tags=BASIC_TAGS))
    tags = tags_of(runtime, uid)
    assert tags["anki:basic-guid:0"] == ("exam_2026", "greetings", "Lang::Spanish::A1")
    assert tags["anki:reversed-guid:0"] == () and tags["anki:cloze-guid:1"] == ()
    assert bank(runtime, uid)["anki:basic-guid:0"].topic == decks.SPANISH  # the deck path
    # The current format: tags as Anki stores them (space-separated, padded).
    other = make_user()
    import_anki(
        runtime, user_id=other, data=decks.current_deck(basic_tags=" bio Bio::Cells::ATP exam ")
    )
    assert tags_of(runtime, other) == {
        "anki:new-basic:0": ("bio", "Bio::Cells::ATP", "exam"),
        "anki:new-cloze:0": (),
    }
    assert bank(runtime, other)["anki:new-basic:0"].topic == "Bio::Cells"


def test_reimport_replaces_the_tags_without_duplicates(runtime, make_user):
    uid = make_user()
    import_anki(runtime, user_id=uid, data=decks.legacy_deck(tags=("greetings", "old")))
    import_anki(runtime, user_id=uid, data=decks.legacy_deck(tags=("greetings", "new::tag")))
    import_anki(runtime, user_id=uid, data=decks.legacy_deck(tags=("greetings", "new::tag")))
    assert tags_of(runtime, uid)["anki:basic-guid:0"] == ("greetings", "new::tag")
    with runtime.session_factory() as s:
        assert s.scalar(select(func.count()).select_from(QuestionTag)) == 2
    assert bank_tags(runtime, user_id=uid) == ["greetings", "new", "new::tag"]


def test_the_bank_filters_by_a_tag_and_the_tags_below_it(runtime, make_user):
    uid = make_user()
    import_anki(runtime, user_id=uid, data=decks.legacy_deck(tags=BASIC_TAGS))
    assert bank_tags(runtime, user_id=uid) == [
        "exam_2026",
        "greetings",
        "Lang",
        "Lang::Spanish",
        "Lang::Spanish::A1",
    ]
    basic = {"anki:basic-guid:0"}
    assert keys_tagged(runtime, uid, "Lang") == basic
    assert keys_tagged(runtime, uid, "Lang::Spanish::A1") == basic
    assert keys_tagged(runtime, uid, "greetings") == basic
    # A tag matches whole levels only, and LIKE's wildcards are literal.
    assert keys_tagged(runtime, uid, "Lang::Span") == set()
    assert keys_tagged(runtime, uid, "exam%") == set()
    assert keys_tagged(runtime, uid, "exam_2026") == basic
    assert keys_tagged(runtime, uid, "examx2026") == set()
    # Filters combine: the tagged question is a flashcard, not a cloze.
    assert list_questions(runtime, user_id=uid, tag="Lang", question_type="cloze").total == 0


def test_tags_are_the_learners_own(runtime, make_user):
    me, other = make_user(), make_user()
    import_anki(runtime, user_id=other, data=decks.legacy_deck(tags=("greetings", "theirs::x")))
    import_anki(runtime, user_id=me, data=decks.legacy_deck(tags=("greetings",)))
    assert bank_tags(runtime, user_id=me) == ["greetings"]
    assert list_questions(runtime, user_id=me, tag="theirs").total == 0
    mine = {q.id for q in bank(runtime, me).values()}
    found = list_questions(runtime, user_id=me, tag="greetings").questions
    assert [q.id for q in found] == [bank(runtime, me)["anki:basic-guid:0"].id]
    assert {q.id for q in found} <= mine
    theirs = bank(runtime, other)["anki:basic-guid:0"].id
    with runtime.session_factory() as s:
        assert s.scalars(select(QuestionTag.tag).where(QuestionTag.question_id == theirs)).all()
    assert tags_for_question(runtime, me, theirs) is None


def tags_for_question(rt, uid, qid):
    try:
        return get_question(rt, user_id=uid, question_id=qid).tags
    except NotFound:
        return None


def test_tags_go_with_the_question_and_the_account_and_are_exported(runtime, make_user):
    me, other = make_user(), make_user()
    for uid in (me, other):
        import_anki(runtime, user_id=uid, data=decks.legacy_deck(tags=BASIC_TAGS))
    basic = bank(runtime, me)["anki:basic-guid:0"].id
    assert get_question(runtime, user_id=me, question_id=basic).tags == tuple(
        sorted(BASIC_TAGS, key=str.casefold)
    )
    zf = zipfile.ZipFile(io.BytesIO(account_data.export_account_bytes(runtime, user_id=me)))
    exported = list(csv.DictReader(io.StringIO(zf.read("question_tags.csv").decode())))
    assert sorted((int(r["question_id"]), r["tag"]) for r in exported) == [
        (basic, t) for t in sorted(BASIC_TAGS)
    ]
    assert {r["user_id"] for r in exported} == {str(me)}

    def count(uid):
        with runtime.session_factory() as s:
            return s.scalar(
                select(func.count()).select_from(QuestionTag).where(QuestionTag.user_id == uid)
            )

    delete_question(runtime, user_id=me, question_id=basic)
    assert count(me) == 0 and bank_tags(runtime, user_id=me) == []
    import_anki(runtime, user_id=me, data=decks.legacy_deck(tags=BASIC_TAGS))
    assert count(me) == 3
    account_data.delete_account(runtime, user_id=me)
    assert count(me) == 0 and count(other) == 3


@pytest.fixture
def cli(settings, monkeypatch):
    monkeypatch.setenv("GROUNDWORK_NEW_USER_PASSWORD", "a long enough password 42")
    get_runtime.cache_clear()
    yield main
    get_runtime().close()
    get_runtime.cache_clear()


def test_cli_import_prints_the_summary_as_json(runtime, cli, tmp_path, capsys):
    path = tmp_path / "deck.apkg"
    path.write_bytes(decks.legacy_deck())
    assert (
        cli(["import-anki", str(path), "--user", "anki@example.com", "--create-user", "--json"])
        == 0
    )
    out = json.loads(capsys.readouterr().out)  # stdout is the JSON alone
    assert out == {
        "notes": 3,
        "questions": 5,
        "reviews": 3,
        "media": 0,
        "skipped": {"image_missing": 1, "media_reference": 1, "review_not_imported": 1},
    }
    uid = get_account(runtime, email="anki@example.com").user_id
    assert main(["import-anki", str(path), "--user", "anki@example.com", "--json"]) == 0
    again = json.loads(capsys.readouterr().out)
    assert (again["questions"], again["reviews"]) == (5, 0)
    assert len(bank(runtime, uid)) == 5  # the second import updated them
    bad = tmp_path / "bad.apkg"
    bad.write_bytes(b"nope")
    assert main(["import-anki", str(bad), "--user", "anki@example.com", "--json"]) == 1
    assert "not a zip file" in capsys.readouterr().err


def test_the_personal_fsrs_fit_reads_the_imported_history(runtime, make_user):
    uid = make_user()
    package, n = decks.simulated_package(60, 8)
    assert import_anki(runtime, user_id=uid, data=package).reviews == n == 480
    seen: list[int] = []

    def fit(reviews):  # the optimiser itself is the fsrs package's (bench.anki_import runs it)
        seen.append(len(reviews))
        return fsrs6.DEFAULT_FSRS_PARAMETERS

    result = optimise_fsrs(runtime, user_id=uid, fit=fit)
    assert result.n_reviews == 480 and seen == [384]  # fitted on the earlier 80%
    assert result.current_log_loss is not None
