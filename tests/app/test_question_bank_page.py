"""AppTest for the Question bank: empty state, filters, source shown, edit, confirmed delete."""

from __future__ import annotations

import time

from engine.bank import service as bank
from engine.generation import service
from tests.support.generation_data import BIOLOGY, HISTORY, add_material


def texts(at) -> str:
    parts = [m.value for m in at.markdown] + [c.value for c in at.caption]
    parts += [e.value for e in at.error] + [i.value for i in at.info]
    parts += [s.value for s in at.success] + [w.value for w in at.warning]
    parts += [x.label for x in at.expander]
    return "\n".join(str(p) for p in parts).replace("\\", "")


def open_bank(at):
    at.switch_page("pages/question_bank.py").run()
    assert not at.exception
    return at


def seed(runtime, settings, uid):
    bio, _ = add_material(runtime.session_factory, uid, "Biology notes", BIOLOGY)
    his, _ = add_material(runtime.session_factory, uid, "Roman history", HISTORY)
    drafts = service.generate_questions(
        runtime, user_id=uid, material_ids=[bio], question_type="mcq", count=2
    ).drafts
    drafts += service.generate_questions(
        runtime, user_id=uid, material_ids=[his], question_type="cloze", count=2
    ).drafts
    ids = bank.save_questions(runtime, user_id=uid, drafts=drafts)
    return bio, his, ids


def test_empty_bank(signed_in_app):
    at = open_bank(signed_in_app())
    assert "Your bank is empty" in texts(at)


def test_browse_filter_edit_delete(signed_in_app, runtime, settings, make_user):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    bio, his, ids = seed(runtime, settings, uid)
    # Another learner's questions never show.
    other = make_user()
    seed(runtime, settings, other)
    open_bank(at)
    assert len(at.expander) == 4
    shown = texts(at)
    assert "Showing 1–4 of 4" in shown
    assert "Biology notes · p." in shown and "Roman history · p." in shown

    at.selectbox(key="bank_material").set_value(his).run()
    assert len(at.expander) == 2 and "Biology notes" not in texts(at)
    at.selectbox(key="bank_material").set_value(None)
    at.selectbox(key="bank_type").set_value("mcq").run()
    assert len(at.expander) == 2
    at.selectbox(key="bank_type").set_value(None)
    at.selectbox(key="bank_status").set_value("retired").run()
    assert "No questions match these filters" in texts(at)
    at.selectbox(key="bank_status").set_value(None).run()

    # Edit: difficulty and status change, the source stays.
    target = ids[0]
    at.button(key=f"bank_{target}_edit").click().run()
    at.text_area(key=f"bank_{target}_stem").set_value("Which word completes the edited stem?")
    at.selectbox(key=f"bank_{target}_status").set_value("flagged")
    next(b for b in at.button if b.label == "Save").click().run()
    assert not at.exception
    q = bank.get_question(runtime, user_id=uid, question_id=target)
    assert q.stem == "Which word completes the edited stem?" and q.status == "flagged"
    assert "Question saved." in texts(at)

    # Delete asks first; "Keep it" keeps it.
    at.button(key=f"bank_{target}_delete").click().run()
    assert "cannot be undone" in texts(at)
    at.button(key=f"bank_{target}_keep").click().run()
    assert bank.list_questions(runtime, user_id=uid).total == 4
    at.button(key=f"bank_{target}_delete").click().run()
    at.button(key=f"bank_{target}_confirm").click().run()
    assert not at.exception
    assert bank.list_questions(runtime, user_id=uid).total == 3
    assert "Question deleted." in texts(at)


def test_export_for_an_lms_offers_the_learners_questions(
    signed_in_app, runtime, settings, make_user
):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    _bio, his, _ids = seed(runtime, settings, uid)
    other = make_user()
    _, _, other_ids = seed(runtime, settings, other)
    open_bank(at)
    at.selectbox(key="bank_lms_format").set_value("gift")
    at.radio(key="bank_lms_scope").set_value("material")
    at.selectbox(key="bank_lms_material").set_value(his)
    next(b for b in at.button if b.label == "Prepare the file").click().run()
    assert not at.exception
    prepared = at.session_state["bank_lms_file"]
    assert prepared.file_name == "groundwork.gift.txt" and prepared.questions == 2
    gift = prepared.data.decode()
    assert "{=" in gift and "Roman history" in gift and "Biology notes" not in gift
    assert all(f"::Q{i}" not in gift for i in other_ids)
    buttons = at.get("download_button")
    assert [b.proto.label for b in buttons] == ["Download groundwork.gift.txt (2 questions)"]
    # The QTI package of everything.
    at.selectbox(key="bank_lms_format").set_value("qti")
    at.radio(key="bank_lms_scope").set_value("all")
    next(b for b in at.button if b.label == "Prepare the file").click().run()
    assert at.session_state["bank_lms_file"].questions == 4


def _until_import_ends(at, timeout_s: float = 90.0):
    """Rerun the page until the Anki import job has ended (the app's own worker runs it)."""
    from engine.domain.vocabulary import JobKind
    from engine.jobs import recent_jobs
    from ui.runtime import get_runtime

    uid = at.session_state["gw_account"].user_id
    deadline = time.monotonic() + timeout_s
    while True:
        at.run()
        assert not at.exception
        latest = recent_jobs(get_runtime(), user_id=uid, kinds=(JobKind.IMPORT_ANKI,), limit=1)
        if latest and latest[0].finished:
            return at.run()
        assert time.monotonic() < deadline, "the import did not finish"
        time.sleep(0.2)


