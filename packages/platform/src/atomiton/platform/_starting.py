"""Starting services: ``start()`` / ``async start()`` on built singletons, dependencies first.

Singletons are built dependencies-first, so their creation order is a dependency order; starting
in that order means a service's dependencies are running before it starts.
"""

from __future__ import annotations

import inspect
from typing import Any

from atomiton.platform._errors import ContainerError


def _start_method(service: Any) -> Any:
    start = getattr(service, "start", None)
    return start if callable(start) else None


def start_services(created: list[Any], started: dict[int, Any]) -> None:
    """Call ``start()`` on each not yet started service in ``created``, in order."""
    for service in list(created):
        start = _start_method(service)
        if start is None or id(service) in started:
            continue
        if inspect.iscoroutinefunction(start):
            raise ContainerError(
                f"{type(service).__qualname__}.start() is async: use `await container.astart()`"
            )
        result = start()
        if inspect.isawaitable(result):
            if hasattr(result, "close"):
                result.close()
            raise ContainerError(
                f"{type(service).__qualname__}.start() returned an awaitable: "
                "use `await container.astart()`"
            )
        started[id(service)] = service


async def astart_services(created: list[Any], started: dict[int, Any]) -> None:
    """Async twin of start_services: awaits async ``start()`` methods."""
    for service in list(created):
        start = _start_method(service)
        if start is None or id(service) in started:
            continue
        result = start()
        if inspect.isawaitable(result):
            await result
        started[id(service)] = service
