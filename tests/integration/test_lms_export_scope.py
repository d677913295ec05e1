"""LMS exports from the database: the selection (all, one material, one topic) and isolation:
an export holds only the learner's own questions."""

from __future__ import annotations

import io
import zipfile
from xml.etree import ElementTree as ET

import pytest

from engine.errors import InvalidInput
from engine.interop.export_service import LmsFormat, Selection, export_for_lms
from tests.support.analytics import add_material
from tests.support.practice import add_question


@pytest.fixture
def two_learners(runtime, make_user):
    sf = runtime.session_factory
    me, other = make_user(), make_user()
    mine = add_material(sf, me, "Cells")
    theirs = add_material(sf, other, "Other's secret")
    q = {
        "mcq": add_question(sf, me, material_id=mine, material_title="Cells", topic="atp"),
        "cloze": add_question(
            sf,
            me,
            material_id=mine,
            material_title="Cells",
            type="cloze",
            options=None,
            correct_index=None,
            topic="langs",
            stem="Languages such as _____ and _____.",
            answer="Python; Ruby",
        ),
        "retired": add_question(
            sf, me, material_id=mine, material_title="Cells", status="retired", stem="Retired one?"
        ),
    }
    secret = add_question(
        sf,
        other,
        material_id=theirs,
        material_title="Other's secret",
        stem="Secret question?",
        topic="atp",
    )
    return me, mine, q, other, theirs, secret


def qti_ids(data: bytes) -> set[str]:
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        manifest = ET.fromstring(z.read("imsmanifest.xml"))
        return {r.get("identifier") for r in manifest.iter() if r.tag.endswith("}resource")}


def test_exports_hold_only_the_learners_selected_questions(runtime, two_learners):
    me, mine, q, _other, _theirs, secret = two_learners
    everything = export_for_lms(runtime, user_id=me, selection=Selection(), fmt=LmsFormat.QTI)
    assert everything.questions == 2
    assert qti_ids(everything.data) == {f"RES-Q{q['mcq']}", f"RES-Q{q['cloze']}"}
    topic = export_for_lms(runtime, user_id=me, selection=Selection(topic="atp"), fmt=LmsFormat.QTI)
    assert qti_ids(topic.data) == {f"RES-Q{q['mcq']}"}  # not the other learner's "atp"
    material = export_for_lms(
        runtime, user_id=me, selection=Selection(material_id=mine), fmt=LmsFormat.MOODLE
    )
    assert material.questions == 2
    for fmt in LmsFormat:
        text = export_for_lms(runtime, user_id=me, selection=Selection(), fmt=fmt).data
        if fmt is LmsFormat.QTI:
            with zipfile.ZipFile(io.BytesIO(text)) as z:
                text = b"".join(z.read(n) for n in z.namelist())
        assert b"Secret question?" not in text and b"Other's secret" not in text
        assert b"Retired one?" not in text
        assert f"Q{secret}".encode() not in text
    gift = export_for_lms(runtime, user_id=me, selection=Selection(), fmt=LmsFormat.GIFT)
    assert b"{=Python " in gift.data and b"{=Ruby " in gift.data


def test_another_learners_material_exports_nothing(runtime, two_learners):
    me, _mine, _q, _other, theirs, _secret = two_learners
    for fmt in LmsFormat:
        with pytest.raises(InvalidInput, match="no questions to export"):
            export_for_lms(runtime, user_id=me, selection=Selection(material_id=theirs), fmt=fmt)
