"""provide(): register this package's default services in an atomiton Container."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from atomiton.execution._processes import ProcessWorkers

if TYPE_CHECKING:
    from atomiton.platform import Container

__all__ = ["provide"]

_SETTINGS = ("max_workers", "min_workers", "idle_timeout", "max_tasks_per_worker", "start_method")


def provide(container: Container, settings: Mapping[str, Any] | None = None) -> None:
    """Register ProcessWorkers (also under the key ``"workers"``), built lazily on first use.

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

    def same_workers() -> ProcessWorkers:
        return container.resolve(ProcessWorkers)

    container.singleton(ProcessWorkers, workers)
    container.singleton("workers", same_workers)
