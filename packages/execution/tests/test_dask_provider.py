"""provide(): DaskWorkers registered when installed; ATOMITON_WORKERS picks "workers"."""

from __future__ import annotations

import pytest

pytest.importorskip("distributed", reason="DaskWorkers needs atomiton-execution[dask]")

from atomiton.execution import DaskWorkers, ProcessWorkers, ThreadWorkers, provide
from atomiton.platform import Container, SettingsError

from .execution_jobs import square


def test_dask_workers_are_registered_but_processes_stay_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("ATOMITON_WORKERS", raising=False)
    container = Container()
    provide(container)
    assert container.has(DaskWorkers)
    with container:
        assert type(container.resolve("workers")) is ProcessWorkers


def test_atomiton_workers_dask_makes_the_default_pool_join_the_given_scheduler(
    monkeypatch: pytest.MonkeyPatch, dask_scheduler: str
) -> None:
    monkeypatch.setenv("ATOMITON_WORKERS", "dask")
    monkeypatch.setenv("ATOMITON_DASK_ADDRESS", dask_scheduler)
    container = Container()
    provide(container)
    with container:
        workers = container.resolve("workers")
        assert isinstance(workers, DaskWorkers)
        assert container.resolve(DaskWorkers) is workers
        assert workers.scheduler_address == dask_scheduler
        assert workers.submit(square, 5).result(timeout=30) == 25
    assert workers._shutdown
    # Closing the container closed the pool's client, not the cluster it joined.
    with DaskWorkers(address=dask_scheduler) as again:
        assert again.submit(square, 6).result(timeout=30) == 36


def test_the_setting_wins_over_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ATOMITON_WORKERS", "dask")
    container = Container()
    provide(container, {"workers.backend": "threads", "workers.max_workers": 3})
    with container:
        workers = container.resolve("workers")
        assert isinstance(workers, ThreadWorkers)
        assert workers.max_workers == 3


def test_an_unknown_backend_is_refused_naming_where_it_came_from(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ATOMITON_WORKERS", "spark")
    with pytest.raises(SettingsError, match=r"ATOMITON_WORKERS='spark'.*threads, processes, dask"):
        provide(Container())
    with pytest.raises(ValueError, match=r"\"workers\.backend\".*got 'gpu'"):
        provide(Container(), {"workers.backend": "gpu"})


def test_composing_an_app_does_not_load_distributed() -> None:
    # DaskWorkers is registered by type when distributed is installed, but distributed (with dask
    # and tornado, ~28 MiB) must load only when a Dask pool is made.
    import subprocess
    import sys

    probe = (
        "import sys\n"
        "from atomiton.platform import Container\n"
        "from atomiton.execution import DaskWorkers\n"
        "with Container.from_installed() as c:\n"
        "    c.resolve('workers')\n"
        "    assert c.has(DaskWorkers)\n"
        "    print(sorted(m for m in ('distributed', 'dask', 'tornado') if m in sys.modules))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    ).stdout
    assert out.strip() == "[]"
