"""The package's layers, read from its source: no import cycles among seqlab's modules, and a data layer that
knows nothing of models or training. Imports inside functions count the same as those at the top; those
for type checkers alone (under `if TYPE_CHECKING:`) never run and do not count."""

from __future__ import annotations

import ast
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1] / "src"

# Import edges (importer, imported) that close a cycle and are tolerated for now, one per line with why:
#     ("seqlab.a", "seqlab.b"),  # b's X moves below a
# Only modules whose owners have yet to untangle them may appear here; the list only ever shrinks, and
# an edge that no longer exists must leave it. Empty: seqlab has no import cycles.
ALLOWED_CYCLE_EDGES: set[tuple[str, str]] = set()

# What the data layer (seqlab.data.*) never imports: it reads files into records, below every model.
ABOVE_DATA = (
    "seqlab.training",
    "seqlab.heads",
    "seqlab.modules",
    "seqlab.decoders",
    "seqlab.encoders",
    "seqlab.model",
    "seqlab.tasks",
    "seqlab.pipeline",
)


def import_graph(source: Path) -> dict[str, dict[str, int]]:
    """Each module of the packages under `source` → the modules of those packages it imports, with the
    line of the first such import. `from package import name` names the submodule where one exists."""
    files = {}
    for path in sorted(source.rglob("*.py")):
        parts = path.relative_to(source).with_suffix("").parts
        files[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path

    def known(name: str) -> str | None:  # the module itself, or the package that defines the name
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in files.items():
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        edges: dict[str, int] = {}
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        typing_only = _typing_only(tree)
        for node in ast.walk(tree):
            if id(node) in typing_only:
                continue
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:  # relative: from the package, up `level - 1` packages
                    up = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join(up + ([base] if base else []))
                names = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            else:
                continue
            for name in names:
                target = known(name)
                if target is not None and target != module:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


TYPE_CHECKING_TESTS = ("TYPE_CHECKING", "typing.TYPE_CHECKING")


def _typing_only(tree: ast.Module) -> set[int]:
    """The ids of the nodes under `if TYPE_CHECKING:` in a module."""
    guards = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING_TESTS
    ]
    return {id(inner) for guard in guards for stmt in guard.body for inner in ast.walk(stmt)}


def cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for target in graph.get(module, {}):
            if target not in index:
                visit(target)
                low[module] = min(low[module], low[target])
            elif target in stack:
                low[module] = min(low[module], index[target])
        if low[module] == index[module]:
            component = []
            while not component or component[-1] != module:
                component.append(stack.pop())
            if len(component) > 1:
                found.append(sorted(component))

    for module in graph:
        if module not in index:
            visit(module)
    return found


def _describe(graph: dict[str, dict[str, int]], component: list[str]) -> str:
    edges = [f"  {a} -> {b} (line {graph[a][b]})" for a in component for b in graph[a] if b in component]
    return "\n".join(["cycle among " + ", ".join(component), *edges])


def test_seqlab_has_no_import_cycles():
    graph = import_graph(SOURCE)
    pruned = {
        a: {b: line for b, line in edges.items() if (a, b) not in ALLOWED_CYCLE_EDGES}
        for a, edges in graph.items()
    }
    found = cycles(pruned)
    assert not found, "\n".join(_describe(graph, component) for component in found)


def test_the_allowed_cycle_edges_still_exist():
    graph = import_graph(SOURCE)
    gone = [edge for edge in ALLOWED_CYCLE_EDGES if edge[1] not in graph.get(edge[0], {})]
    assert not gone, f"remove these from ALLOWED_CYCLE_EDGES, they are gone: {gone}"


def test_the_data_layer_imports_nothing_above_it():
    def above_data(module: str) -> bool:
        return any(module == layer or module.startswith(layer + ".") for layer in ABOVE_DATA)

    graph = import_graph(SOURCE)
    wrong = [
        f"{module} imports {target} (line {line})"
        for module, edges in graph.items()
        if module == "seqlab.data" or module.startswith("seqlab.data.")
        for target, line in edges.items()
        if above_data(target)
    ]
    assert not wrong, "\n".join(wrong)


def test_the_checker_sees_cycles_through_imports_inside_functions(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from pkg import b\n")
    (package / "b.py").write_text("def f():\n    from . import c\n")
    (package / "c.py").write_text("import pkg.a\n")
    (package / "d.py").write_text("from pkg.a import thing\n")
    typing_only = "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import d\n"
    (package / "e.py").write_text(typing_only)
    graph = import_graph(tmp_path)
    assert graph["pkg.b"] == {"pkg.c": 2} and graph["pkg.d"] == {"pkg.a": 1} and graph["pkg.e"] == {}
    assert cycles(graph) == [["pkg.a", "pkg.b", "pkg.c"]]
