"""The store package's modules import each other without a cycle (issue 17).

Every import counts: at module level, inside functions, and under ``if TYPE_CHECKING:``. A
cycle through type-only imports is still two modules that cannot be understood one at a time.
"""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import atomiton.store

PACKAGE = "atomiton.store"
ROOT = Path(atomiton.store.__file__).parent


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([PACKAGE, *parts])


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(ROOT.rglob("*.py"))}


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    """Modules of this package that ``path`` imports (anywhere in the file)."""
    is_package = path.name == "__init__.py"
    here = name if is_package else name.rpartition(".")[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = here.split(".")
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, base] if base else anchor)
            # ``from pkg import mod`` imports the submodule ``pkg.mod`` when there is one.
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            if target in known and target != name:
                found.add(target)
    return found


def _graph() -> dict[str, set[str]]:
    # Parsed in a fresh interpreter: CPython 3.11's parser can fail with "AST constructor
    # recursion depth mismatch" in a process where an earlier test changed the recursion limit.
    out = subprocess.run(
        [sys.executable, __file__], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return {name: set(targets) for name, targets in json.loads(out).items()}


def _graph_here() -> dict[str, list[str]]:
    modules = _modules()
    known = set(modules)
    return {name: sorted(_imports(name, path, known)) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    result: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
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
                        result.append(sorted(component))
    return result


def test_no_module_of_the_package_imports_itself_back() -> None:
    graph = _graph()
    assert len(graph) > 20  # the walk found the package's modules
    assert _cycles(graph) == []


def test_the_checker_finds_a_cycle_closed_by_a_type_checking_import(tmp_path: Path) -> None:
    # The detector itself, on a synthetic graph and on a module whose only import is type-only.
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert _cycles(graph) == [["a", "b", "c"]]
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from atomiton.store.x import Y\n",
        encoding="utf-8",
    )
    script = (
        "import sys; sys.path.insert(0, sys.argv[1]); import test_import_graph as t; "
        "from pathlib import Path; "
        "print(sorted(t._imports('atomiton.store.m', Path(sys.argv[2]), {'atomiton.store.x'})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", script, str(Path(__file__).parent), str(module)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    ).stdout
    assert out.strip() == "['atomiton.store.x']"


def test_each_part_lives_in_its_own_private_folder() -> None:
    names = set(_modules())
    for part in ("_atoms", "_entities", "_hub"):
        assert f"{PACKAGE}.{part}" in names
    assert f"{PACKAGE}._atoms.runtime" in names
    assert f"{PACKAGE}._entities.client" in names
    assert f"{PACKAGE}._hub.hub" in names
    # No implementation module is left flat beside the face but what the parts share: the
    # errors, the version, and the async consumer wake-up (store.watch and watch_many).
    flat = {p.name for p in ROOT.glob("*.py")}
    assert flat == {"__init__.py", "_errors.py", "_version.py", "_wakeup.py"}


if __name__ == "__main__":
    print(json.dumps(_graph_here()))
