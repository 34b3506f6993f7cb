"""``import atomiton.platform`` import time (target < 10 ms), measured with ``-X importtime``.

Each round starts a fresh interpreter with ``-X importtime`` and adds up the cumulative time of
every top-level import the statement triggered (Python's own start-up imports are excluded by
name). A clock that advances by exactly that amount is given to pytest-benchmark, so its table
shows import time, not process start-up. The peers' packages are measured the same way for
context; the resilience and DI peers are the libraries atomiton.platform replaces.
"""

from __future__ import annotations

import functools
import subprocess
import sys

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

MODULES = {
    "atomiton": "atomiton.platform",
    "tenacity": "tenacity",
    "pybreaker": "pybreaker",
    "dependency-injector": "dependency_injector.containers",
    "wireup": "wireup",
    "svcs": "svcs",
    "dishka": "dishka",
}

_elapsed = [0.0]


def _import_clock() -> float:
    """The benchmark's clock: advances only by the import time each round measures."""
    return _elapsed[0]


def _top_level_imports(statement: str) -> dict[str, float]:
    """Top-level module -> cumulative import seconds, as ``-X importtime`` reports them."""
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-W", "ignore", "-c", statement],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    imports: dict[str, float] = {}
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        _, cumulative, name = line.removeprefix("import time:").split("|")
        if len(name) - len(name.lstrip(" ")) == 1:  # one space: imported at top level
            imports[name.strip()] = int(cumulative) / 1e6
    return imports


@functools.cache
def _startup_modules() -> frozenset[str]:
    return frozenset(_top_level_imports("pass"))


def import_seconds(module: str) -> float:
    """Seconds ``import <module>`` spends importing, in a fresh interpreter."""
    startup = _startup_modules()
    imports = _top_level_imports(f"import {module}")
    assert module in imports or module.split(".")[0] in imports, sorted(imports)
    return sum(seconds for name, seconds in imports.items() if name not in startup)


@pytest.mark.parametrize("impl", list(MODULES))
@pytest.mark.benchmark(group="platform: import time", timer=_import_clock)
def test_import_time(benchmark: BenchmarkFixture, impl: str) -> None:
    module = MODULES[impl]

    def measure() -> None:
        _elapsed[0] += import_seconds(module)

    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = 10e-3
    benchmark.pedantic(measure, rounds=5, iterations=1)  # type: ignore[no-untyped-call]
