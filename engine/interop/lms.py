"""Question bank exports for learning management systems: a QTI 2.1 content package, Moodle
XML and GIFT. Pure: questions in, bytes out.

How each Groundwork question type is written:

| Groundwork | QTI 2.1 | Moodle XML | GIFT |
| --- | --- | --- | --- |
| multiple choice | choiceInteraction, one right | multichoice, single | `{=right ~wrong}` |
| cloze, one blank | textEntryInteraction | cloze `{1:SHORTANSWER:=a}` | missing word `{=a}` |
| cloze, several blanks | one textEntryInteraction (gap) per blank, each scored 1/n | cloze, one embedded answer per blank | one question per blank (GIFT has one answer set per question); the other blanks stay `_____` |
| short answer | extendedTextInteraction (scored by the teacher), model answer as correct response | essay, model answer in the grader information | essay `{}` |
| flashcard | as short answer | as short answer | as short answer |

Short answers in Groundwork are free-text explanations graded by key points, so every format
receives them as essays for the teacher to mark; the model answer goes with them. Every
question carries its source citation ("title, p. N") and explanation in its feedback.

All text is learner, PDF or model text: XML escaping is done by ElementTree; Moodle's HTML
fields receive HTML-escaped text; GIFT's special characters (`~ = # { } :` and `\\`) are
backslash-escaped.
"""

from __future__ import annotations

import html
import io
import re
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from xml.etree import ElementTree as ET

from engine.domain.vocabulary import QuestionType

BLANK = re.compile(r"_{3,}")

QTI_NS = "http://www.imsglobal.org/xsd/imsqti_v2p1"
QTI_XSD = "http://www.imsglobal.org/xsd/qti/qtiv2p1/imsqti_v2p1.xsd"
CP_NS = "http://www.imsglobal.org/xsd/imscp_v1p1"
CP_XSD = "http://www.imsglobal.org/xsd/imscp_v1p1.xsd"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"


class LmsFormat(StrEnum):
    QTI = "qti"
    MOODLE = "moodle"
    GIFT = "gift"


@dataclass(frozen=True)
class ExportQuestion:
    """What an export needs of one question (plain values, no database row)."""

    id: int
    type: str  # 'mcq', 'cloze', 'short' (and 'flashcard', exported as 'short')
    stem: str
    options: Sequence[str] | None
    correct_index: int | None
    answer: str
    explanation: str
    citation: str
    topic: str | None


@dataclass(frozen=True)
class LmsFile:
    data: bytes
    file_name: str
    mime: str
    questions: int


def cloze_answers(stem: str, answer: str) -> list[str]:
    """The answer of each blank, in order (several blanks take the ';'-separated answers as
    grading pairs them; surplus answers go to the last blank)."""
    blanks = len(BLANK.findall(stem))
    parts = [p.strip() for p in answer.split(";")]
    if blanks <= 1 or len(parts) == 1:
        return [answer.strip()]
    return [*parts[: blanks - 1], "; ".join(parts[blanks - 1 :])]


def cloze_segments(stem: str, answer: str) -> tuple[list[str], list[str]]:
    """The stem's text between blanks and the blanks' answers: `len(text) == len(answers)+1`.

    A stem without a blank gets one at its end; blanks beyond the answers stay as text.
    """
    answers = cloze_answers(stem, answer)
    if not BLANK.search(stem):
        return [stem.rstrip() + " ", ""], answers
    pieces = BLANK.split(stem)
    blanks = BLANK.findall(stem)
    text = [pieces[0]]
    for i, blank in enumerate(blanks):
        if i < len(answers):
            text.append(pieces[i + 1])
        else:
            text[-1] += blank + pieces[i + 1]
    return text, answers


def feedback(q: ExportQuestion) -> str:
    """The explanation and the source citation."""
    parts = [q.explanation.strip(), f"Source: {q.citation}"]
    return "\n".join(p for p in parts if p)


# --- QTI 2.1 --------------------------------------------------------------------------------


def _q(tag: str) -> str:
    # Names stay unqualified and the root declares the default namespace as an attribute:
    # ElementTree's own namespace handling cannot write a default namespace with plain
    # attribute names.
    return tag


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    el = ET.SubElement(parent, _q(tag), {k.rstrip("_"): v for k, v in attrs.items()})
    if text is not None:
        el.text = text
    return el


