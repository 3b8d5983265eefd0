"""The shape of the package: an acyclic import graph, results that import no estimator.

Every import counts, including those inside functions and under
``TYPE_CHECKING``: a cycle that only a lazy import hides is still a cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "tne_eval"
#: Estimator families: results/ (the protocols) and the shared layers must not
#: import them.
FAMILIES = ("did", "matching", "synth", "sensitivity")
SHARED_LAYERS = ("results", "inference", "_numerics", "data", "notes", "_validation")


def _module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def _graph() -> dict[str, set[str]]:
    modules = _modules()
    graph: dict[str, set[str]] = {m: set() for m in modules}
    for mod, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                targets = [f"{node.module}.{a.name}" for a in node.names]
            for t in targets:
                if not t.startswith("tne_eval"):
                    continue
                dep = _resolve(t, modules)
                if dep and dep != mod:
                    graph[mod].add(dep)
    return graph


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: list[list[str]] = []
    counter = [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return _graph()


def test_import_graph_has_no_cycle(graph):
    assert _cycles(graph) == []


def test_cycle_detection_finds_a_planted_cycle():
    planted = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(planted) == [["a", "b", "c"]]


@pytest.mark.parametrize("layer", SHARED_LAYERS)
def test_shared_layers_import_no_estimator_family(graph, layer):
    prefix = f"tne_eval.{layer}"
    offenders = {
        mod: sorted(
            d for d in deps if any(d.startswith(f"tne_eval.{f}") for f in FAMILIES)
        )
        for mod, deps in graph.items()
        if mod == prefix or mod.startswith(prefix + ".")
    }
    assert {m: d for m, d in offenders.items() if d} == {}


def test_numerics_know_nothing_of_pandas_or_results():
    for path in (PACKAGE / "_numerics").glob("*.py"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        names = {
            a.name
            for node in ast.walk(tree)
            if isinstance(node, ast.Import)
            for a in node.names
        } | {
            node.module
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom) and node.module
        }
        assert "pandas" not in names, path.name
        assert not any(n.startswith("tne_eval.results") for n in names), path.name


def test_every_error_and_warning_is_top_level():
    import tne_eval
    import tne_eval.errors as errors

    for name in errors.__all__:
        assert getattr(tne_eval, name) is getattr(errors, name), name
        assert name in tne_eval.__all__, name
