"""The vocabulary enums (`engine.domain.vocabulary`) are the only spelling of their values in
code that compares or looks them up: a string literal equal to one of their values in a
comparison or as a dict key in engine/, pages/ or ui/ is reported (write the member instead;
it compares equal to the stored string)."""

from __future__ import annotations

import ast
from enum import StrEnum
from pathlib import Path

from engine.domain import vocabulary

ROOT = Path(__file__).resolve().parents[2]
SCANNED = ("engine", "pages", "ui", "app.py")
DEFINITIONS = {"engine/domain/vocabulary.py"}

# Strings that happen to equal a vocabulary value but belong to another vocabulary
# (path prefix, value): why.
OTHER_VOCABULARIES = {
    ("engine/ingestion/pdf.py", "done"): "the PDF reader process's message kinds",
    ("engine/generation/offline_forms.py", "cloze"): "offline question forms",
    ("engine/interop/csv_import.py", "flashcard"): "a CSV file's column layout",
    ("ui/practice_feedback.py", "llm"): "the grader that marked an answer",
    ("engine/tutor/", "quiz"): "tutor message kinds",
    ("engine/tutor/", "offline"): "tutor message kinds",
    ("pages/tutor.py", "quiz"): "tutor message kinds",
    ("ui/tutor.py", "quiz"): "tutor message kinds",
    ("ui/tutor.py", "offline"): "tutor message kinds",
    ("ui/tutor.py", "failed"): "tutor message statuses",
    ("pages/generate.py", "draft"): "the Generate page's preview item keys",
}


def _values() -> dict[str, str]:
    """Every vocabulary value -> the member that spells it."""
    out = {vocabulary.FLASHCARD_FORM: "FLASHCARD_FORM"}
    for name, obj in vars(vocabulary).items():
        if isinstance(obj, type) and issubclass(obj, StrEnum) and obj is not StrEnum:
            out.update({m.value: f"{name}.{m.name}" for m in obj})
    return out


def _strings(node: ast.AST) -> list[ast.Constant]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return [c for e in node.elts for c in _strings(e)]
    return []


def literals(tree: ast.AST, values: dict[str, str]) -> list[tuple[int, str]]:
    """(line, value) of each vocabulary value written as a literal in a comparison (either
    side, or inside a tuple/list/set compared with `in`) or as a dict key."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Compare):
            operands = [node.left, *node.comparators]
        elif isinstance(node, ast.Dict):
            operands = [k for k in node.keys if k is not None]
        else:
            continue
        found += [(c.lineno, c.value) for o in operands for c in _strings(o) if c.value in values]
    return found


def _files() -> list[Path]:
    out = []
    for part in SCANNED:
        path = ROOT / part
        out += sorted(path.rglob("*.py")) if path.is_dir() else [path]
    return [p for p in out if p.relative_to(ROOT).as_posix() not in DEFINITIONS]


def _excused(rel: str, value: str) -> tuple[str, str] | None:
    return next(
        ((prefix, v) for prefix, v in OTHER_VOCABULARIES if rel.startswith(prefix) and v == value),
        None,
    )


def test_no_vocabulary_value_is_spelled_as_a_literal():
    values = _values()
    offences, excused = [], set()
    for path in _files():
        rel = path.relative_to(ROOT).as_posix()
        for line, value in literals(ast.parse(path.read_text(encoding="utf-8")), values):
            if reason := _excused(rel, value):
                excused.add(reason)
            else:
                offences.append(f"{rel}:{line}: {value!r} -> {values[value]}")
    assert offences == []
    assert set(OTHER_VOCABULARIES) - excused == set(), "stale entries in OTHER_VOCABULARIES"


def test_the_check_sees_comparisons_membership_and_dict_keys():
    code = (
        'if q.type == "mcq": pass\n'
        'if job.outcome in ("queued", "running"): pass\n'
        'LABELS = {"sm2": "SM-2"}\n'
        'ok = {"title": q.title} if q.status != QuestionStatus.ACTIVE else None\n'
    )
    found = literals(ast.parse(code), _values())
    assert found == [(1, "mcq"), (2, "queued"), (2, "running"), (3, "sm2")]