def _paragraphs(parent: ET.Element, text: str) -> None:
    for para in [p for p in text.split("\n") if p.strip()] or [text]:
        _sub(parent, "p", para)


def _score_outcomes(item: ET.Element) -> None:
    score = _sub(
        item, "outcomeDeclaration", identifier="SCORE", cardinality="single", baseType="float"
    )
    _sub(_sub(score, "defaultValue"), "value", "0")
    _sub(
        item,
        "outcomeDeclaration",
        identifier="FEEDBACK",
        cardinality="single",
        baseType="identifier",
    )


def _show_feedback(processing: ET.Element) -> None:
    set_fb = _sub(processing, "setOutcomeValue", identifier="FEEDBACK")
    _sub(set_fb, "baseValue", "source", baseType="identifier")


def _modal_feedback(item: ET.Element, q: ExportQuestion) -> None:
    fb = _sub(
        item,
        "modalFeedback",
        outcomeIdentifier="FEEDBACK",
        showHide="show",
        identifier="source",
        title="Explanation and source",
    )
    fb.text = feedback(q)


def qti_item(q: ExportQuestion) -> ET.Element:
    """One `assessmentItem` (QTI 2.1)."""
    item = ET.Element(
        _q("assessmentItem"),
        {
            "identifier": f"Q{q.id}",
            "title": _title(q),
            "adaptive": "false",
            "timeDependent": "false",
            "xmlns": QTI_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{QTI_NS} {QTI_XSD}",
        },
    )
    if q.type == QuestionType.MCQ and q.options and q.correct_index is not None:
        _mcq_parts(item, q)
    elif q.type == QuestionType.CLOZE:
        _cloze_parts(item, q)
    else:  # short answer and flashcard: the teacher marks it
        _open_parts(item, q)
    _modal_feedback(item, q)
    return item


def _mcq_parts(item: ET.Element, q: ExportQuestion) -> None:
    """A choice interaction scored 1 for the right option."""
    decl = _sub(
        item,
        "responseDeclaration",
        identifier="RESPONSE",
        cardinality="single",
        baseType="identifier",
    )
    _sub(_sub(decl, "correctResponse"), "value", f"C{q.correct_index}")
    _score_outcomes(item)
    body = _sub(item, "itemBody")
    choice = _sub(
        body,
        "choiceInteraction",
        responseIdentifier="RESPONSE",
        shuffle="false",
        maxChoices="1",
    )
    _sub(choice, "prompt", q.stem)
    for i, option in enumerate(q.options or ()):
        _sub(choice, "simpleChoice", option, identifier=f"C{i}")
    processing = _sub(item, "responseProcessing")
    cond = _sub(processing, "responseCondition")
    when = _sub(cond, "responseIf")
    match = _sub(when, "match")
    _sub(match, "variable", identifier="RESPONSE")
    _sub(match, "correct", identifier="RESPONSE")
    _sub(_sub(when, "setOutcomeValue", identifier="SCORE"), "baseValue", "1", baseType="float")
    _show_feedback(processing)


def _cloze_parts(item: ET.Element, q: ExportQuestion) -> None:
    """One text entry per gap; each right gap scores its share of 1."""
    text, answers = cloze_segments(q.stem, q.answer)
    for i, answer in enumerate(answers, start=1):
        decl = _sub(
            item,
            "responseDeclaration",
            identifier=f"RESPONSE{i}",
            cardinality="single",
            baseType="string",
        )
        _sub(_sub(decl, "correctResponse"), "value", answer)
    _score_outcomes(item)
    body = _sub(item, "itemBody")
    para = _sub(body, "p", text[0])
    for i, (answer, after) in enumerate(zip(answers, text[1:], strict=True), start=1):
        gap = _sub(
            para,
            "textEntryInteraction",
            responseIdentifier=f"RESPONSE{i}",
            expectedLength=str(max(5, len(answer))),
        )
        gap.tail = after
    processing = _sub(item, "responseProcessing")
    share = f"{1 / len(answers):.6g}"
    for i in range(1, len(answers) + 1):
        when = _sub(_sub(processing, "responseCondition"), "responseIf")
        match = _sub(when, "stringMatch", caseSensitive="false")
        _sub(match, "variable", identifier=f"RESPONSE{i}")
        _sub(match, "correct", identifier=f"RESPONSE{i}")
        total = _sub(_sub(when, "setOutcomeValue", identifier="SCORE"), "sum")
        _sub(total, "variable", identifier="SCORE")
        _sub(total, "baseValue", share, baseType="float")
    _show_feedback(processing)


