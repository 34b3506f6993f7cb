"""Creating services and cleaning them up: generators, context managers, close()/aclose(), start().

Every service the container creates that needs cleaning up leaves a record on its owner (the
container, or the scope it was created in). Cleanup runs the records in reverse creation order;
a failing cleanup does not stop the others, and all failures are raised together at the end as
an ExceptionGroup.
"""

from __future__ import annotations

import inspect
import logging
from typing import TYPE_CHECKING, Any

from atomiton.platform._errors import ContainerError, ResolutionError
from atomiton.platform._wiring import (
    ASYNC_GENERATOR,
    COROUTINE,
    GENERATOR,
    Registration,
    describe,
)

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Generator

    # Whether the container already holds an object (a built singleton or an instance()), so
    # a factory returning it (an alias key such as "events" -> the EventBus) adds no cleanup.
    Owned = Callable[[object], bool]

logger = logging.getLogger("atomiton.platform")

# A cleanup record: (how, the object to clean up, the key it was created for).
Cleanup = tuple[str, Any, object]
_GEN, _AGEN, _CM, _ACM, _CLOSE = "generator", "async_generator", "cm", "acm", "close"


def _has_hooks(obj: Any) -> bool:
    kind = type(obj)
    return (
        hasattr(kind, "__exit__")
        or hasattr(kind, "__aexit__")
        or hasattr(obj, "close")
        or hasattr(obj, "aclose")
    )


def _track(obj: Any, key: object, cleanups: list[Cleanup], owned: Owned | None = None) -> Any:
    """Enter a sync context manager, or note close()/aclose(); return the service."""
    if owned is not None and _has_hooks(obj) and owned(obj):
        return obj
    kind = type(obj)
    if hasattr(kind, "__enter__") and hasattr(kind, "__exit__"):
        service = obj.__enter__()
        cleanups.append((_CM, obj, key))
        return service
    if hasattr(kind, "__aenter__") and hasattr(kind, "__aexit__"):
        raise ResolutionError(
            f"{describe(key)} is an async context manager: resolve it with "
            f"`await container.aresolve({describe(key)})` so it can be entered",
            key,
        )
    if hasattr(obj, "close") or hasattr(obj, "aclose"):
        cleanups.append((_CLOSE, obj, key))
    return obj


def create(
    registration: Registration,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    cleanups: list[Cleanup],
    owned: Owned | None = None,
) -> Any:
    """Call the factory synchronously and record how to clean up what it made.

    A result the container already holds (``owned``) is returned as is: its own registration
    cleans it up (or, for an ``instance()``, nobody does), so it is neither entered nor closed
    a second time.
    """
    if registration.is_async:
        raise ResolutionError(
            f"{describe(registration.key)} has an async factory "
            f"({describe(registration.factory)}): resolve it with "
            f"`await container.aresolve({describe(registration.key)})`",
            registration.key,
        )
    result = registration.factory(*args, **kwargs)
    if registration.kind == GENERATOR:
        return create_from_generator(registration, result, cleanups)
    if registration.may_clean:
        return _track(result, registration.key, cleanups, owned)
    return result


async def acreate(
    registration: Registration,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
    cleanups: list[Cleanup],
    owned: Owned | None = None,
) -> Any:
    """Call the factory, awaiting what needs it, and record how to clean up what it made.

    Unlike ``create``, this also enters async-only context managers (``__aenter__``).
    """
    if registration.kind == ASYNC_GENERATOR:
        agen = registration.factory(*args, **kwargs)
        try:
            service = await agen.__anext__()
        except StopAsyncIteration:
            raise ContainerError(
                f"the async generator factory for {describe(registration.key)} returned without "
                "yielding its service"
            ) from None
        cleanups.append((_AGEN, agen, registration.key))
        return service
    result = registration.factory(*args, **kwargs)
    if registration.kind == GENERATOR:
        return create_from_generator(registration, result, cleanups)
    if registration.kind == COROUTINE:
        result = await result
    if not (registration.kind == COROUTINE or registration.may_clean):
        return result
    if owned is not None and _has_hooks(result) and owned(result):
        return result
    kind = type(result)
    if hasattr(kind, "__aenter__") and not hasattr(kind, "__enter__"):
        service = await result.__aenter__()
        cleanups.append((_ACM, result, registration.key))
        return service
    return _track(result, registration.key, cleanups)


