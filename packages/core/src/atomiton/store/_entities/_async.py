"""Async twins of the entity API: ``aadd_one``, ``afind_many``, ``aflush``, ``aclose`` ...

A twin is made from its sync method by ``twin(method)``: one implementation, so the twin has
the sync method's semantics, strategies and errors (the same exception objects). It runs the
sync method in a worker thread (``asyncio.to_thread``, so context variables follow), so the
event loop never waits for storage, nor for the client's lock held by another thread's write.

One case runs inline instead: the calling thread already holds the client's lock, i.e. it is
inside ``with client.batch():``. A worker thread would wait for that lock, held by the thread
waiting for the worker: a deadlock. Inline is also what a batch means: its writes only change
memory until the block ends (storage is written then, by the block's own thread).

Cancelling the awaiting task does not cancel the operation: it runs to completion in its
thread (as ``asyncio.to_thread``), its result discarded.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any, Concatenate, ParamSpec, TypeVar

__all__ = ["twin"]

S = TypeVar("S")
P = ParamSpec("P")
R = TypeVar("R")


def _lock_of(owner: Any) -> Any:
    """The client lock behind a facade (``_client._lock``), a client or a history (``_lock``)."""
    client = getattr(owner, "_client", owner)
    return getattr(client, "_lock", None)


def twin(
    method: Callable[Concatenate[S, P], R], *, name: str | None = None
) -> Callable[Concatenate[S, P], Coroutine[Any, Any, R]]:
    """Make the async twin of a sync method (see the module docstring).

    Args:
        method: the sync method.
        name: the twin's name (default: ``"a" + method.__name__``).
    """

    async def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        lock = _lock_of(self)
        if lock is not None and lock._is_owned():
            return method(self, *args, **kwargs)  # inside this thread's batch: memory only
        import asyncio  # here, not at import: asyncio costs ~16 ms (issue 19)

        return await asyncio.to_thread(method, self, *args, **kwargs)

    functools.update_wrapper(run, method)  # __wrapped__: signature() shows the sync one
    owner, _dot, sync_name = method.__qualname__.rpartition(".")
    run.__name__ = name or f"a{sync_name}"
    run.__qualname__ = f"{owner}.{run.__name__}" if owner else run.__name__
    run.__doc__ = (
        f"Async twin of ``{method.__name__}``: the same call, run in a worker thread so the event "
        f"loop never waits for storage (inline inside this thread's ``batch()``).\n\n"
        f"{method.__doc__ or ''}"
    )
    return run
