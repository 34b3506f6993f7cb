"""The workspace's architecture, checked: layering of declared dependencies and of real imports."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = {
    "platform": ("atomiton-platform", "atomiton.platform"),
    "events": ("atomiton-events", "atomiton.events"),
    "storage": ("atomiton-storage", "atomiton.storage"),
    "execution": ("atomiton-execution", "atomiton.execution"),
    "core": ("atomiton-store", "atomiton.store"),
    "devtools": ("atomiton-devtools", "atomiton.devtools"),
}
# What each package may depend on: dependencies point down, no cycles.
ALLOWED = {
    "atomiton-platform": set(),
    "atomiton-events": {"atomiton-platform"},
    "atomiton-storage": {"atomiton-platform"},
    "atomiton-execution": {"atomiton-platform"},
    # The entity client's default storage is atomiton.storage.MemoryStorage (issue 17).
    "atomiton-store": {"atomiton-platform", "atomiton-storage"},
    "atomiton-devtools": {
        "atomiton-platform",
        "atomiton-events",
        "atomiton-storage",
        "atomiton-execution",
        "atomiton-store",
    },
}
MODULE_OF = dict(PACKAGES.values())


def declared_atomiton_deps(folder: str) -> set[str]:
    project = tomllib.loads((ROOT / "packages" / folder / "pyproject.toml").read_text())["project"]
    names = {
        dep.split(";")[0].split("[")[0].split(">")[0].split("=")[0].strip()
        for dep in project.get("dependencies", [])
    }
    return {name for name in names if name.startswith("atomiton-")}


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_declared_dependencies_point_down(folder: str) -> None:
    dist = PACKAGES[folder][0]
    assert declared_atomiton_deps(folder) <= ALLOWED[dist]


@pytest.mark.parametrize("folder", sorted(PACKAGES))
def test_importing_a_package_loads_only_declared_atomiton_packages(folder: str) -> None:
    dist, module = PACKAGES[folder]
    probe = (
        f"import json, sys, {module}; "
        "print(json.dumps(sorted({'.'.join(m.split('.')[:2]) for m in sys.modules "
        "if m.startswith('atomiton.')})))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    loaded = set(json.loads(out)) - {module}
    allowed = {MODULE_OF[d] for d in ALLOWED[dist]}
    assert loaded <= allowed, f"{module} imports undeclared {sorted(loaded - allowed)}"


def test_no_package_turns_the_namespace_into_a_regular_package() -> None:
    assert list(ROOT.glob("packages/*/src/atomiton/__init__.py")) == []
