"""The shape of the code: imports point down the data's flow (no circles), the parts keep to
their side of DESIGN.md's table, and no module grows past what one reader holds in mind.

Imports are read from the source (module level and inside functions alike: an import moved
into a function to dodge a circle is still a circle).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shared", "blender_addon", "sync_service")
MAX_LINES = 450


def _module_files() -> dict[str, Path]:
    modules = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            modules[name.removesuffix(".__init__")] = path
    return modules


MODULES = _module_files()


def _imported_names(module: str) -> set[str]:
    """Every dotted name the module imports, relative imports resolved against its package."""
    path = MODULES[module]
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                base = parts[: len(parts) - node.level + 1]
                stem = ".".join(base + ([node.module] if node.module else []))
            else:
                stem = node.module or ""
            names.add(stem)
            names.update(f"{stem}.{alias.name}" for alias in node.names)
    return names


def _project_module(name: str) -> str | None:
    """The project module a dotted name lands in (``blender_addon._shared.errors`` is
    ``blender_addon._shared``), or None for a third-party or standard-library name."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def import_graph() -> dict[str, set[str]]:
    graph = {}
    for module in MODULES:
        targets = {_project_module(name) for name in _imported_names(module)}
        # A package's __init__ runs before its modules anyway; an edge to it is no circle.
        graph[module] = {t for t in targets
                         if t and t != module and not module.startswith(t + ".")}
    return graph


def find_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
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
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def test_the_cycle_finder_finds_a_cycle():
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert find_cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_another_in_a_circle():
    graph = import_graph()
    assert len(graph) > 60  # the walk found the project
    assert find_cycles(graph) == []


def _top_level_imports(module: str) -> set[str]:
    return {name.split(".")[0] for name in _imported_names(module)}


@pytest.mark.parametrize("part,forbidden", [
    ("shared", {"bpy", "flask", "sqlalchemy", "PIL", "blender_addon", "sync_service"}),
    ("blender_addon", {"flask", "sqlalchemy", "alembic", "huey", "PIL", "sync_service"}),
    ("sync_service", {"bpy", "mathutils", "bmesh", "blender_addon"}),
])
def test_each_part_keeps_to_its_side(part, forbidden):
    offenders = sorted(f"{module}: {name}" for module in MODULES if module.split(".")[0] == part
                       for name in _top_level_imports(module) & forbidden)
    assert not offenders


def test_no_source_file_is_over_the_size_limit():
    sources = [path for path in ROOT.rglob("*.py")
               if not {".venv", ".venv-bpy42", "tests", "migrations", ".git", "dist"}
               & set(path.relative_to(ROOT).parts)]
    assert len(sources) > 60
    too_long = sorted(f"{path.relative_to(ROOT)}: {n}" for path in sources
                      if (n := len(path.read_text().splitlines())) > MAX_LINES)
    assert not too_long
