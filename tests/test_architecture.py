"""The package's import graph, read from the source with ``ast``: no cycle among module-level (type-only included)
imports, and no module importing another module's ``_private`` names."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def package_modules() -> dict[str, Path]:
    """Module name -> source file, for every module of the installed packages (pyproject's
    package-dir mapping)."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    folders = config["tool"]["setuptools"]["package-dir"]
    modules = {}
    for package, folder in folders.items():
        for path in sorted((ROOT / folder).glob("*.py")):
            name = package if path.stem == "__init__" else f"{package}.{path.stem}"
            modules[name] = path
    return modules


def resolved(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The absolute module an ``ImportFrom`` names."""
    if not node.level:
        return node.module or ""
    parts = module.split(".")
    base = parts if is_package else parts[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def module_level_imports(tree: ast.Module) -> list[ast.stmt]:
    """Import statements at module level (not in functions), those for type checkers included:
    a type-only import is a dependency too."""
    found = []

    def visit(body):
        for node in body:
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                found.append(node)
            elif isinstance(node, ast.If):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)
                for handler in node.handlers:
                    visit(handler.body)
                visit(node.orelse)
                visit(node.finalbody)

    visit(tree.body)
    return found


def import_graph() -> tuple[dict[str, set[str]], list[str]]:
    """(module -> modules of this package it imports at load time, private-name imports found)."""
    modules = package_modules()
    graph: dict[str, set[str]] = {name: set() for name in modules}
    private = []
    for name, path in modules.items():
        tree = ast.parse(path.read_text(), filename=str(path))
        is_package = path.stem == "__init__"
        for node in ast.walk(tree):  # private names: anywhere in the file
            if isinstance(node, ast.ImportFrom):
                target = resolved(name, is_package, node)
                for alias in node.names:
                    if alias.name.startswith("_") and not alias.name.startswith("__") and target in modules:
                        private.append(f"{name} imports {target}.{alias.name}")
        for node in module_level_imports(tree):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                # ``from package import submodule`` imports the submodule (the package is already
                # being initialised); ``from module import name`` imports the module.
                base = resolved(name, is_package, node)
                submodules = [f"{base}.{a.name}" for a in node.names if f"{base}.{a.name}" in modules]
                targets = submodules + ([base] if len(submodules) < len(node.names) else [])
            for target in targets:
                if target in modules and target != name:
                    graph[name].add(target)
    return graph, private


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found, counter = {}, {}, [], set(), [], [0]

    def connect(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                connect(w)
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

    for v in graph:
        if v not in index:
            connect(v)
    return found


def test_the_import_graph_has_no_cycle():
    graph, _ = import_graph()
    assert len(graph) > 50  # every module was read
    assert sum(len(targets) for targets in graph.values()) > 50
    assert cycles(graph) == []


def test_no_module_imports_another_modules_private_names():
    _, private = import_graph()
    assert private == []


def test_the_cycle_finder_finds_a_cycle():
    """The check itself can fail: a two-module circle and a longer one are found."""
    assert cycles({"a": {"b"}, "b": {"a"}, "c": set()}) == [["a", "b"]]
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# The layers of docs/architecture.md, lowest first: a module may import its own layer and
# those below, never one above (module-level imports; the package's __init__ gathers the
# public names of every layer).
LAYERS = (
    ("foundation", ("errors", "validation", "rotations", "scalar_rotations", "background_compiler",
                    "skeleton_cache", "smplx_body", "numpy_namespace")),
    ("model", ("pose", "kinematics", "swing_twist_conversions", "joint_coordinates", "joint_kinds", "skeleton", "kinematic_state",
               "geometry", "result", "motion",
               "mesh", "skeleton_loading", "skeletons", "body_proportions")),
    ("constraints", ("constraints",)),
    ("problem", ("problem", "swing_limits", "moving_coordinates", "root_alignment")),
    ("solvers and backends", ("solvers", "backends", "programs", "solution", "batch_result")),
    ("public solver API", ("solver", "solve_function", "sequence", "tracking", "joint_sets", "fitting")),
    ("output", ("render", "drawing", "export", "gltf")),
    ("viewer", ("viewer",)),
    ("tools", ("baselines", "benchmarks", "corpus", "progress_bar", "fit_command", "cli")),
)


def layer_of(module: str) -> int:
    if module == "ik_engine":
        return len(LAYERS)  # the package's front door, above everything
    first = module.split(".")[1]
    for k, (_, names) in enumerate(LAYERS):
        if first in names:
            return k
    raise AssertionError(f"{module} is in no layer of docs/architecture.md")


def test_every_import_goes_down_the_layers():
    graph, _ = import_graph()
    upward = [f"{m} ({LAYERS[layer_of(m)][0] if m != 'ik_engine' else 'package'}) imports {t} ({LAYERS[layer_of(t)][0]})"
              for m, targets in graph.items() for t in targets if layer_of(t) > layer_of(m) and t != "ik_engine"]
    # Tools (benchmarks) import the package's front door on purpose: the public API as users see it.
    assert upward == []


def test_the_layer_table_is_the_one_docs_architecture_md_describes():
    text = (ROOT / "docs" / "architecture.md").read_text()
    for name, modules in LAYERS:
        assert f"## {name.lower()}" in text.lower(), name
        for module in modules:
            assert f"`{module}" in text, module


def test_the_skeleton_cache_bounds_and_forgets():
    """The one per-skeleton cache: computes once, keeps the most recent entries, drops a
    skeleton's entries with the skeleton."""
    import gc

    import ik_engine as ik
    from ik_engine.skeleton_cache import SkeletonCache

    cache, calls = SkeletonCache(max_per_skeleton=2), []
    skeleton = ik.load_skeleton("smplx")
    for key in ("a", "b", "a", "c"):
        cache.get(skeleton, key, lambda k=key: calls.append(k) or k.upper())
    assert calls == ["a", "b", "c"]  # "a" computed once
    assert cache.keys(skeleton) == ["a", "c"] and len(cache) == 2  # "b" least recently used, dropped
    other = ik.Skeleton(["root", "tip"], [-1, 0], [[0, 0, 0], [0, 1, 0]])
    cache.get(other, "x", lambda: 1)
    assert len(cache) == 3
    del other
    gc.collect()
    assert len(cache) == 2
