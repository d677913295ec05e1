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


def _modules(path: Path) -> set[str]:
    """Every module a file imports, by its full dotted name (`from engine import library`
    names `engine.library`), type-checking-only imports included."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            for alias in node.names:
                dotted = f"{node.module}.{alias.name}"
                as_path = ROOT / dotted.replace(".", "/")
                if as_path.is_dir() or as_path.with_suffix(".py").is_file():
                    names.add(dotted)
    return names


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


def _py_files(*parts: str) -> list[Path]:
    files: list[Path] = []
    for part in parts:
        p = ROOT / part
        if p.is_file():
            files.append(p)
        elif p.is_dir():
            files.extend(sorted(p.rglob("*.py")))
    return files


def test_engine_never_imports_streamlit():
    offenders = [
        str(f.relative_to(ROOT)) for f in _py_files("engine") if "streamlit" in _imports(f)
    ]
    assert offenders == []


def test_pages_and_ui_never_reach_storage_or_llm_directly():
    offenders = {
        str(f.relative_to(ROOT)): sorted(_imports(f) & UI_FORBIDDEN)
        for f in _py_files("app.py", "pages", "ui")
        if _imports(f) & UI_FORBIDDEN
    }
    assert offenders == {}


# Pages and UI pieces call services; they never reach the database, the stores' adapters, the
# model adapter or the job machinery behind the services.
UI_FORBIDDEN_ENGINE = (
    "engine.db",
    "engine.llm",
    "engine.runtime",
    "engine.bootstrap",
    "engine.config",
    "engine.logging_setup",
    "engine.steps",
    "engine.ingestion",
    "engine.retrieval.vectors",
    "engine.retrieval.embeddings",
    "engine.retrieval.onnx_model",
    "engine.retrieval.lexical",
    "engine.retrieval.collections",
    "engine.retrieval.fusion",
    "engine.queueing",
    "engine.jobs.worker",
    "engine.jobs.tasks",
    "engine.jobs.spool",
)
# The app's entry points: its process set-up, and the one module that builds the app's runtime
# (it reads the settings and starts the embedded database before the database code is
# imported). Every other UI piece reaches the runtime through `ui.runtime`.
UI_ENTRY_POINTS = {
    "ui/runtime.py": ("engine.runtime", "engine.bootstrap", "engine.config", "engine.db.embedded"),
    "app.py": ("engine.process",),
}


def test_pages_and_ui_call_only_engine_services():
    offenders = {}
    for f in _py_files("app.py", "pages", "ui"):
        allowed = UI_ENTRY_POINTS.get(_rel(f), ())
        bad = sorted(
            m for m in _modules(f) if _within(m, UI_FORBIDDEN_ENGINE) and not _within(m, allowed)
        )
        if bad:
            offenders[_rel(f)] = bad
    assert offenders == {}


# Pure domain code: plain values in, plain values out.
PURE_PARTS = (
    "engine/scheduling",
    "engine/scoring",
    "engine/practice/answering.py",
    "engine/practice/session_rules.py",
)
PURE_FORBIDDEN_ENGINE = (
    "engine.db",
    "engine.runtime",
    "engine.llm",
    "engine.retrieval",
    "engine.jobs",
)


def test_scheduling_scoring_and_the_answer_rule_are_pure():
    offenders = {}
    for f in _py_files(*PURE_PARTS):
        bad = sorted(
            (_imports(f) & PURE_FORBIDDEN)
            | {m for m in _modules(f) if _within(m, PURE_FORBIDDEN_ENGINE)}
        )
        if bad:
            offenders[_rel(f)] = bad
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
        bad = sorted(
            m
            for m in imported
            if m.split(".")[0] in PURE_FORBIDDEN
            or m.startswith(
                ("engine.db", "engine.llm", "engine.runtime", "engine.config", "engine.usage")
            )
        )
        if bad:
            offenders[name] = bad
    assert offenders == {}


def test_one_adapter_per_outside_system():
    everything = _py_files("engine", "pages", "ui", "app.py", "migrations")
    chroma = [_rel(f) for f in everything if "chromadb" in _imports(f)]
    llm = [_rel(f) for f in everything if "litellm" in _imports(f)]
    smtp = [_rel(f) for f in everything if "smtplib" in _imports(f)]
    assert chroma in ([], ["engine/retrieval/vectors.py"]), chroma
    assert llm in ([], ["engine/llm.py"]), llm
    assert smtp == ["engine/mail.py"], smtp


# The job queue's adapter is engine/queueing.py; besides it only the worker and the tasks it
# runs use procrastinate's own types (its worker loop, JobContext), and the runtime names the
# queue's App type.
PROCRASTINATE_USERS = {
    "engine/queueing.py",
    "engine/runtime.py",
    "engine/jobs/worker.py",
    "engine/jobs/tasks.py",
    "engine/jobs/fairness.py",
}


def test_only_the_queue_adapter_and_the_worker_use_procrastinate():
    everything = _py_files("engine", "pages", "ui", "app.py", "migrations")
    users = {_rel(f) for f in everything if "procrastinate" in _imports(f)}
    assert "engine/queueing.py" in users
    assert users <= PROCRASTINATE_USERS, sorted(users - PROCRASTINATE_USERS)


# Who may see the runtime: the entry points that build it, and the service layer that is given
# it. Domain code, adapters, the database layer, settings, pages and UI pieces may not (pages
# get the runtime from `ui.runtime.get_runtime()` and hand it to services).
RUNTIME_ENTRY_POINTS = (
    "engine/__main__.py",
    "engine/bootstrap.py",
    "engine/cli/",
    "ui/runtime.py",
    "app.py",
)
SERVICE_LAYER = (
    "engine/accounts/",
    "engine/admin/",
    "engine/analytics/",
    "engine/jobs/",
    "engine/library/",
    "engine/practice/",
    "engine/generation/",
    "engine/bank/",
    "engine/courses/",
    "engine/tutor/",
    "engine/profiles.py",
    "engine/integrity/",
    "engine/account_data.py",
    "engine/originals.py",
    "engine/exports.py",
    "engine/prompt_templates.py",
    "engine/usage/",
    "engine/search.py",
    "engine/interop/export_service.py",
    "engine/interop/anki_import.py",
    "engine/interop/csv_import.py",
)
NEVER_RUNTIME = ("engine/practice/answering.py",)


def test_only_entry_points_and_services_import_the_runtime():
    allowed = RUNTIME_ENTRY_POINTS + SERVICE_LAYER
    offenders = [
        _rel(f)
        for f in _py_files("engine", "pages", "ui", "app.py", "migrations")
        if _rel(f) != "engine/runtime.py"
        and "engine.runtime" in _modules(f)
        and (not _rel(f).startswith(allowed) or _rel(f) in NEVER_RUNTIME)
    ]
    assert offenders == []


def test_every_module_the_rules_name_exists():
    """A rule about a module that was renamed or removed checks nothing: each name above
    must still be a module, a package or a file of the tree."""

    def exists(path: str) -> bool:
        return (ROOT / path).exists() or (ROOT / path).with_suffix(".py").is_file()

    dotted = [*UI_FORBIDDEN_ENGINE, *PURE_FORBIDDEN_ENGINE]
    dotted += [m for allowed in UI_ENTRY_POINTS.values() for m in allowed]
    paths = [*UI_ENTRY_POINTS, *RUNTIME_ENTRY_POINTS, *SERVICE_LAYER, *NEVER_RUNTIME, *PURE_PARTS]
    paths += sorted(PROCRASTINATE_USERS)
    missing = [m for m in dotted if not exists(m.replace(".", "/"))]
    missing += [p for p in paths if not exists(p)]
    assert missing == []


def test_nothing_renders_unescaped_html():
    offenders = [
        str(f.relative_to(ROOT))
        for f in _py_files("app.py", "pages", "ui")
        if "unsafe_allow_html=True" in f.read_text(encoding="utf-8")
    ]
    assert offenders == []


def _cached_functions(path: Path) -> list[ast.FunctionDef]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.FunctionDef):
            for d in node.decorator_list:
                target = d.func if isinstance(d, ast.Call) else d
                name = (
                    target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
                )
                if name in {"lru_cache", "cache"}:
                    found.append(node)
    return found


def test_no_module_level_cache_holds_a_runtime_or_settings():
    """A process-wide cache keyed by a runtime or settings keeps closed runtimes (and their
    database pools) alive and mixes the state of tests' runtimes: such caches live in the
    runtime (`Runtime.query_cache`, `Runtime.term_cache`)."""
    offenders = []
    for f in _py_files("engine"):
        for fn in _cached_functions(f):
            params = fn.args.posonlyargs + fn.args.args + fn.args.kwonlyargs
            kinds = {ast.unparse(a.annotation) for a in params if a.annotation is not None}
            if kinds & {"Runtime", "Settings", "'Runtime'", "'Settings'"}:
                offenders.append(f"{_rel(f)}:{fn.name}")
    assert offenders == []
    assert any(fn.name == "get_settings" for fn in _cached_functions(ROOT / "engine/config.py"))
