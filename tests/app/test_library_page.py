"""AppTest for the Library page: upload, refused file, password retry, preview, rename, delete,
search."""

from __future__ import annotations

import threading
import time

from sqlalchemy import func, select

from engine import library
from engine.db.models import Chunk, Material
from tests.support.library_pdfs import blank_pages_pdf, encrypted_pdf, text_pdf

GLACIERS = (
    "Glaciers form where snowfall exceeds melting for many years. The snow compacts into firn "
    "and then into dense glacial ice, which flows downhill under its own weight."
)
TIDES = (
    "Ocean tides are caused by the gravitational pull of the Moon and the Sun. Spring tides "
    "occur when the Sun, Moon and Earth are aligned."
)


def _open_library(signed_in_app):
    at = signed_in_app()
    at.switch_page("pages/library.py").run()
    assert not at.exception
    return at


def _messages(at) -> str:
    parts = [e.value for e in at.error] + [w.value for w in at.warning]
    parts += [s.value for s in at.success] + [i.value for i in at.info]
    parts += [m.value for m in at.markdown] + [c.value for c in at.caption]
    return "\n".join(str(p) for p in parts)


def _counts(runtime, user_id):
    with runtime.session_factory() as s:
        return (
            s.scalar(select(func.count()).select_from(Material).where(Material.user_id == user_id)),
            s.scalar(select(func.count()).select_from(Chunk).where(Chunk.user_id == user_id)),
            library.vector_count(runtime, user_id=user_id),
        )


def _settle(at, timeout_s: float = 120.0):
    """Rerun until the background ingestion of every upload has finished and been shown."""
    deadline = time.monotonic() + timeout_s
    at.run()
    while at.session_state["library_jobs"]:
        assert time.monotonic() < deadline, "ingestion did not finish"
        assert not at.exception
        time.sleep(0.2)
        at.run()
    return at


def test_empty_library_says_what_to_do(signed_in_app):
    at = _open_library(signed_in_app)
    assert at.title[0].value == "Library"
    assert "Your library is empty" in _messages(at)


def test_upload_several_then_search_preview_rename_delete(signed_in_app, runtime):
    at = _open_library(signed_in_app)
    uid = at.session_state["gw_account"].user_id
    at.file_uploader(key="library_upload").set_value(
        [
            ("glaciers.pdf", text_pdf([GLACIERS], title="Glaciers"), "application/pdf"),
            ("scan.pdf", blank_pages_pdf(2), "application/pdf"),
        ]
    )
    _settle(at)
    assert not at.exception
    text = _messages(at)
    assert "Added “Glaciers”: 1 page, 1 passage." in text
    assert "no text that can be read" in text  # the scan is refused with its reason
    assert _counts(runtime, uid) == (1, 1, 1)
    assert at.dataframe[0].value["Title"].tolist() == ["Glaciers"]

    # a rerun does not read the same uploads again
    at.run()
    assert _counts(runtime, uid) == (1, 1, 1)

    at.text_input(key="library_query").input("how does snow become ice")
    at.button[-1].click()  # the search form's submit button
    at.run()
    assert not at.exception
    assert any("Glaciers" in m.value and "p. 1" in m.value for m in at.markdown)
    assert any("firn" in m.value for m in at.markdown)

    material_id = at.dataframe and runtime.session_factory().scalar(
        select(Material.id).where(Material.user_id == uid)
    )
    at.selectbox(key="library_open").set_value(material_id).run()
    assert any("firn" in t.value for t in at.text)  # page 1 preview

    at.text_input(key=f"library_title_{material_id}").input("Ice and snow")
    next(b for b in at.button if b.label == "Save title").click()
    at.run()
    assert at.dataframe[0].value["Title"].tolist() == ["Ice and snow"]

    delete = at.button(key=f"library_delete_{material_id}")
    assert delete.disabled  # needs the confirmation first
    at.checkbox(key=f"library_confirm_delete_{material_id}").check().run()
    at.button(key=f"library_delete_{material_id}").click().run()
    assert not at.exception
    assert _counts(runtime, uid) == (0, 0, 0)
    assert "Your library is empty" in _messages(at)


def test_encrypted_upload_asks_for_the_password(signed_in_app, runtime):
    at = _open_library(signed_in_app)
    uid = at.session_state["gw_account"].user_id
    at.file_uploader(key="library_upload").set_value(
        ("tides.pdf", encrypted_pdf(TIDES, "moon-42"), "application/pdf")
    )
    _settle(at)
    assert "protected by a password" in _messages(at)
    assert _counts(runtime, uid) == (0, 0, 0)

    password_box = next(t for t in at.text_input if t.key.startswith("library_password_"))
    password_box.input("wrong one")
    next(b for b in at.button if b.label == "Open with this password").click()
    _settle(at)
    assert "does not open this PDF" in _messages(at)
    assert _counts(runtime, uid) == (0, 0, 0)

    password_box = next(t for t in at.text_input if t.key.startswith("library_password_"))
    password_box.input("moon-42")
    next(b for b in at.button if b.label == "Open with this password").click()
    _settle(at)
    assert not at.exception
    assert "Added" in _messages(at)
    assert _counts(runtime, uid)[0] == 1


def test_page_stays_usable_while_a_file_is_read(signed_in_app, runtime, monkeypatch):
    from engine import library

    release = threading.Event()
    real_ingest = library.ingest_pdf

    def held_ingest(*args, **kwargs):
        assert release.wait(60), "test never released the ingestion"
        return real_ingest(*args, **kwargs)

    monkeypatch.setattr(library, "ingest_pdf", held_ingest)
    at = _open_library(signed_in_app)
    uid = at.session_state["gw_account"].user_id
    at.file_uploader(key="library_upload").set_value(
        ("glaciers.pdf", text_pdf([GLACIERS], title="Glaciers"), "application/pdf")
    )
    at.run()
    # The run finished while the file is still being read: progress shows, the page renders.
    assert not at.exception
    assert at.session_state["library_jobs"]
    assert "keep using Groundwork" in " ".join(c.value for c in at.caption)
    assert "Your library is empty" in _messages(at)
    at.switch_page("pages/home.py").run()  # the learner can go elsewhere meanwhile
    assert not at.exception
    at.switch_page("pages/library.py")
    release.set()
    _settle(at)
    assert "Added “Glaciers”" in _messages(at)
    assert _counts(runtime, uid) == (1, 1, 1)
