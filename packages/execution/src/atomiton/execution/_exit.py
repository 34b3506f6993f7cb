"""Interpreter exit: pools that were never shut down run their queued jobs first.

``ThreadPoolExecutor`` and ``ProcessPoolExecutor`` register a hook with
``threading._register_atexit``, which runs when the main thread ends and before the interpreter
joins threads and runs ``atexit`` handlers (so multiprocessing, which would terminate daemonic
workers, has not run yet). This does the same for ThreadWorkers and ProcessWorkers: every live
pool gets ``shutdown(wait=True)``, so work submitted and not yet run is never dropped silently.

Interpreter exit is process-wide, so the registry of live pools is too: one weak set per process
(a pool that is garbage-collected leaves it), reset in a forked child, which owns none of its
parent's pools.
"""

from __future__ import annotations

import logging
import os
import threading
import weakref
from concurrent.futures import Executor

from atomiton.execution._errors import WorkersShutdownError

__all__ = ["run_pending_at_exit"]

logger = logging.getLogger(__name__)


class _ExitHook:
    """The live pools of this process, shut down (running their queues) at interpreter exit."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._lock = threading.Lock()
        self._pools: weakref.WeakSet[Executor] = weakref.WeakSet()
        self._registered_in: int | None = None  # the pid that registered with threading
        self._exiting = False

    def watch(self, pool: Executor) -> None:
        with self._lock:
            if self._exiting:
                raise WorkersShutdownError(
                    f"cannot create {type(pool).__name__} while the interpreter exits"
                )
            if self._registered_in != os.getpid():
                register = threading._register_atexit  # type: ignore[attr-defined]
                try:
                    register(self._run)
                except RuntimeError as exc:  # "can't register atexit after shutdown"
                    raise WorkersShutdownError(
                        f"cannot create {type(pool).__name__} while the interpreter exits"
                    ) from exc
                self._registered_in = os.getpid()
            self._pools.add(pool)

    def _run(self) -> None:
        if self._registered_in != os.getpid():
            return  # inherited through fork: the pools belong to the parent
        with self._lock:
            self._exiting = True
            pools = list(self._pools)
        for pool in pools:
            try:
                pool.shutdown(wait=True)
            except Exception:
                logger.exception("shutting down %r at interpreter exit failed", pool)


_hook = _ExitHook()
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_hook._reset)


def run_pending_at_exit(pool: Executor) -> None:
    """Shut ``pool`` down with ``wait=True`` when the interpreter exits, unless it was already.

    Raises:
        WorkersShutdownError: The interpreter is already exiting.
    """
    _hook.watch(pool)
