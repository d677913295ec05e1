"""A hostile PDF (image and link Markdown in its body, title metadata and file name), ingested,
with questions generated from it, shown on every page: nothing renders as a link or image."""

from __future__ import annotations

import pytest

from engine.db.models import User
from tests.app.conftest import click_generate, run_root
from tests.support.hostile import (
    flag_with_hostile_note,
    generate_hostile_questions,
    ingest_hostile,
    renders_link_or_image,
    shown_text,
)
from tests.support.practice import answer_today

BASE = "http://127.0.0.1:9/hostile"


def rendered_markdown(at) -> list[str]:
    """Every string on screen that Streamlit renders as Markdown."""
    out: list[str] = []
    for kind in (
        "markdown",
        "caption",
        "title",
        "header",
        "subheader",
        "success",
        "info",
        "warning",
        "error",
        "toast",
    ):
        out += [str(e.value) for e in getattr(at, kind)]
    out += [b.label for b in at.expander] + [b.label for b in at.status]
    out += [t.label for t in at.tabs] + [b.label for b in at.button]
    for radio in at.radio:
        out += [radio.label, *[str(o) for o in radio.options]]
    out += [p.proto.text for p in at.get("progress")]
    return out


def assert_safe(at, page: str, *, expect: str | None = "](") -> None:
    assert not at.exception, at.exception
    strings = rendered_markdown(at)
    bad = [s for s in strings if renders_link_or_image(s)]
    assert bad == [], f"{page}: rendered as a link or image: {bad[:3]}"
    if expect is not None:  # the hostile text is on screen, shown literally
        assert any(expect in shown_text(s) for s in strings), f"{page}: hostile text not shown"


@pytest.fixture
def hostile_learner(signed_in_app, runtime, llm_stub):
    at = signed_in_app()
    uid = at.session_state["gw_account"].user_id
    with runtime.session_factory.begin() as s:  # a learner-chosen name with Markdown in it
        s.get(User, uid).display_name = f"Eve ![x]({BASE}/name.png)"
    material = ingest_hostile(runtime, uid, BASE)
    assert "click](" in material.title and "click](" in material.filename
    qids = generate_hostile_questions(runtime, uid, BASE, llm_stub)
    assert qids
    return at, uid, material, qids


def test_hostile_pdf_renders_no_link_or_image_on_any_page(hostile_learner, runtime):
    at, uid, material, qids = hostile_learner
    from engine.accounts import get_account

    with runtime.session_factory() as s:  # the session's account, with its new display name
        email = s.get(User, uid).email
    at.session_state["gw_account"] = get_account(runtime, email=email)
    assert_safe(run_root(at), "Home")

    at.switch_page("pages/library.py").run()
    at.selectbox(key="library_open").set_value(material.id).run()
    assert_safe(at, "Library (material open)")
    at.text_input(key="library_query").input("photosynthesis chloroplasts").run()
    assert_safe(at, "Library (search)")
    at.button(key=f"library_delete_{material.id}")  # present, not clicked

    at.switch_page("pages/question_bank.py").run()
    assert_safe(at, "Question bank")

    at.switch_page("pages/generate.py").run()
    assert_safe(at, "Generate", expect=None)
    click_generate(at)
    assert_safe(at, "Generate (offline preview)")

    at.switch_page("pages/today.py").run()
    assert_safe(at, "Today (question)")
    answer_today(at, 1, 4)  # any option
    assert_safe(at, "Today (feedback)")

    flag_with_hostile_note(runtime, uid, qids[-1], BASE)
    at.switch_page("pages/reviews.py").run()
    assert_safe(at, "Reviews")

    at.switch_page("pages/profile.py").run()
    assert_safe(at, "Profile", expect=None)


def test_library_toast_after_deleting_a_hostile_material(hostile_learner):
    at, _, material, _ = hostile_learner
    at.switch_page("pages/library.py").run()
    at.selectbox(key="library_open").set_value(material.id).run()
    at.checkbox(key=f"library_confirm_delete_{material.id}").check().run()
    at.button(key=f"library_delete_{material.id}").click().run()
    assert [t for t in at.toast if "Deleted" in t.value]
    assert_safe(at, "Library (after delete)")


def test_the_check_sees_unescaped_markdown():
    assert renders_link_or_image(f"![x]({BASE}/p.png)")
    assert renders_link_or_image(f"[click]({BASE})")
    assert renders_link_or_image(f"see {BASE}")
    from ui.text import escape_markdown

    assert not renders_link_or_image(escape_markdown(f"![x]({BASE}/p.png) [click]({BASE})"))
    assert "[click](" in shown_text(escape_markdown(f"[click]({BASE})"))