def _open_parts(item: ET.Element, q: ExportQuestion) -> None:
    """An extended text answer the teacher marks, with the model answer as the correct one."""
    decl = _sub(
        item,
        "responseDeclaration",
        identifier="RESPONSE",
        cardinality="single",
        baseType="string",
    )
    _sub(_sub(decl, "correctResponse"), "value", q.answer)
    _score_outcomes(item)
    body = _sub(item, "itemBody")
    _paragraphs(body, q.stem)
    _sub(body, "extendedTextInteraction", responseIdentifier="RESPONSE", expectedLines="5")
    processing = _sub(item, "responseProcessing")
    _show_feedback(processing)


def _title(q: ExportQuestion) -> str:
    head = " ".join(q.stem.split())
    return head[:60] + ("…" if len(head) > 60 else "")


def _xml_bytes(root: ET.Element) -> bytes:
    ET.indent(root)
    return ET.tostring(root, encoding="utf-8", xml_declaration=True)


def qti_package(questions: Iterable[ExportQuestion]) -> bytes:
    """A QTI 2.1 content package (zip): `imsmanifest.xml` and one item file per question."""
    manifest = ET.Element(
        "manifest",
        {
            "identifier": "GROUNDWORK-EXPORT",
            "xmlns": CP_NS,
            "xmlns:xsi": XSI_NS,
            "xsi:schemaLocation": f"{CP_NS} {CP_XSD}",
        },
    )
    ET.SubElement(manifest, "organizations")
    resources = ET.SubElement(manifest, "resources")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as z:
        for q in questions:
            href = f"items/Q{q.id}.xml"
            z.writestr(href, _xml_bytes(qti_item(q)))
            res = ET.SubElement(
                resources,
                "resource",
                {"identifier": f"RES-Q{q.id}", "type": "imsqti_item_xmlv2p1", "href": href},
            )
            ET.SubElement(res, "file", {"href": href})
        z.writestr("imsmanifest.xml", _xml_bytes(manifest))
    return buffer.getvalue()


# --- Moodle XML -----------------------------------------------------------------------------


def _moodle_text(
    parent: ET.Element,
    tag: str,
    text: str,
    *,
    fmt: str = "html",
) -> ET.Element:
    el = ET.SubElement(parent, tag, {"format": fmt})
    ET.SubElement(el, "text").text = text
    return el


def _h(text: str) -> str:
    """HTML for Moodle's HTML fields: the text shown literally, line breaks kept."""
    return html.escape(text).replace("\n", "<br>")


_MOODLE_EMBEDDED = re.compile(r"([}#~/\"\\])")


def _embedded(answer: str) -> str:
    """An answer inside Moodle's embedded-answers (cloze) syntax."""
    # Quotes stay unescaped by HTML: `&#x27;` would carry a '#' into the answer syntax.
    return _MOODLE_EMBEDDED.sub(r"\\\1", html.escape(answer, quote=False))


def _category(topic: str | None) -> str:
    name = (topic or "Uncategorised").replace("/", "-")
    return f"$course$/Groundwork/{name}"


