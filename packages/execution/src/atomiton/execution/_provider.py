"""provide(): register this package's default services in an atomiton Container."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomiton.execution._processes import ProcessWorkers
from atomiton.execution._threads import ThreadWorkers
from atomiton.execution._workers import Workers

if TYPE_CHECKING:
    from atomiton.platform import Container

__all__ = ["provide"]

_SETTINGS = ("max_workers", "min_workers", "idle_timeout", "max_tasks_per_worker", "start_method")
_THREAD_SETTINGS = ("max_workers", "min_workers", "idle_timeout", "max_tasks_per_worker")
_DASK_SETTINGS = (
    "address",
    "max_workers",
    "min_workers",
    "n_workers",
    "idle_timeout",
    "threads_per_worker",
    "kill_grace",
)
#: Environment variable choosing the backend of the default ``"workers"`` service.
BACKEND_ENV = "ATOMITON_WORKERS"
#: Environment variable with the scheduler address DaskWorkers joins (else it owns a cluster).
ADDRESS_ENV = "ATOMITON_DASK_ADDRESS"
_BACKENDS = ("threads", "processes", "dask")


def dask_installed() -> bool:
    """True when ``distributed`` is importable (``atomiton-execution[dask]``)."""
    return importlib.util.find_spec("distributed") is not None


def choose_backend(settings: Mapping[str, Any] | None) -> str:
    """The ``"workers"`` backend: ``"workers.backend"``, else ``$ATOMITON_WORKERS``, else processes.

    Raises:
        SettingsError: ``ATOMITON_WORKERS`` names no backend, or names dask without it installed.
        ValueError: The ``"workers.backend"`` setting names no backend.
    """
    from atomiton.platform import SettingsError

    expected = "one of threads, processes, dask"
    if settings is not None and "workers.backend" in settings:
        backend = settings["workers.backend"]
        if backend not in _BACKENDS:
            raise ValueError(f'setting "workers.backend" must be {expected}, got {backend!r}')
    else:
        raw = os.environ.get(BACKEND_ENV)
        backend = (raw or "processes").strip().lower()
        if backend not in _BACKENDS:
            raise SettingsError(BACKEND_ENV, raw, expected)
    if backend == "dask" and not dask_installed():
        raise SettingsError(
            BACKEND_ENV, "dask", "dask needs distributed: install atomiton-execution[dask]"
        )
    return str(backend)


def provide(container: Container, settings: Mapping[str, Any] | None = None) -> None:
    """Register the worker pools and the default ``"workers"`` service, built lazily on first use.

    ``"workers"`` is ProcessWorkers unless the setting ``"workers.backend"`` or the environment
    variable ``ATOMITON_WORKERS`` says ``threads`` (ThreadWorkers) or ``dask`` (DaskWorkers).
    ProcessWorkers is always registered under its type, DaskWorkers when ``distributed`` is
    installed, ThreadWorkers when it is the chosen backend. DaskWorkers joins the scheduler at
    ``"workers.address"`` (or ``$ATOMITON_DASK_ADDRESS``), else starts a local cluster, sized by
    ``"workers.max_workers"``, ``"workers.min_workers"``, ``"workers.n_workers"``,
    ``"workers.idle_timeout"``, ``"workers.threads_per_worker"`` and ``"workers.kill_grace"``.

    The pool is sized from ``atomiton.platform.capabilities()`` unless settings say otherwise
    (``"workers.max_workers"``, ``"workers.min_workers"``, ``"workers.idle_timeout"``,
    ``"workers.max_tasks_per_worker"``, ``"workers.start_method"``). If the container holds an
    ``"events"`` bus when the pool is built, jobs emit ``execution.job.*`` events on it. The
    container shuts the pool down when it closes.

    Args:
        container: The application's container.
        settings: Optional settings, keyed as above.
    """
    options = {
        name: settings[f"workers.{name}"]
        for name in _SETTINGS
        if settings is not None and f"workers.{name}" in settings
    }

    def workers() -> ProcessWorkers:
        events = container.resolve("events") if container.has("events") else None
        return ProcessWorkers(events=events, **options)

    def events() -> Any:
        return container.resolve("events") if container.has("events") else None

    container.singleton(ProcessWorkers, workers)
    backend = choose_backend(settings)
    chosen: type[Workers] = ProcessWorkers
    if backend == "threads":
        thread_options = _pick(settings, _THREAD_SETTINGS)

        def thread_workers() -> ThreadWorkers:
            return ThreadWorkers(events=events(), **thread_options)

        container.singleton(ThreadWorkers, thread_workers)
        chosen = ThreadWorkers
    if dask_installed():
        from atomiton.execution._dask import DaskWorkers

        dask_options = _pick(settings, _DASK_SETTINGS)
        if "address" not in dask_options and os.environ.get(ADDRESS_ENV):
            dask_options["address"] = os.environ[ADDRESS_ENV]

        def dask_workers() -> DaskWorkers:
            return DaskWorkers(events=events(), **dask_options)

        container.singleton(DaskWorkers, dask_workers)
        if backend == "dask":
            chosen = DaskWorkers

    def same_workers() -> Workers:
        return container.resolve(chosen)

    container.singleton("workers", same_workers)


def _pick(settings: Mapping[str, Any] | None, names: tuple[str, ...]) -> dict[str, Any]:
    return {
        name: settings[f"workers.{name}"]
        for name in names
        if settings is not None and f"workers.{name}" in settings
    }
