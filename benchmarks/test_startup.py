"""Start-up and memory of atomiton (issue 19), each case in a fresh interpreter.

Targets, each printed beside its figure by the ratio report (``--benchmark-enable``):

- ``import atomiton.<package>`` adds < 10 ms to a bare ``python -c pass``, each package alone
  and all six together. One round runs ``python -c "import X"`` and ``python -c pass``
  back to back and takes the difference of their wall times; the benchmark's clock advances by
  the median of ``PAIRS`` such differences, so the table shows the median added time. The
  peers' own imports (reaktiv, pyee, psygnal, diskcache, dependency-injector) are measured the
  same way in the same run.
- ``Container.from_installed()`` plus resolving ``"store.client"``, ``"events"``, ``"storage"``
  and ``"workers"``: < 10 ms *warm*, i.e. in a process that has already imported the modules
  those services need (it composed and closed one app before; the median of ``PAIRS`` fresh
  compositions, each closed afterwards). The *cold* figure (a fresh process: the imports, the
  composition and the four resolves, timed from inside the process) has no target; it is
  printed for reference, also without the DaskWorkers registration (which imports
  ``distributed`` at composition when it is installed).
- ``atomiton --version`` < 100 ms and ``atomiton info`` < 300 ms, as whole processes (wall
  time), beside a bare ``python -c pass``.

Memory: importing every package and composing the default app with the four services adds
< 10 MiB traced by tracemalloc and < 12 MiB RSS (``test_memory_of_the_default_app``, measured in
fresh processes with ``--benchmark-enable``; the figure without the DaskWorkers registration,
which imports ``distributed`` when it is installed, is printed beside it); 1,000 atoms
registered in a store's registry, with their values, take <= 1 MB (asserted in every run).

The untimed normal run stays cheap: the timed cases are skipped unless benchmarks are enabled,
except one import of all six packages (one pair of processes).
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

PAIRS = 9
BARE = "pass"
SIX = ("platform", "events", "execution", "store", "storage", "devtools")
ALL_SIX = "import " + ", ".join(f"atomiton.{name}" for name in SIX)

# group -> {impl: statement}; the peers beside the package they stand in for.
IMPORTS: dict[str, dict[str, str]] = {
    "startup: import atomiton.platform": {
        "atomiton": "import atomiton.platform",
        "dependency-injector": "import dependency_injector.containers",
    },
    "startup: import atomiton.events": {
        "atomiton": "import atomiton.events",
        "pyee": "import pyee",
        "psygnal": "import psygnal",
    },
    "startup: import atomiton.execution": {"atomiton": "import atomiton.execution"},
    "startup: import atomiton.store": {
        "atomiton": "import atomiton.store",
        "reaktiv": "import reaktiv",
    },
    "startup: import atomiton.storage": {
        "atomiton": "import atomiton.storage",
        "diskcache": "import diskcache",
    },
    "startup: import atomiton.devtools": {"atomiton": "import atomiton.devtools"},
    "startup: import all six packages": {
        "atomiton": ALL_SIX,
        "all five peers": (
            "import reaktiv, pyee, psygnal, diskcache, dependency_injector.containers"
        ),
    },
}
IMPORT_CASES = [(group, impl) for group, impls in IMPORTS.items() for impl in impls]

KEYS = ("store.client", "events", "storage", "workers")
COMPOSE = f"""
import sys, time
start = time.perf_counter()
if sys.argv[1:] == ["without-dask"]:
    import atomiton.execution._provider as p; p.dask_installed = lambda: False
from atomiton.platform import Container

def compose():
    container = Container.from_installed()
    for key in {KEYS!r}:
        container.resolve(key)
    return container

container = compose()
cold = time.perf_counter() - start
container.close()
warm = []
for _ in range({PAIRS}):
    start = time.perf_counter()
    container = compose()
    warm.append(time.perf_counter() - start)
    container.close()
print(cold, *warm)
"""

MEMORY = f"""
import gc, json, os, sys, tracemalloc

def rss():
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")

if sys.argv[1] == "traced":
    tracemalloc.start()
before = rss()
# HIDE DASK
{ALL_SIX}
from atomiton.platform import Container

container = Container.from_installed()
for key in {KEYS!r}:
    container.resolve(key)
gc.collect()
traced = tracemalloc.get_traced_memory()[0] if tracemalloc.is_tracing() else 0
print(json.dumps({{"rss": rss() - before, "traced": traced}}))
container.close()
"""

_elapsed = [0.0]


def _clock() -> float:
    """The benchmark's clock: advances only by what each round measures."""
    return _elapsed[0]


def _wall(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, timeout=120)
    return time.perf_counter() - start


def added_seconds(statement: str, pairs: int) -> float:
    """Median over ``pairs`` of (``python -c statement``) - (``python -c pass``), wall time."""
    differences = [
        _wall([sys.executable, "-c", statement]) - _wall([sys.executable, "-c", BARE])
        for _ in range(pairs)
    ]
    return statistics.median(differences)


