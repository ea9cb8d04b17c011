"""The packages' import graph has no cycle: every `import` statement of boe_core, kernels and app,
at module level or inside a function, is an edge (importing a.b.c also imports the packages a and
a.b). Registries discover nothing: each package imports its built-ins by statement, so this graph
sees every import the project makes."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("boe_core", "kernels", "app")


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph() -> dict[str, set[str]]:
    files = {module_name(p): p for pkg in PACKAGES for p in (ROOT / pkg).rglob("*.py")}

    def owner(name: str) -> str | None:  # the project module a dotted name lives in
        while name and name not in files:
            name = name.rpartition(".")[0]
        return name or None

    graph = {m: set() for m in files}
    for mod, path in files.items():
        here = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    base = ".".join(here[:len(here) - node.level + 1] + ([node.module] if node.module else []))
                targets = [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for t in targets:
                t = owner(t)
                if t is None or t == mod:
                    continue
                graph[mod].add(t)
                parts = t.split(".")  # the packages around it run first
                for i in range(1, len(parts)):
                    pkg = ".".join(parts[:i])
                    if pkg in files and not mod.startswith(pkg + ".") and pkg != mod:
                        graph[mod].add(pkg)
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in sorted(graph[v]):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_graph_sees_real_edges():
    g = import_graph()
    assert "boe_core.registry" in g["boe_core.policies.base"]
    assert "boe_core.policies" in g["boe_core.config"]  # a top-level import, no longer a lazy one
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]


def test_no_import_cycles():
    assert cycles(import_graph()) == []


def test_the_layers_only_import_downwards():
    """The ground floor (registry, errors, signals) imports nothing above it; the task layer never
    imports the bench; policies never import the model folders' locations."""
    g = import_graph()
    assert g["boe_core.registry"] <= {"boe_core.errors", "boe_core"}
    assert not {m for m in g["boe_core.signals"] if m.startswith("boe_core.policies")}
    for mod, deps in g.items():
        if mod.startswith("boe_core.tasks"):
            assert not {d for d in deps if d.startswith("boe_core.bench")}, mod
    assert "boe_core.models" not in g["boe_core.policies.pc"]


def test_every_builtin_module_is_imported_by_its_package():
    """A new policy or task file must be listed in its package's __init__ (there is no discovery)."""
    import importlib
    import pkgutil
    import sys

    for pkg in ("boe_core.policies", "boe_core.tasks"):
        importlib.import_module(pkg)
        declared = import_graph()[pkg]
        for m in pkgutil.iter_modules(sys.modules[pkg].__path__):
            name = f"{pkg}.{m.name}"
            path = ROOT / Path(*name.split("."))  # a subpackage (tasks.sudoku) counts by all its files
            files = sorted(path.rglob("*.py")) if m.ispkg else [path.with_suffix(".py")]
            registers = any("register" in f.read_text() for f in files)
            if registers and not m.name.startswith("_"):
                assert name in declared or any(name in import_graph()[d] for d in declared), name
