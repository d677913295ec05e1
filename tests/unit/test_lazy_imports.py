"""Heavy libraries load only when a page needs them: importing everything the app and its
pages import (in a fresh interpreter) must not pull in torch, litellm, chromadb, onnxruntime,
sentence-transformers or transformers. They load on first use: an LLM call, a search, an
upload."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HEAVY = [
    "torch",
    "litellm",
    "chromadb",
    "onnxruntime",
    "sentence_transformers",
    "transformers",
    "bm25s",
    "pypdf",
]


def _app_path_modules() -> list[str]:
    """Every project module imported at the top of app.py, pages/ and ui/."""
    files = [
        ROOT / "app.py",
        *sorted((ROOT / "pages").glob("*.py")),
        *sorted((ROOT / "ui").glob("*.py")),
    ]
    found: set[str] = set()
    for path in files:
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module)
            elif isinstance(node, ast.Import):
                found.update(alias.name for alias in node.names)
    return sorted(m for m in found if m.split(".")[0] in {"engine", "ui"})


def test_app_and_page_imports_leave_heavy_libraries_unloaded() -> None:
    modules = _app_path_modules()
    assert "engine.library" in modules or "ui.library" in modules  # the scan found the pages
    code = (
        "import importlib, json, sys\n"
        f"for m in {modules!r}: importlib.import_module(m)\n"
        f"print(json.dumps([h for h in {HEAVY!r} if h in sys.modules]))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1]) == []


def test_heavy_libraries_do_load_when_used() -> None:
    """The check above can fail: the same probe sees a heavy import once it happens."""
    code = (
        "import json, sys\nfrom engine.retrieval import vectors\n"
        "from engine.config import Settings\nimport tempfile\n"
        "vectors.VectorStore(path=__import__('pathlib').Path(tempfile.mkdtemp()))\n"
        "print(json.dumps('chromadb' in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 0, out.stderr[-3000:]
    assert json.loads(out.stdout.splitlines()[-1]) is True
