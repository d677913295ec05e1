"""The engine's import graph has no cycle, and the infrastructure imports no service or job.

The graph is read from the source with `ast`: every `import` and `from ... import` in
`engine/`, at module level and inside functions alike (a function-level import that hides a
cycle is still a cycle: it breaks the day someone moves it to the top). Imports under
`if TYPE_CHECKING:` are left out: they never run. `from engine.x import y` where `y` is a
module names `engine.x.y`. Importing a module also runs its packages' `__init__.py`, so
`engine.a.b` depends on `engine.a` too, unless the importer is itself inside `engine.a`
(Python has started that package before any of its modules).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ENGINE = ROOT / "engine"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_nodes(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement in `tree`, at any depth, except those under TYPE_CHECKING."""
    todo: list[ast.AST] = [tree]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            todo.extend(node.orelse)
            continue
        todo.extend(ast.iter_child_nodes(node))


def _imported(module: str, is_package: bool, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The modules one import statement names, by full dotted name."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names}
    if node.level:
        base = module.split(".") if is_package else module.split(".")[:-1]
        base = base[: len(base) - (node.level - 1)]
        source = ".".join(base + ([node.module] if node.module else []))
    else:
        source = node.module or ""
    names: set[str] = set()
    for alias in node.names:
        dotted = f"{source}.{alias.name}"
        as_path = ROOT / dotted.replace(".", "/")
        if as_path.is_dir() or as_path.with_suffix(".py").is_file():
            names.add(dotted)
        else:
            names.add(source)
    return names


def import_graph() -> dict[str, set[str]]:
    """Each engine module -> the engine modules importing it runs (see the module docstring)."""
    files = {_module_name(p): p for p in sorted(ENGINE.rglob("*.py"))}
    graph: dict[str, set[str]] = {}
    for module, path in files.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        targets: set[str] = set()
        for node in _import_nodes(tree):
            for name in _imported(module, path.name == "__init__.py", node):
                parts = name.split(".")
                for i in range(1, len(parts) + 1):
                    target = ".".join(parts[:i])
                    is_self_or_parent = module == target or module.startswith(target + ".")
                    if target in files and not is_self_or_parent:
                        targets.add(target)
        graph[module] = targets
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[set[str]]:
    """Tarjan's strongly connected components (iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[set[str]] = []
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                found.append(component)
    return found


def _cycle_path(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """One shortest cycle through the component's first module, as `a -> b -> ... -> a`."""
    start = min(component)
    parents: dict[str, str] = {}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for child in sorted(graph[node] & component):
                if child == start:
                    path = [node]
                    while path[-1] != start:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if child not in parents:
                    parents[child] = node
                    following.append(child)
        frontier = following
    raise AssertionError(f"no cycle through {start}")


# Known cycles, each to be removed by the change that owns its modules (none may be added).
# engine.generation.offline <-> engine.generation.offline_forms: the offline question writer
# and its sentence forms, split apart by the generation package's own rework.
KNOWN_CYCLES: list[set[str]] = []


def test_the_engine_import_graph_has_no_cycle():
    graph = import_graph()
    assert len(graph) > 100 and "engine.runtime" in graph  # the scan found the engine
    components = strongly_connected(graph)
    assert [c for c in KNOWN_CYCLES if c not in components] == []  # remove a fixed one above
    cycles = [
        " -> ".join(_cycle_path(graph, component))
        for component in components
        if len(component) > 1 and component not in KNOWN_CYCLES
    ]
    assert cycles == []


def test_the_cycle_check_sees_function_level_imports():
    """The check above can fail: a cycle closed only by an import inside a function is
    found, and reported as a path."""
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in strongly_connected(graph) if len(c) > 1] == [["a", "b", "c"]]
    assert _cycle_path(graph, {"a", "b", "c"}) == ["a", "b", "c", "a"]
    tree = ast.parse(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from engine.jobs import tasks\n"
        "def f():\n    from engine import library\n    from engine.retrieval import vectors\n"
    )
    names = set()
    for node in _import_nodes(tree):
        names |= _imported("engine.x", False, node)
    assert names == {"typing", "engine.library", "engine.retrieval.vectors"}


# The modules services and jobs are built from: the infrastructure below never imports them.
SERVICES_AND_JOBS = (
    "engine.account_data",
    "engine.accounts",
    "engine.admin",
    "engine.analytics",
    "engine.bank",
    "engine.bootstrap",
    "engine.cli",
    "engine.exports",
    "engine.generation",
    "engine.integrity",
    "engine.interop",
    "engine.jobs",
    "engine.library",
    "engine.originals",
    "engine.practice",
    "engine.profiles",
    "engine.prompt_templates",
    "engine.search",
    "engine.tutor",
    "engine.usage",
)
INFRASTRUCTURE = (
    "engine.runtime",
    "engine.db",
    "engine.llm",
    "engine.queueing",
    "engine.retrieval",
)


def _within(name: str, prefixes: tuple[str, ...]) -> bool:
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def test_the_infrastructure_imports_no_service_or_job():
    graph = import_graph()
    offenders = {
        module: sorted(m for m in imported if _within(m, SERVICES_AND_JOBS))
        for module, imported in graph.items()
        if _within(module, INFRASTRUCTURE) and any(_within(m, SERVICES_AND_JOBS) for m in imported)
    }
    assert offenders == {}
    unknown = [
        p for p in SERVICES_AND_JOBS + INFRASTRUCTURE if not any(_within(m, (p,)) for m in graph)
    ]
    assert unknown == []  # every name above is a module of the engine


def test_engine_modules_import_each_other_at_the_top():
    """An import of an engine module inside a function hides a dependency (and once hid a
    cycle); only heavy third-party libraries are imported lazily (`test_lazy_imports.py`)."""
    lazy = []
    for path in sorted(ENGINE.rglob("*.py")):
        module = _module_name(path)
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for fn in ast.walk(tree):
            if not isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
                continue
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and any(
                    name.split(".")[0] == "engine"
                    for name in _imported(module, path.name == "__init__.py", node)
                ):
                    lazy.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert lazy == []
