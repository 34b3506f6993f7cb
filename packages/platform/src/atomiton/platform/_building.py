"""Building each singleton exactly once: one build per key, and cycles found instead of waited on.

There is no lock held while a factory runs. Each singleton being built has a ``_Build`` record
naming the thread that builds it; a second thread that needs the same key waits for that one
build only, so services that do not depend on each other never wait on each other (a constructor
may start a thread that resolves another singleton and join it).

Before a thread waits, it follows the *wait-for* chain: the key it wants is built by thread T1,
T1 waits for a key built by T2, ... If the chain comes back to the waiting thread, waiting would
deadlock, so it raises ``CircularDependencyError`` instead. The same check covers one thread
asking for a key it is itself building (``resolve()`` calls inside factories that form a cycle),
which used to recurse until ``RecursionError``.

A wait that leaves the container (a factory joining a thread that waits for the key being
built) cannot be seen from here; such a cycle still blocks, as it would with any lock.

``abuild`` is the same algorithm for ``aresolve``, with tasks in place of threads: an async
factory awaiting ``aresolve`` of a singleton its own task is building raises instead of
waiting forever on itself.

The table of builds, waits and per-thread build stacks is guarded by the container's small
lock, which is only held for these few dictionary operations, never while user code runs.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from atomiton.platform._errors import CircularDependencyError
from atomiton.platform._wiring import chain_text

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping

    from atomiton.platform._wiring import Key

MISSING: Any = object()


class _Build:
    """One singleton under construction: who builds it, and an event set when it ends."""

    __slots__ = ("done", "owner")

    def __init__(self, owner: int) -> None:
        self.owner = owner
        self.done = threading.Event()


class _AsyncBuild:
    """The async twin of ``_Build``: the owner is a task, the event an asyncio one."""

    __slots__ = ("done", "owner")

    def __init__(self, owner: object) -> None:
        import asyncio  # only async users pay for importing it

        self.owner = owner
        self.done = asyncio.Event()


class SingletonBuilds:
    """Builds singletons once each; waits per key; raises on a cycle instead of deadlocking."""

    __slots__ = ("_abuilds", "_astacks", "_awaiting", "_builds", "_lock", "_stacks", "_waiting")

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._builds: dict[Key, _Build] = {}
        self._waiting: dict[Any, Key] = {}  # thread id -> the key it waits for
        self._stacks: dict[Any, list[Key]] = {}  # thread id -> keys it builds, outermost first
        # The same three tables for async builds, keyed by task.
        self._abuilds: dict[Key, _AsyncBuild] = {}
        self._awaiting: dict[Any, Key] = {}
        self._astacks: dict[Any, list[Key]] = {}

    def build(
        self,
        key: Key,
        make: Callable[[], Any],
        instances: dict[Key, Any],
        created: list[Any],
    ) -> Any:
        """Return the singleton for ``key``, calling ``make()`` unless another build succeeded.

        Raises:
            CircularDependencyError: Building ``key`` needs ``key`` itself, in this thread or
                through builds that other threads are waiting on.
        """
        me = threading.get_ident()
        lock = self._lock
        while True:
            with lock:
                service = instances.get(key, MISSING)
                if service is not MISSING:
                    return service
                build = self._builds.get(key)
                if build is None:
                    build = self._builds[key] = _Build(me)
                    self._stacks.setdefault(me, []).append(key)
                    break
                cycle = _cycle(me, key, self._builds, self._waiting, self._stacks)
                if cycle is not None:
                    raise _cycle_error(cycle)
                self._waiting[me] = key
            try:
                build.done.wait()
            finally:
                with lock:
                    del self._waiting[me]
            # Built (returned above on the next pass), or its build failed: then try ourselves,
            # as a caller that came first would have.
        try:
            service = make()
        except BaseException:
            self._finish(me, key, build)
            raise
        with lock:
            instances[key] = service
            created.append(service)
            self._finish(me, key, build)
        return service

    def wait_for_other_threads(self) -> None:
        """Wait until no other thread is building a singleton (``close()`` must not race one).

        A build that finished after ``close()`` forgot everything would put its singleton back
        into a closed container, its cleanup left for some later ``close()``.
        """
        me = threading.get_ident()
        while True:
            with self._lock:
                pending = [b for b in self._builds.values() if b.owner != me]
            if not pending:
                return
            for build in pending:
                build.done.wait()

    def _finish(self, me: int, key: Key, build: _Build) -> None:
        with self._lock:
            del self._builds[key]
            _pop(self._stacks, me)
        build.done.set()

    async def abuild(
        self,
        key: Key,
        make: Callable[[], Awaitable[Any]],
        instances: dict[Key, Any],
        created: list[Any],
    ) -> Any:
        """Async twin of ``build``: tasks instead of threads (same guarantees, same errors)."""
        import asyncio

        me = asyncio.current_task()
        lock = self._lock
        while True:
            with lock:
                service = instances.get(key, MISSING)
                if service is not MISSING:
                    return service
                build = self._abuilds.get(key)
                if build is None:
                    build = self._abuilds[key] = _AsyncBuild(me)
                    self._astacks.setdefault(me, []).append(key)
                    break
                cycle = _cycle(me, key, self._abuilds, self._awaiting, self._astacks)
                if cycle is not None:
                    raise _cycle_error(cycle)
                self._awaiting[me] = key
            try:
                await build.done.wait()
            finally:
                with lock:
                    del self._awaiting[me]
        try:
            service = await make()
        except BaseException:
            self._afinish(me, key, build)
            raise
        with lock:
            instances[key] = service
            created.append(service)
            self._afinish(me, key, build)
        return service

    def _afinish(self, me: object, key: Key, build: _AsyncBuild) -> None:
        with self._lock:
            del self._abuilds[key]
            _pop(self._astacks, me)
        build.done.set()


def _pop(stacks: dict[Any, list[Key]], owner: object) -> None:
    stack = stacks[owner]
    stack.pop()
    if not stack:
        del stacks[owner]


def _cycle(
    me: object,
    key: Key,
    builds: Mapping[Key, _Build | _AsyncBuild],
    waiting: Mapping[Any, Key],
    stacks: Mapping[Any, list[Key]],
) -> list[Key] | None:
    """The cycle that waiting for ``key`` would close, or None (called under the lock).

    ``key`` is built by some owner (thread or task); if that owner waits for a key, that key's
    owner is next, and so on. Reaching ``me`` closes a cycle; the keys along it are each owner's
    build stack from the awaited key up.
    """
    cycle: list[Key] = []
    wanted: Key | None = key
    seen: set[int] = set()
    while wanted is not None:
        build = builds.get(wanted)
        if build is None:
            return None
        owner = build.owner
        stack = stacks.get(owner, [])
        cycle.extend(stack[stack.index(wanted) :] if wanted in stack else [wanted])
        if owner == me:
            return [*cycle, key]
        if id(owner) in seen:  # a loop among other owners (they will find it themselves)
            return None
        seen.add(id(owner))
        wanted = waiting.get(owner)
    return None


def _cycle_error(cycle: list[Key]) -> CircularDependencyError:
    return CircularDependencyError(
        f"circular dependency: {chain_text(cycle)} (through resolve() calls while building). "
        "Break the cycle, e.g. by letting one of them take a factory or look the other up later",
        cycle,
    )


def cycle_from_recursion(error: RecursionError, key: Key) -> CircularDependencyError | None:
    """Turn a ``RecursionError`` passing through ``resolve(key)`` into the cycle it came from.

    Transients and scoped services that ``resolve()`` each other inside their factories recurse
    without a build record (keeping one would cost every resolve). Each ``resolve`` the error
    passes on its way out notes its key on the error; once a key repeats, the keys between form
    the cycle. A resolve too deep to run this note is skipped, which only shortens the noted run
    from the inside, so a repeat is always a real cycle; a recursion that never repeats a key (a
    factory's own deep recursion) stays a ``RecursionError``.
    """
    root: BaseException = error
    while isinstance(root.__context__, RecursionError):  # re-raised while noting, too deep
        root = root.__context__
    keys: list[Key] = root.__dict__.setdefault("_atomiton_resolving", [])
    if key in keys:
        # Noted innermost first: keys[i] is the inner copy of ``key``, the ones after it lie
        # between it and this (outer) resolve.
        cycle = [key, *reversed(keys[keys.index(key) + 1 :]), key]
        return CircularDependencyError(
            f"circular dependency: {chain_text(cycle)} (through resolve() calls inside "
            "factories, which recursed until RecursionError). Break the cycle, e.g. by letting "
            "one of them take a factory or look the other up later",
            cycle,
        )
    keys.append(key)
    return None