def test_import_from_anki_with_pictures_then_a_refused_file(signed_in_app, runtime):
    from tests.support.anki_decks import image, legacy_deck, with_legacy_media

    at = open_bank(signed_in_app())
    uid = at.session_state["gw_account"].user_id
    png = image("PNG")
    package = with_legacy_media(legacy_deck(), [("wave.png", png)])
    at.file_uploader(key="bank_anki_file").set_value(
        [("spanish.apkg", package, "application/octet-stream")]
    ).run()
    next(b for b in at.button if b.label == "Import").click().run()
    _until_import_ends(at)
    shown = texts(at)
    assert "Imported 5 questions from 3 notes and 3 reviews." in shown
    assert (
        "Imported 5 questions from 3 notes (5 new, 0 updated), 3 reviews and 1 picture. "
        "Skipped: 1 sounds or videos in fields; 1 review log entries already imported or not "
        "answers."
    ) in shown
    assert bank.list_questions(runtime, user_id=uid).total == 5 and len(at.expander) == 5
    pictures = at.get("image")  # st.image: drawn from the stored bytes, not the note's HTML
    assert len(pictures) == 1
    at.file_uploader(key="bank_anki_file").set_value(
        [("notes.apkg", b"not a zip", "application/octet-stream")]
    ).run()
    next(b for b in at.button if b.label == "Import").click().run()
    _until_import_ends(at)
    assert "it is not a zip file" in texts(at)
    assert bank.list_questions(runtime, user_id=uid).total == 5


def test_import_a_csv_then_a_refused_one(signed_in_app, runtime):
    at = open_bank(signed_in_app())
    uid = at.session_state["gw_account"].user_id
    at.file_uploader(key="bank_csv_file").set_value(
        [("cards.csv", b"front,back\nperro,dog\ngato,cat\n", "text/csv")]
    ).run()
    next(b for b in at.button if b.label == "Import CSV").click().run()
    assert not at.exception
    assert "Imported 2 questions from the CSV (2 new, 0 updated)." in texts(at)
    assert bank.list_questions(runtime, user_id=uid).total == 2
    at.file_uploader(key="bank_csv_file").set_value(
        [("bad.csv", b"question,reply\na,b\n", "text/csv")]
    ).run()
    next(b for b in at.button if b.label == "Import CSV").click().run()
    assert "needs a header" in texts(at)
    assert bank.list_questions(runtime, user_id=uid).total == 2


def test_rows_show_material_page_type_status_and_quality_and_flag_confirms(
    signed_in_app, runtime, settings
):
    """Each row reads at a glance without opening it; Flag records the flag and says so."""
    from sqlalchemy import select

    from engine.db.models import Flag, Question

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    _, _, ids = seed(runtime, settings, uid)
    with runtime.session_factory.begin() as s:
        s.get(Question, ids[0]).quality_score = 0.8
    open_bank(at)
    first = bank.get_question(runtime, user_id=uid, question_id=ids[0])
    glance = f"Biology notes · p. {first.page_start} · Multiple choice · Active · quality 0.80"
    outside = [c.value for c in at.caption]
    inside = [c.value for e in at.expander for c in e.caption]
    assert glance in outside and glance not in inside
    assert any(
        v.startswith("Roman history · p.") and "Cloze" in v and v.endswith("Active · unrated")
        for v in outside
    ), outside

    at.radio(key=f"bank_{ids[0]}_flag_reason").set_value("wrong")
    at.text_area(key=f"bank_{ids[0]}_flag_note").input("Two options are right")
    at.button(key=f"FormSubmitter:bank_{ids[0]}_flag-Flag question").click().run()
    assert not at.exception
    assert [t.value for t in at.toast] == [
        "Flagged. It is out of your queues until you keep, retire or replace it on the "
        "Reviews page."
    ]
    flagged = glance.replace("Active", "Flagged").split(" · quality")[0]
    assert any(c.value.startswith(flagged) for c in at.caption), [c.value for c in at.caption]
    with runtime.session_factory() as s:
        assert s.execute(select(Flag.question_id, Flag.reason, Flag.note)).all() == [
            (ids[0], "wrong", "Two options are right")
        ]


def test_filter_by_tag_and_tags_on_each_row(signed_in_app, runtime, make_user):
    """Imported tags: a compact line on the row, a Tag filter offering the learner's own tags
    (and the levels above them), finding a tag and the tags below it."""
    from engine.interop.anki_import import import_anki
    from tests.support.anki_decks import legacy_deck
    from ui.text import escape_markdown

    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    open_bank(at)
    assert not [s for s in at.selectbox if s.key == "bank_tag"]  # no tags yet: no filter
    hostile = "a_[x](http://evil.example)"
    tags = ("greetings", "Lang::Spanish::A1", "exam", hostile)
    import_anki(runtime, user_id=uid, data=legacy_deck(tags=tags))
    import_anki(runtime, user_id=make_user(), data=legacy_deck(tags=("theirs::secret",)))
    open_bank(at)
    assert len(at.expander) == 5
    assert at.selectbox(key="bank_tag").options == [
        "Any tag",
        hostile,
        "exam",
        "greetings",
        "Lang",
        "Lang::Spanish",
        "Lang::Spanish::A1",
    ]
    # The first three of the row's tags, escaped (a tag is untrusted text), and how many more.
    rows = [c.value for c in at.caption if "tags " in c.value]
    assert len(rows) == 1
    assert rows[0].endswith(" · tags " + escape_markdown(f"{hostile}, exam, greetings +1"))
    assert "[x](" not in rows[0]
    at.selectbox(key="bank_tag").set_value("Lang").run()
    assert not at.exception and len(at.expander) == 1
    assert "Showing 1–1 of 1" in texts(at)
    at.selectbox(key="bank_type").set_value("cloze").run()
    assert "No questions match these filters" in texts(at)
    at.selectbox(key="bank_type").set_value(None)
    at.selectbox(key="bank_tag").set_value(None).run()
    assert len(at.expander) == 5