def _skip_untimed(benchmark: BenchmarkFixture) -> None:
    if benchmark.disabled:
        pytest.skip("timed only: run with --benchmark-enable")


@pytest.mark.parametrize(("group", "impl"), IMPORT_CASES)
@pytest.mark.benchmark(timer=_clock)  # one round = the median of `pairs` process pairs
def test_import_adds(benchmark: BenchmarkFixture, group: str, impl: str) -> None:
    statement = IMPORTS[group][impl]
    cheap_check = group == "startup: import all six packages" and impl == "atomiton"
    if not cheap_check:
        _skip_untimed(benchmark)
    benchmark.group = group
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = 10e-3
    pairs = 1 if benchmark.disabled else PAIRS

    def measure() -> None:
        _elapsed[0] += added_seconds(statement, pairs)

    benchmark.pedantic(measure, rounds=1, iterations=1)  # type: ignore[no-untyped-call]


@pytest.mark.parametrize("state", ["warm", "cold", "cold, without DaskWorkers"])
@pytest.mark.benchmark(timer=_clock)
def test_from_installed_and_four_services(benchmark: BenchmarkFixture, state: str) -> None:
    _skip_untimed(benchmark)
    benchmark.group = f"startup: Container.from_installed() + 4 resolves ({state})"
    benchmark.extra_info["impl"] = "atomiton"
    if state == "warm":
        benchmark.extra_info["target_s"] = 10e-3

    def measure() -> None:
        out = subprocess.run(
            [sys.executable, "-c", COMPOSE, *(["without-dask"] if "Dask" in state else [])],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split()
        cold, *warm = map(float, out)
        _elapsed[0] += statistics.median(warm) if state == "warm" else cold

    benchmark.pedantic(measure, rounds=1 if state == "warm" else 3, iterations=1)  # type: ignore[no-untyped-call]


COMMANDS = {
    "startup: atomiton --version (whole process)": (["--version"], 100e-3),
    "startup: atomiton info (whole process)": (["info"], 300e-3),
}


@pytest.mark.parametrize("group", list(COMMANDS))
@pytest.mark.parametrize("impl", ["atomiton", "python -c pass"])
@pytest.mark.benchmark(timer=_clock)
def test_command(benchmark: BenchmarkFixture, group: str, impl: str) -> None:
    _skip_untimed(benchmark)
    arguments, target = COMMANDS[group]
    command = str(Path(sys.executable).with_name("atomiton"))
    argv = [command, *arguments] if impl == "atomiton" else [sys.executable, "-c", BARE]
    benchmark.group = group
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = target

    def measure() -> None:
        _elapsed[0] += statistics.median(_wall(argv) for _ in range(PAIRS))

    benchmark.pedantic(measure, rounds=1, iterations=1)  # type: ignore[no-untyped-call]


MiB = 1024 * 1024


def _app_memory(kind: str, *, without_dask: bool = False) -> int:
    # After the baseline, so what _provider imports is counted.
    hide = "import atomiton.execution._provider as p; p.dask_installed = lambda: False"
    script = MEMORY.replace("# HIDE DASK", hide if without_dask else "")
    out = subprocess.run(
        [sys.executable, "-c", script, kind], check=True, capture_output=True, text=True
    ).stdout
    figures: dict[str, int] = json.loads(out)
    return figures[kind]


def test_memory_of_the_default_app(request: pytest.FixtureRequest) -> None:
    session = getattr(request.config, "_benchmarksession", None)
    if session is None or session.disabled:
        pytest.skip("measured only with --benchmark-enable (four fresh processes)")
    traced, rss = _app_memory("traced"), _app_memory("rss")  # RSS without tracemalloc's tables
    lean_traced = _app_memory("traced", without_dask=True)
    lean_rss = _app_memory("rss", without_dask=True)
    print(
        f"\nimport all six + compose the default app: {traced / MiB:.2f} MiB traced "
        f"(target < 10 MiB), {rss / MiB:.2f} MiB RSS (target < 12 MiB); without the "
        f"DaskWorkers registration: {lean_traced / MiB:.2f} MiB traced, "
        f"{lean_rss / MiB:.2f} MiB RSS"
    )
    assert traced < 10 * MiB
    assert rss < 12 * MiB


def test_memory_of_1000_registered_atoms() -> None:
    import gc
    import tracemalloc

    from atomiton.store import AtomRegistry, atom, create_store

    registry = AtomRegistry()
    store = create_store(registry=registry)
    names = [f"atom-{i}" for i in range(1000)]
    gc.collect()
    tracemalloc.start()
    try:
        held = []
        for i, name in enumerate(names):
            item = atom(i, name=name)
            registry.register(item, store)
            store.set(item, i + 1)
            held.append(item)
        size = tracemalloc.get_traced_memory()[0] - 8 * len(held)  # not the list's pointers
    finally:
        tracemalloc.stop()
    print(f"\n1,000 registered atoms with their values: {size / 1e6:.3f} MB (target <= 1 MB)")
    assert len(registry) >= 1000
    assert size <= 1_000_000
