"""Starting services: ``start()`` / ``async start()`` on built singletons, dependencies first.

Singletons are built dependencies-first, so their creation order is a dependency order; starting
in that order means a service's dependencies are running before it starts.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any

from atomiton.platform._errors import ContainerError

if TYPE_CHECKING:
    from collections.abc import Awaitable, Generator


def _start_method(service: Any) -> Any:
    start = getattr(service, "start", None)
    return start if callable(start) else None


def _starting(
    created: list[Any], started: dict[int, Any], *, asynchronous: bool
) -> Generator[Awaitable[Any], None, None]:
    """Start each not yet started service in ``created``, in order: the one algorithm.

    Yields each awaitable a ``start()`` returns (only when ``asynchronous``; the async driver
    awaits it before the next service starts). A synchronous start refuses async ones.
    """
    for service in list(created):
        start = _start_method(service)
        if start is None or id(service) in started:
            continue
        if not asynchronous and inspect.iscoroutinefunction(start):
            raise ContainerError(
                f"{type(service).__qualname__}.start() is async: use `await container.astart()`"
            )
        result = start()
        if inspect.isawaitable(result):
            if not asynchronous:
                if hasattr(result, "close"):
                    result.close()
                raise ContainerError(
                    f"{type(service).__qualname__}.start() returned an awaitable: "
                    "use `await container.astart()`"
                )
            yield result
        started[id(service)] = service


def start_services(created: list[Any], started: dict[int, Any]) -> None:
    """Call ``start()`` on each not yet started service in ``created``, in order."""
    for _ in _starting(created, started, asynchronous=False):
        raise AssertionError("a synchronous start never has anything to await")


async def astart_services(created: list[Any], started: dict[int, Any]) -> None:
    """Async twin of start_services: awaits async ``start()`` methods."""
    for pending in _starting(created, started, asynchronous=True):
        await pending