def moodle_xml(questions: Iterable[ExportQuestion]) -> bytes:
    """Moodle XML: one category per topic, then its questions."""
    quiz = ET.Element("quiz")
    current: str | None = None
    for q in sorted(questions, key=lambda q: (q.topic or "", q.id)):
        if _category(q.topic) != current:
            current = _category(q.topic)
            cat = ET.SubElement(quiz, "question", {"type": "category"})
            ET.SubElement(ET.SubElement(cat, "category"), "text").text = current
        general = _h(feedback(q))
        if q.type == QuestionType.MCQ and q.options and q.correct_index is not None:
            el = ET.SubElement(quiz, "question", {"type": "multichoice"})
            _moodle_text(el, "name", _title(q), fmt="plain_text")
            _moodle_text(el, "questiontext", _h(q.stem))
            _moodle_text(el, "generalfeedback", general)
            ET.SubElement(el, "defaultgrade").text = "1"
            ET.SubElement(el, "single").text = "true"
            ET.SubElement(el, "shuffleanswers").text = "true"
            ET.SubElement(el, "answernumbering").text = "abc"
            for i, option in enumerate(q.options):
                ans = _moodle_text(el, "answer", _h(option))
                ans.set("fraction", "100" if i == q.correct_index else "0")
        elif q.type == QuestionType.CLOZE:
            text, answers = cloze_segments(q.stem, q.answer)
            body = _h(text[0]) + "".join(
                f"{{1:SHORTANSWER:={_embedded(a)}}}" + _h(after)
                for a, after in zip(answers, text[1:], strict=True)
            )
            el = ET.SubElement(quiz, "question", {"type": "cloze"})
            _moodle_text(el, "name", _title(q), fmt="plain_text")
            _moodle_text(el, "questiontext", body)
            _moodle_text(el, "generalfeedback", general)
        else:
            el = ET.SubElement(quiz, "question", {"type": "essay"})
            _moodle_text(el, "name", _title(q), fmt="plain_text")
            _moodle_text(el, "questiontext", _h(q.stem))
            _moodle_text(el, "generalfeedback", general)
            ET.SubElement(el, "defaultgrade").text = "1"
            ET.SubElement(el, "responseformat").text = "plain"
            ET.SubElement(el, "responserequired").text = "1"
            ET.SubElement(el, "responsefieldlines").text = "5"
            _moodle_text(el, "graderinfo", _h(f"Model answer: {q.answer}"))
    return _xml_bytes(quiz)


# --- GIFT -----------------------------------------------------------------------------------

_GIFT_SPECIAL = re.compile(r"([~=#{}:\\])")


def gift_escape(text: str) -> str:
    """Text shown literally by a GIFT reader: `~ = # { } :` and `\\` escaped, line breaks as
    `\\n`, so no learner text can open an answer set, end a question or start a comment."""
    escaped = _GIFT_SPECIAL.sub(r"\\\1", text)
    return escaped.replace("\r\n", "\n").replace("\r", "\n").replace("\n", "\\n")


def _gift_one(q: ExportQuestion) -> list[str]:
    title = f"::{gift_escape(f'Q{q.id} {_title(q)}')}::"
    fb = f"####{gift_escape(feedback(q))}"
    if q.type == QuestionType.MCQ and q.options and q.correct_index is not None:
        choices = " ".join(
            ("=" if i == q.correct_index else "~") + gift_escape(o) for i, o in enumerate(q.options)
        )
        return [f"{title}{gift_escape(q.stem)} {{{choices} {fb}}}"]
    if q.type == QuestionType.CLOZE:
        text, answers = cloze_segments(q.stem, q.answer)
        out = []
        for k, answer in enumerate(answers):
            body = gift_escape(text[0])
            for i, after in enumerate(text[1:]):
                gap = f"{{={gift_escape(answer)} {fb}}}" if i == k else "_____"
                body += gap + gift_escape(after)
            name = (
                title
                if len(answers) == 1
                else (f"::{gift_escape(f'Q{q.id}.{k + 1} {_title(q)}')}::")
            )
            out.append(name + body)
        return out
    model_answer = f"\\nModel answer\\: {gift_escape(q.answer)}"
    return [f"{title}{gift_escape(q.stem)} {{{fb}{model_answer}}}"]


def gift(questions: Iterable[ExportQuestion]) -> bytes:
    """GIFT text (UTF-8): a `$CATEGORY:` line per topic, questions separated by blank lines."""
    lines: list[str] = []
    current: str | None = None
    for q in sorted(questions, key=lambda q: (q.topic or "", q.id)):
        category = "Groundwork/" + (q.topic or "Uncategorised").replace("/", "-")
        if category != current:
            current = category
            lines += [f"$CATEGORY: {' '.join(category.split())}", ""]
        for question in _gift_one(q):
            lines += [question, ""]
    return "\n".join(lines).encode()


def export(questions: Sequence[ExportQuestion], fmt: LmsFormat) -> LmsFile:
    """The file of `fmt` holding `questions`."""
    if fmt is LmsFormat.QTI:
        return LmsFile(
            qti_package(questions), "groundwork-qti21.zip", "application/zip", len(questions)
        )
    if fmt is LmsFormat.MOODLE:
        return LmsFile(
            moodle_xml(questions), "groundwork-moodle.xml", "application/xml", len(questions)
        )
    return LmsFile(gift(questions), "groundwork.gift.txt", "text/plain", len(questions))
