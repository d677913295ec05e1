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
