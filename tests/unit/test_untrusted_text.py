"""Static check: text from PDFs, learners or a model never reaches a Streamlit call that renders
Markdown without going through `ui.text.escape_markdown` (or `plain`, which uses it).

Every `st.*` call in app.py, pages/ and ui/ whose text argument renders Markdown (markdown,
captions, headings, alerts, toasts, expander/status/popover/button labels, progress text,
radio option labels) is inspected: a value read from a field that holds untrusted text
(`q.stem`, `m.title`, `item["name"]`...) must sit inside an escaping call. Select boxes,
multiselects and data frames show their options and cells as plain text and are not checked.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FILES = sorted([ROOT / "app.py", *(ROOT / "pages").glob("*.py"), *(ROOT / "ui").glob("*.py")])

# Streamlit calls whose first argument (or these keywords) render Markdown.
MARKDOWN_CALLS = {
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
    "expander",
    "status",
    "popover",
    "button",
    "form_submit_button",
    "page_link",
    "write",
    "tabs",
    "dialog",
    "radio",
    "progress",
    "update",
    "metric",
}
TEXT_KEYWORDS = {"body", "label", "text", "help", "value", "delta"}
# Fields that hold text from a PDF, a learner or a model.
UNTRUSTED_FIELDS = {
    "stem",
    "options",
    "explanation",
    "excerpt",
    "material_title",
    "title",
    "filename",
    "name",
    "heading",
    "reason",
    "note",
    "answer",
    "your_answer",
    "correct_answer",
    "display_name",
    "email",
    "key_points",
    "learning_goals",
    "subjects",
    "topic",
    "text",
}
ESCAPERS = {"escape_markdown", "plain", "badges", "option_lines", "pages_label", "human_size"}


def _callee(node: ast.Call) -> str | None:
    if isinstance(node.func, ast.Attribute):
        return node.func.attr
    if isinstance(node.func, ast.Name):
        return node.func.id
    return None


def _untrusted(expr: ast.AST, tainted: frozenset[str] = frozenset()) -> ast.AST | None:
    """The first untrusted value in `expr` that is not inside an escaping call (`tainted`:
    comprehension variables taken from untrusted fields)."""
    if isinstance(expr, ast.Call) and _callee(expr) in ESCAPERS:
        return None
    if isinstance(expr, ast.Name) and expr.id in tainted:
        return expr
    if isinstance(expr, (ast.GeneratorExp, ast.ListComp)):
        names = set(tainted)
        for gen in expr.generators:
            if _untrusted(gen.iter, tainted) is not None:
                names.update(n.id for n in ast.walk(gen.target) if isinstance(n, ast.Name))
        return _untrusted(expr.elt, frozenset(names))
    if isinstance(expr, ast.Attribute) and expr.attr in UNTRUSTED_FIELDS:
        return expr
    if (
        isinstance(expr, ast.Subscript)
        and isinstance(expr.slice, ast.Constant)
        and expr.slice.value in UNTRUSTED_FIELDS
    ):
        return expr
    if (
        isinstance(expr, ast.Subscript)
        and isinstance(expr.value, ast.Attribute)
        and (expr.value.attr in UNTRUSTED_FIELDS)
    ):
        return expr
    for child in ast.iter_child_nodes(expr):
        found = _untrusted(child, tainted)
        if found is not None:
            return found
    return None


def _rendered_args(call: ast.Call) -> list[ast.AST]:
    name = _callee(call)
    args: list[ast.AST] = []
    if name == "radio" or name == "progress":
        args = [k.value for k in call.keywords if k.arg in ("format_func", "text")]
        if name == "radio" and call.args:
            args.append(call.args[0])
        return args
    if name in MARKDOWN_CALLS:
        args = list(call.args[:1]) if name != "tabs" else list(call.args)
        args += [k.value for k in call.keywords if k.arg in TEXT_KEYWORDS]
    return args


def unescaped(source: str) -> list[str]:
    """'line: code' for every untrusted value rendered as Markdown without escaping."""
    problems = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        for arg in _rendered_args(node):
            found = _untrusted(arg)
            if found is not None:
                problems.append(f"{node.lineno}: {ast.unparse(found)}")
    return problems


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(ROOT)))
def test_untrusted_text_is_escaped_before_markdown(path: Path):
    assert unescaped(path.read_text()) == [], (
        f"{path.relative_to(ROOT)} renders untrusted text as Markdown; wrap it in "
        "ui.text.escape_markdown (or show it with st.text)"
    )


def test_the_check_finds_unescaped_values():
    hostile = """
st.subheader(question.stem)
st.caption(f"{label} · {question.material_title}, p. 3")
st.radio("Your answer", [0, 1], format_func=lambda i: question.options[i])
st.toast(f"Deleted {chosen.title}.")
st.markdown(f"**{outcome['name']}**")
st.progress(0.5, text=f"{job.name}: reading")
st.markdown("  \\n".join("• " + k for k in q.key_points))
"""
    assert len(unescaped(hostile)) == 7
    safe = """
st.subheader(escape_markdown(question.stem))
st.caption(f"{label} · {escape_markdown(question.material_title)}, p. 3")
st.radio("Your answer", [0, 1], format_func=lambda i: escape_markdown(question.options[i]))
st.toast(f"Deleted {escape_markdown(chosen.title)}.")
st.text(page.text)
st.selectbox("Open", ids, format_func=lambda i: by_id[i].title)
st.markdown("  \\n".join("• " + plain(k) for k in q.key_points))
"""
    assert unescaped(safe) == []
