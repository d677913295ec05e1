"""The layering rules from CONTRIBUTING.md, checked on the source tree."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
UI_FORBIDDEN = {"sqlalchemy", "psycopg", "chromadb", "litellm"}
PURE_FORBIDDEN = {"sqlalchemy", "psycopg", "chromadb", "litellm", "streamlit"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def _py_files(*parts: str) -> list[Path]:
    files: list[Path] = []
    for part in parts:
        p = ROOT / part
        files.extend([p] if p.is_file() else sorted(p.rglob("*.py")))
    return files


def test_engine_never_imports_streamlit():
    offenders = [str(f.relative_to(ROOT)) for f in _py_files("engine") if "streamlit" in _imports(f)]
    assert offenders == []


def test_pages_and_ui_never_reach_storage_or_llm_directly():
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & UI_FORBIDDEN)
        for f in _py_files("app.py", "pages", "ui")
        if _imports(f) & UI_FORBIDDEN
    }
    assert offenders == {}


def test_scheduling_and_scoring_are_pure():
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & PURE_FORBIDDEN)
        for f in _py_files("engine/scheduling", "engine/scoring")
        if (ROOT / "engine").is_dir() and _imports(f) & PURE_FORBIDDEN
    }
    assert offenders == {}


def _module_imports(path: Path) -> set[str]:
    """Full dotted names of the modules `path` imports (absolute imports only)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def _engine_closure(module: str) -> set[str]:
    """`module` and every engine module it imports, directly or through others."""
    seen: set[str] = set()
    todo = [module]
    while todo:
        name = todo.pop()
        path = ROOT / (name.replace(".", "/") + ".py")
        if name in seen or not path.is_file():
            continue
        seen.add(name)
        todo.extend(m for m in _module_imports(path) if m.startswith("engine."))
    return seen


def test_the_answer_rule_is_pure():
    """engine.practice.answering and everything it imports: no database, adapter or UI."""
    closure = _engine_closure("engine.practice.answering")
    assert "engine.practice.answering" in closure
    offenders = {}
    for name in closure:
        imported = _module_imports(ROOT / (name.replace(".", "/") + ".py"))
        bad = sorted(m for m in imported if m.split(".")[0] in PURE_FORBIDDEN
                     or m.startswith(("engine.db", "engine.llm", "engine.runtime",
                                      "engine.config", "engine.usage")))
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_one_adapter_per_outside_system():
    chroma = [str(f.relative_to(ROOT)) for f in _py_files("engine") if "chromadb" in _imports(f)]
    llm = [str(f.relative_to(ROOT)) for f in _py_files("engine") if "litellm" in _imports(f)]
    assert len(chroma) <= 1, chroma
    assert llm in ([], ["engine/llm.py"]), llm


def test_nothing_renders_unescaped_html():
    offenders = [
        str(f.relative_to(ROOT))
        for f in _py_files("app.py", "pages", "ui")
        if "unsafe_allow_html=True" in f.read_text(encoding="utf-8")
    ]
    assert offenders == []