def create_from_generator(registration: Registration, gen: Any, cleanups: list[Cleanup]) -> Any:
    """Take the one service a generator factory yields and keep the generator for cleanup."""
    try:
        service = next(gen)
    except StopIteration:
        raise ContainerError(
            f"the generator factory for {describe(registration.key)} returned without "
            "yielding its service"
        ) from None
    cleanups.append((_GEN, gen, registration.key))
    return service


def _finish_generator(gen: Any, key: object) -> None:
    try:
        next(gen)
    except StopIteration:
        return
    gen.close()
    raise ContainerError(f"the generator factory for {describe(key)} yielded more than once")


def _needs_async(how: str, key: object) -> ContainerError:
    return ContainerError(
        f"{describe(key)} needs an async cleanup ({how}): use `await container.aclose()` "
        "(or `async with`) instead of close()"
    )


def _step(how: str, obj: Any, key: object, *, asynchronous: bool) -> Awaitable[Any] | None:
    """Clean up one record: do the synchronous part now and return what must still be awaited.

    For a synchronous close (``asynchronous=False``) a record that needs awaiting raises the
    "use aclose()" error instead of returning an awaitable.
    """
    if how == _GEN:
        _finish_generator(obj, key)
        return None
    if how == _CM:
        obj.__exit__(None, None, None)
        return None
    if how == _CLOSE:
        if asynchronous and hasattr(obj, "aclose"):
            result = obj.aclose()
        elif hasattr(obj, "close"):
            result = obj.close()
        else:
            raise _needs_async("aclose()", key)
        if not inspect.isawaitable(result):
            return None
        if not asynchronous:
            if hasattr(result, "close"):
                result.close()
            raise _needs_async("its close() is async", key)
        return result
    if not asynchronous:
        raise _needs_async(how, key)
    if how == _AGEN:
        return _finish_async_generator(obj, key)
    exiting: Awaitable[Any] = obj.__aexit__(None, None, None)
    return exiting


async def _finish_async_generator(agen: Any, key: object) -> None:
    try:
        await agen.__anext__()
    except StopAsyncIteration:
        return
    await agen.aclose()
    raise ContainerError(f"the async generator factory for {describe(key)} yielded more than once")


def _cleanup(
    cleanups: list[Cleanup], *, asynchronous: bool
) -> Generator[Awaitable[Any], None, list[Exception]]:
    """Run and empty ``cleanups`` in reverse order; the one algorithm behind both closes.

    Yields each awaitable a record leaves (only when ``asynchronous``); the async driver awaits
    it and throws its failure back in. Returns the failures, every record having been tried.
    """
    errors: list[Exception] = []
    while cleanups:
        how, obj, key = cleanups.pop()
        try:
            pending = _step(how, obj, key, asynchronous=asynchronous)
            if pending is not None:
                yield pending
        except Exception as exc:
            logger.debug("cleanup of %s failed", describe(key), exc_info=True)
            errors.append(exc)
    return errors


def run_cleanups(cleanups: list[Cleanup]) -> list[Exception]:
    """Run and empty ``cleanups`` in reverse order; return the failures."""
    steps = _cleanup(cleanups, asynchronous=False)
    try:
        next(steps)
    except StopIteration as done:
        errors: list[Exception] = done.value
        return errors
    raise AssertionError("a synchronous cleanup never has anything to await")


async def arun_cleanups(cleanups: list[Cleanup]) -> list[Exception]:
    """Async twin of run_cleanups: awaits async generators, async context managers, aclose()."""
    steps = _cleanup(cleanups, asynchronous=True)
    try:
        pending = next(steps)
        while True:
            try:
                await pending
            except Exception as exc:
                pending = steps.throw(exc)
            else:
                pending = steps.send(None)
    except StopIteration as done:
        errors: list[Exception] = done.value
        return errors


def raise_failures(errors: list[Exception], what: str) -> None:
    """Raise all cleanup failures together, or nothing when there were none."""
    if errors:
        raise ExceptionGroup(f"{len(errors)} cleanup(s) failed while closing {what}", errors)
