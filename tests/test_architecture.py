"""Import arrows point down: no cycles, ``config``/``io`` import no stage, and stages use
each other only through their packages' public ``__init__`` (or files on disk).

The graph is built statically from every ``import`` statement (lazy ones inside
functions included), so a cycle hidden behind a function-level import is found too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from physio_bench.config import REPO_ROOT

PACKAGE = REPO_ROOT / "src" / "physio_bench"
STAGES = ("simulate", "models", "probes", "downstream", "report", "finetune", "compare",
          "sensitivity")
FOUNDATION = ("physio_bench.config", "physio_bench.io", "physio_bench.errors",
              "physio_bench.applicability",
              "physio_bench.metrics", "physio_bench.statistics", "physio_bench.headlines",
              "physio_bench.model_types")


def _modules() -> dict[str, Path]:
    found = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        found[name] = path
    return found


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    """module -> physio_bench modules it imports (anywhere in the file)."""
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            targets: list[str] = []
            if isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    parts = package.split(".")
                    base = ".".join(parts[:len(parts) - node.level + 1] + ([base] if base else []))
                targets = [f"{base}.{alias.name}" for alias in node.names]
            elif isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            for target in targets:
                if target.startswith("physio_bench"):
                    resolved = _resolve(target, modules)
                    if resolved and resolved != name:
                        deps.add(resolved)
        graph[name] = deps
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def _stage(module: str) -> str | None:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in STAGES else None


def test_the_graph_sees_lazy_imports() -> None:
    """Sanity check of the analysis itself: a function-level import is an edge."""
    graph = import_graph()
    assert "physio_bench.downstream" in graph["physio_bench.preflight"]


def test_no_import_cycles() -> None:
    assert _cycles(import_graph()) == []


def test_cycle_detection_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}) == [["a", "b", "c"]]


@pytest.mark.parametrize("module", FOUNDATION)
def test_foundation_imports_no_stage(module: str) -> None:
    graph = import_graph()
    if module not in graph:
        pytest.skip(f"{module} does not exist")
    assert not [d for d in graph[module] if _stage(d) or d == "physio_bench.preflight"]


def test_stages_use_other_stages_only_through_their_package() -> None:
    graph = import_graph()
    internal = sorted(
        f"{m} -> {d}" for m, deps in graph.items() for d in deps
        if _stage(m) and _stage(d) and _stage(d) != _stage(m)
        and d != f"physio_bench.{_stage(d)}"
    )
    assert internal == []
