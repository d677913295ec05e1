"""LMS exports (QTI 2.1 package, Moodle XML, GIFT) written from plain questions.

The QTI package is validated against the IMS QTI 2.1 and Content Packaging 1.1 XSDs
(tests/data/qti_xsd), and checked for the cross-references an XSD cannot express (every
interaction declared, the manifest listing every item file).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path
from xml.etree import ElementTree as ET

import pytest
from lxml import etree

from engine.interop import lms

NS = {"q": lms.QTI_NS, "cp": lms.CP_NS}
NCNAME = re.compile(r"^[A-Za-z_][\w.-]*$")
HOSTILE = "Pick }{=evil ~x #y :: \\ one\nline two"

MCQ = lms.ExportQuestion(
    1,
    "mcq",
    "Which organelle makes ATP? " + HOSTILE,
    ["Nucleus", "Mito~chondrion {=}", "Ribosome"],
    1,
    "Mitochondrion",
    "Respiration.",
    "Cell <b>Biology</b>, p. 4",
    "cells",
)
LIST = lms.ExportQuestion(
    2,
    "cloze",
    "Scripting languages such as _____, _____, and _____.",
    None,
    None,
    "JavaScript; Python; Ruby",
    "",
    "Langs, p. 2",
    None,
)
ONE = lms.ExportQuestion(
    3,
    "cloze",
    "ATP is made in the _____.",
    None,
    None,
    "mitochondrion",
    "",
    "Cell Biology, p. 5",
    "cells",
)
SHORT = lms.ExportQuestion(
    4,
    "short",
    "Explain why {x} matters.",
    None,
    None,
    "Because of #1: the {gradient}.",
    "",
    "Cell Biology, p. 6",
    None,
)
ALL = [MCQ, LIST, ONE, SHORT]


def qti_files(questions: list[lms.ExportQuestion]) -> dict[str, ET.Element]:
    with zipfile.ZipFile(io.BytesIO(lms.qti_package(questions))) as z:
        return {name: ET.fromstring(z.read(name)) for name in z.namelist()}


def tag(el: ET.Element) -> str:
    return el.tag.split("}")[1]


ITEM_ORDER = [
    "responseDeclaration",
    "outcomeDeclaration",
    "templateDeclaration",
    "templateProcessing",
    "stylesheet",
    "itemBody",
    "responseProcessing",
    "modalFeedback",
]


def check_item(item: ET.Element) -> dict[str, list[str]]:
    """The spec's requirements of an assessmentItem; returns each response's correct values."""
    assert item.tag == f"{{{lms.QTI_NS}}}assessmentItem"
    for attr in ("identifier", "title", "adaptive", "timeDependent"):
        assert item.get(attr), attr
    assert NCNAME.match(item.get("identifier"))
    order = [ITEM_ORDER.index(tag(child)) for child in item]
    assert order == sorted(order), [tag(c) for c in item]
    assert [tag(c) for c in item].count("itemBody") == 1
    declared: dict[str, list[str]] = {}
    for decl in item.findall("q:responseDeclaration", NS):
        assert decl.get("cardinality") in ("single", "multiple", "ordered", "record")
        assert NCNAME.match(decl.get("identifier"))
        declared[decl.get("identifier")] = [v.text for v in decl.iterfind(".//q:value", NS)]
    outcomes = {o.get("identifier") for o in item.findall("q:outcomeDeclaration", NS)}
    assert "SCORE" in outcomes
    body = item.find("q:itemBody", NS)
    used = [el.get("responseIdentifier") for el in body.iter() if tag(el).endswith("Interaction")]
    assert sorted(used) == sorted(declared), "every interaction declared and every declaration used"
    for gap in body.iter(f"{{{lms.QTI_NS}}}textEntryInteraction"):
        assert int(gap.get("expectedLength")) > 0
    for parent in body.iter():  # inline interactions sit inside a block such as <p>
        for child in parent:
            if tag(child) == "textEntryInteraction":
                assert tag(parent) == "p"
    for fb in item.findall("q:modalFeedback", NS):
        assert fb.get("outcomeIdentifier") in outcomes and fb.get("showHide") in ("show", "hide")
        assert NCNAME.match(fb.get("identifier"))
    for var in item.find("q:responseProcessing", NS).iter():
        if tag(var) in ("variable", "correct", "setOutcomeValue"):
            assert var.get("identifier") in set(declared) | outcomes
    return declared


def test_qti_package_manifest_lists_every_item_file():
    files = qti_files(ALL)
    manifest = files.pop("imsmanifest.xml")
    assert manifest.tag == f"{{{lms.CP_NS}}}manifest" and manifest.get("identifier")
    assert manifest.find("cp:organizations", NS) is not None
    resources = manifest.findall("cp:resources/cp:resource", NS)
    assert {r.get("type") for r in resources} == {"imsqti_item_xmlv2p1"}
    assert sorted(r.get("href") for r in resources) == sorted(files)
    for r in resources:
        assert [f.get("href") for f in r.findall("cp:file", NS)] == [r.get("href")]
        assert NCNAME.match(r.get("identifier"))
    assert len(files) == 4


XSD = Path(__file__).resolve().parents[1] / "data" / "qti_xsd"


@pytest.fixture(scope="module")
def schemas() -> dict[str, etree.XMLSchema]:
    return {
        "item": etree.XMLSchema(etree.parse(XSD / "qtiv2p1" / "imsqti_v2p1.xsd")),
        "manifest": etree.XMLSchema(etree.parse(XSD / "imscp_v1p1.xsd")),
    }


def test_qti_package_is_valid_against_the_ims_schemas(schemas):
    with zipfile.ZipFile(io.BytesIO(lms.qti_package(ALL))) as z:
        files = {name: etree.fromstring(z.read(name)) for name in z.namelist()}
    assert len(files) == 5
    for name, doc in files.items():
        schema = schemas["manifest" if name == "imsmanifest.xml" else "item"]
        assert schema.validate(doc), f"{name}: {schema.error_log}"


def test_the_schema_check_catches_an_invalid_item(schemas):
    with zipfile.ZipFile(io.BytesIO(lms.qti_package([MCQ]))) as z:
        name = next(n for n in z.namelist() if n != "imsmanifest.xml")
        item = etree.fromstring(z.read(name))
    del item.attrib["identifier"]  # required by the schema
    assert not schemas["item"].validate(item)


def test_qti_items_by_type():
    files = qti_files(ALL)
    for name, item in files.items():
        if name != "imsmanifest.xml":
            check_item(item)
    mcq = files["items/Q1.xml"]
    choice = mcq.find("q:itemBody/q:choiceInteraction", NS)
    assert choice.get("maxChoices") == "1"
    assert choice.find("q:prompt", NS).text == MCQ.stem
    options = {c.get("identifier"): c.text for c in choice.findall("q:simpleChoice", NS)}
    assert list(options.values()) == list(MCQ.options)
    assert options[check_item(mcq)["RESPONSE"][0]] == "Mito~chondrion {=}"
    # Several blanks: separate gaps, each with its own answer, text kept around them.
    listed = files["items/Q2.xml"]
    assert check_item(listed) == {
        "RESPONSE1": ["JavaScript"],
        "RESPONSE2": ["Python"],
        "RESPONSE3": ["Ruby"],
    }
    para = listed.find("q:itemBody/q:p", NS)
    assert para.text == "Scripting languages such as "
    assert [g.tail for g in para] == [", ", ", and ", "."]
    assert check_item(files["items/Q3.xml"]) == {"RESPONSE1": ["mitochondrion"]}
    short = files["items/Q4.xml"]
    assert check_item(short) == {"RESPONSE": [SHORT.answer]}
    assert short.find("q:itemBody/q:extendedTextInteraction", NS) is not None
    # The source citation goes with every item.
    for name, item in files.items():
        if name != "imsmanifest.xml":
            assert "Source: " in item.find("q:modalFeedback", NS).text
    assert mcq.find("q:modalFeedback", NS).text == (
        "Respiration.\nSource: Cell <b>Biology</b>, p. 4"
    )


def unescape_gift(text: str) -> str:
    return re.sub(r"\\(.)", lambda m: "\n" if m[1] == "n" else m[1], text)


def unescaped(text: str, chars: str) -> list[str]:
    return re.findall(r"(?<!\\)(?:\\\\)*([" + re.escape(chars) + "])", text)


@pytest.mark.parametrize("text", [HOSTILE, "a = b", "{}", "::", "#", "~", "\\", "plain"])
def test_gift_escape_leaves_no_special_character_active(text):
    escaped = lms.gift_escape(text)
    assert unescaped(escaped, "~=#{}:") == [] and "\n" not in escaped
    assert unescape_gift(escaped) == text


def gift_questions(data: bytes) -> list[str]:
    return [
        block.strip()
        for block in data.decode().split("\n\n")
        if block.strip() and not block.startswith("$CATEGORY:")
    ]


def test_gift_questions_have_one_answer_set_each():
    questions = gift_questions(lms.gift(ALL))
    # The list cloze becomes one question per blank: GIFT allows one answer set per question.
    assert len(questions) == 6
    for q in questions:
        assert unescaped(q, "{") == ["{"] and unescaped(q, "}") == ["}"]
        assert q.startswith("::") and len(unescaped(q, ":")) >= 4
    mcq = next(q for q in questions if q.startswith("::Q1 "))
    answers = mcq[mcq.index(" {", mcq.index(lms.gift_escape(HOSTILE))) + 2 : -1]
    assert answers.startswith("~Nucleus =Mito\\~chondrion \\{\\=\\} ~Ribosome ####")
    assert "Source\\: Cell <b>Biology</b>, p. 4" in answers
    blanks = [q for q in questions if q.startswith("::Q2.")]
    assert [q.split("::", 2)[2] for q in blanks] == [
        "Scripting languages such as {=JavaScript ####Source\\: Langs, p. 2}, _____, and _____.",
        "Scripting languages such as _____, {=Python ####Source\\: Langs, p. 2}, and _____.",
        "Scripting languages such as _____, _____, and {=Ruby ####Source\\: Langs, p. 2}.",
    ]
    one = next(q for q in questions if q.startswith("::Q3 "))
    assert one.endswith("ATP is made in the {=mitochondrion ####Source\\: Cell Biology, p. 5}.")
    short = next(q for q in questions if q.startswith("::Q4 "))
    assert "Model answer\\: Because of \\#1\\: the \\{gradient\\}." in short


def test_moodle_xml_questions_by_type():
    quiz = ET.fromstring(lms.moodle_xml(ALL))
    kinds = [q.get("type") for q in quiz]
    assert kinds == ["category", "cloze", "essay", "category", "multichoice", "cloze"]
    assert [c.findtext("category/text") for c in quiz if c.get("type") == "category"] == [
        "$course$/Groundwork/Uncategorised",
        "$course$/Groundwork/cells",
    ]
    mcq = quiz[4]
    answers = [(a.get("fraction"), a.findtext("text")) for a in mcq.findall("answer")]
    assert answers == [("0", "Nucleus"), ("100", "Mito~chondrion {=}"), ("0", "Ribosome")]
    assert mcq.findtext("single") == "true"
    # HTML fields show learner text literally.
    assert mcq.findtext("questiontext/text").endswith("one<br>line two")
    assert mcq.findtext("generalfeedback/text") == (
        "Respiration.<br>Source: Cell &lt;b&gt;Biology&lt;/b&gt;, p. 4"
    )
    listed = quiz[1].findtext("questiontext/text")
    assert listed == (
        "Scripting languages such as {1:SHORTANSWER:=JavaScript}, "
        "{1:SHORTANSWER:=Python}, and {1:SHORTANSWER:=Ruby}."
    )
    essay = quiz[2]
    assert essay.findtext("graderinfo/text") == "Model answer: Because of #1: the {gradient}."


def test_moodle_embedded_answers_escape_their_syntax():
    q = lms.ExportQuestion(
        9, "cloze", "x _____ y", None, None, "a}b~c#d/e\"f'<g", "", "T, p. 1", None
    )
    text = ET.fromstring(lms.moodle_xml([q])).findtext("question[@type='cloze']/questiontext/text")
    assert text == "x {1:SHORTANSWER:=a\\}b\\~c\\#d\\/e\\\"f'&lt;g} y"


def test_export_picks_the_format():
    for fmt, name in [
        (lms.LmsFormat.QTI, "groundwork-qti21.zip"),
        (lms.LmsFormat.MOODLE, "groundwork-moodle.xml"),
        (lms.LmsFormat.GIFT, "groundwork.gift.txt"),
    ]:
        out = lms.export(ALL, fmt)
        assert out.file_name == name and out.questions == 4 and out.data
