"""The reactive algorithm of a store, in one place (after Jotai's vanilla store).

Data, all keyed by atom id so that a store never keeps an atom alive:

* ``values``: primitive atom id -> value (only atoms written in this store; others read ``init``).
* ``cells``: derived atom id -> ``_Cell`` (value or error, ``epoch``, ``deps``, ``checked``).
* ``mounted``: atom id -> ``_Mounted`` (listeners, mounted dependants) for observed atoms.

A derived cell remembers, per dependency, what it saw: the value object of a primitive (compared
by identity) or the epoch of a derived cell. ``clock`` counts writes; a cell validated at the
current clock is fresh without looking at its dependencies.

The phases, each iterative (no Python recursion, so chains of 10,000 atoms work):

* **read / invalidate** (``fresh``): an unobserved derived atom is validated lazily when read:
  its dependencies are validated first (explicit stack), and it recomputes only if one changed.
* **recompute** (``propagate``): after a write, the mounted dependants of what changed are
  topologically sorted and each is recomputed once, only if one of its dependencies changed.
* **mount / unmount**: subscribing mounts an atom and, transitively, its dependencies; the last
  unsubscribe unmounts what nothing observes any more. ``on_mount``/``on_unmount`` are queued.
* **flush**: after all recomputes, listeners of every changed mounted atom run once, then the
  queued hooks and plugin ``after_set`` calls; writes made by listeners loop until quiet.

Reads evaluated more than ``_NESTING_LIMIT`` levels deep suspend (``_Suspend``) instead of
recursing: the driving loop computes the missing dependency first and re-runs the read.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from itertools import chain
from typing import TYPE_CHECKING, Any

from atomiton.store._atom import Atom, Computed, _runtimes
from atomiton.store._errors import (
    CycleError,
    IsolationError,
    ListenersDidNotSettleError,
    PendingError,
    ReadOnlyAtomError,
)

if TYPE_CHECKING:
    from atomiton.store._store import PluginHooks, Store

_NESTING_LIMIT = 60
_COMPUTING = -2  # ``_Cell.checked`` while its read runs: reading it again is a cycle
_chain = chain.from_iterable
_MAX_FLUSH_ROUNDS = 1000


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "<missing>"


MISSING: Any = _Missing()


class _Suspend(BaseException):
    """Raised by ``get`` deep inside nested reads: compute ``atom`` first, then retry."""

    def __init__(self, atom: Atom[Any]) -> None:
        self.atom = atom


class _Cell:
    """The state of one derived atom in one store."""

    __slots__ = ("checked", "deps", "epoch", "error", "mounted", "value")

    def __init__(self) -> None:
        self.value: Any = MISSING
        self.error: BaseException | None = None
        self.epoch = 0
        self.deps: tuple[Any, ...] = ()  # flattened (atom, seen, atom, seen, ...)
        self.checked = -1
        self.mounted: _Mounted | None = None


class _AsyncRun:
    """A pending evaluation of an async derived atom: its task and what it read so far."""

    __slots__ = ("seen", "task")

    def __init__(self, seen: dict[Any, Any]) -> None:
        self.seen = seen
        self.task: asyncio.Task[None] | None = None


class _Mounted:
    """An observed atom: its listeners and the mounted atoms that depend on it."""

    __slots__ = ("atom", "dependents", "listeners")

    def __init__(self, atom: Atom[Any]) -> None:
        self.atom = atom
        self.listeners: tuple[Callable[[Any], None], ...] = ()
        self.dependents: dict[Atom[Any], None] = {}


def equal(atom: Atom[Any], old: Any, new: Any) -> bool:
    """Whether ``new`` equals ``old`` for ``atom`` (its ``equals``, else identity then ``==``)."""
    if old is new:
        return True
    if old is MISSING or new is MISSING:
        return False
    opts = atom._opts
    if opts is not None and opts.equals is not None:
        return bool(opts.equals(old, new))
    try:
        return bool(old == new)
    except Exception:  # e.g. arrays whose == is elementwise: treat as changed
        return False


def _same_atoms(old: tuple[Any, ...], new: tuple[Any, ...]) -> bool:
    """Whether two flattened dependency tuples name the same atoms (values are not compared)."""
    if len(old) != len(new):
        return False
    return all(old[i] is new[i] for i in range(0, len(old), 2))


class Runtime:
    """Values, dependency graph and scheduling shared by the store(s) that use it."""

    __slots__ = (
        "__weakref__",
        "before",
        "cells",
        "clock",
        "depth",
        "dirty",
        "flushing",
        "hooks",
        "lock",
        "mounted",
        "names",
        "nesting",
        "pending",
        "plugins",
        "recomputing",
        "runs",
        "stale",
        "values",
    )

    def __init__(self) -> None:
        self.values: dict[int, Any] = {}
        self.names: dict[int, str] = {}
        self.cells: dict[int, _Cell] = {}
        self.mounted: dict[int, _Mounted] = {}
        self.lock = threading.RLock()
        self.clock = 0
        self.depth = 0  # > 0 inside batch() or a write function: listeners wait
        self.nesting = 0  # nested read evaluations on the current stack
        self.flushing = False
        self.dirty = False  # something changed since the last commit hook
        self.pending: dict[int, _Mounted] = {}
        self.hooks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self.plugins: tuple[PluginHooks, ...] = ()
        self.runs: dict[int, _AsyncRun] = {}
        # During a recompute pass: mounted atoms still to visit -> their epoch before it. A read
        # that reaches one of them validates it on demand instead of trusting its cache.
        self.recomputing: dict[int, int] = {}  # pending evaluations of async atoms
        self.before: dict[int, Any] = {}  # value at batch start of primitives written in it
        self.stale: list[_Mounted] = []  # written roots whose dependants await ``settle``
        _runtimes.add(self)

    # ---------------------------------------------------------------- lifetime
    def forget(self, atom_id: int) -> None:
        """Drop everything held for a dead atom (called from ``Atom.__del__``)."""
        self.values.pop(atom_id, None)
        self.names.pop(atom_id, None)
        self.cells.pop(atom_id, None)
        self.runs.pop(atom_id, None)

    def check_owner(self, atom: Atom[Any]) -> None:
        """Raise IsolationError when ``atom`` is isolated to a store using another runtime."""
        opts = atom._opts
        if opts is None or opts.owner_ref is None:
            return
        owner = opts.owner_ref()
        if owner is None:
            raise IsolationError(f"atom {atom.name!r} is isolated to a store that was dropped")
        if owner._rt is not self:
            raise IsolationError(
                f"atom {atom.name!r} is isolated to store {owner.name!r}; "
                "it cannot be read or written from another store"
            )

    # ---------------------------------------------------------------- read / invalidate
    def read(self, atom: Atom[Any]) -> Any:
        """The current value of ``atom`` (slow path of ``Store.get``), under the lock."""
        self.check_owner(atom)
        if atom._read is None:
            return self.values.get(atom._id, atom._init)
        if self.stale:
            self.settle()
        cell = self.fresh(atom)
        if cell.error is not None:
            raise cell.error
        return cell.value

    def fresh(self, atom: Atom[Any]) -> _Cell:
        """Validate (and if needed recompute) a derived atom and its dependencies; iterative."""
        cells = self.cells
        cell = cells.get(atom._id)
        if cell is None:
            self.check_owner(atom)
            cell = cells[atom._id] = _Cell()
        elif cell.checked == self.clock or (
            cell.mounted is not None and atom._id not in self.recomputing
        ):
            return cell
        clock = self.clock
        recomputing = self.recomputing
        stack: list[list[Any]] = [[atom, cell, 0]]
        on_stack = {atom._id}
        while stack:
            frame = stack[-1]
            a, c, i = frame
            deps = c.deps
            pushed = False
            while i < len(deps):
                d = deps[i]
                i += 2
                if d._read is None:
                    continue
                dc = cells.get(d._id)
                if dc is None:
                    dc = cells[d._id] = _Cell()
                elif dc.checked == clock or (dc.mounted is not None and d._id not in recomputing):
                    continue
                if d._id in on_stack:
                    raise CycleError(f"derived atom {d.name!r} depends on itself")
                frame[2] = i
                stack.append([d, dc, 0])
                on_stack.add(d._id)
                pushed = True
                break
            if pushed:
                continue
            if (c.value is MISSING and c.error is None) or self.changed(c, a._id):
                try:
                    self.compute(a, c)
                except _Suspend as suspended:
                    d = suspended.atom
                    if d._id in on_stack:
                        raise CycleError(f"derived atom {d.name!r} depends on itself") from None
                    frame[2] = len(c.deps)
                    dc = cells.get(d._id)
                    if dc is None:
                        dc = cells[d._id] = _Cell()
                    stack.append([d, dc, 0])
                    on_stack.add(d._id)
                    continue
            else:
                c.checked = clock
            stack.pop()
            on_stack.discard(a._id)
        return cell

    def changed(self, cell: _Cell, atom_id: int) -> bool:
        """Whether any dependency differs from what ``cell`` saw when it was computed."""
        values = self.values
        cells = self.cells
        run = self.runs.get(atom_id) if self.runs else None
        if run is not None:  # a pending async evaluation: compare with what it read
            deps: tuple[Any, ...] = tuple(_chain(list(run.seen.items())))
        else:
            deps = cell.deps
        for i in range(0, len(deps), 2):
            d = deps[i]
            if d._read is None:
                if values.get(d._id, d._init) is not deps[i + 1]:
                    return True
            else:
                dc = cells.get(d._id)
                if dc is None or dc.epoch != deps[i + 1]:
                    return True
        return False

    def compute(self, atom: Atom[Any], cell: _Cell) -> bool:
        """Evaluate ``atom``'s read now; returns whether its value (or error) changed."""
        if cell.checked == _COMPUTING:
            raise CycleError(f"derived atom {atom.name!r} depends on itself")
        seen: dict[Atom[Any], Any] = {}
        values = self.values
        cells = self.cells

        def get(dep: Atom[Any]) -> Any:
            if dep._read is None:
                if dep._opts is not None:
                    self.check_owner(dep)
                value = values.get(dep._id, dep._init)
                seen[dep] = value
                return value
            dc = cells.get(dep._id)
            if dc is None or (
                dc.checked != self.clock and (dc.mounted is None or dep._id in self.recomputing)
            ):
                if self.nesting >= _NESTING_LIMIT:
                    raise _Suspend(dep)
                dc = self.fresh(dep)
            seen[dep] = dc.epoch
            if dc.error is not None:
                raise dc.error
            return dc.value

        opts = atom._opts
        if opts is not None and opts.is_async:
            return self._start_async(atom, cell, get, seen)
        checked = cell.checked
        cell.checked = _COMPUTING
        self.nesting += 1
        try:
            value = atom._read(get)  # type: ignore[misc]
        except _Suspend:
            cell.checked = checked
            raise
        except Exception as exc:
            return self.commit(atom, cell, cell.value, exc, seen)
        finally:
            self.nesting -= 1
        # The success path of ``commit``, inlined: it runs once per recomputed atom.
        old_deps = cell.deps
        new_deps = cell.deps = tuple(_chain(seen.items()))
        cell.checked = self.clock
        old = cell.value
        if cell.error is not None or old is MISSING:
            is_changed = True
        elif old is value:
            is_changed = False
        elif atom._opts is None:  # default equality, inlined: this runs once per recompute
            try:
                is_changed = not (old == value)  # noqa: SIM201 - exactly what `equal` does
            except Exception:  # an == that cannot answer means "changed"
                is_changed = True
        else:
            is_changed = not equal(atom, old, value)
        if is_changed:
            cell.value = value
            cell.error = None
            cell.epoch += 1
        m = cell.mounted
        if m is not None:
            n = len(new_deps)
            if n != len(old_deps):
                self._rewire(m, old_deps, seen)
            else:
                for i in range(0, n, 2):
                    if old_deps[i] is not new_deps[i]:
                        self._rewire(m, old_deps, seen)
                        break
        return is_changed

    def commit(
        self,
        atom: Atom[Any],
        cell: _Cell,
        value: Any,
        error: BaseException | None,
        seen: dict[Atom[Any], Any],
    ) -> bool:
        """Store an evaluation's outcome and dependencies; keep the mount graph in step."""
        old_deps = cell.deps
        cell.deps = tuple(_chain(seen.items()))
        cell.checked = self.clock
        if error is not None:
            is_changed = error is not cell.error
        else:
            is_changed = cell.error is not None or not equal(atom, cell.value, value)
        if is_changed:
            cell.value = value
            cell.error = error
            cell.epoch += 1
        m = cell.mounted
        if m is not None and not _same_atoms(old_deps, cell.deps):
            self._rewire(m, old_deps, seen)
        return is_changed

    def _rewire(self, m: _Mounted, old_deps: tuple[Any, ...], now: dict[Atom[Any], Any]) -> None:
        """A mounted atom's dependencies changed: mount the new ones, release the old ones."""
        a = m.atom
        for dep in now:
            dm = self.mounted.get(dep._id)
            if dm is None:
                dm = self.mount(dep)
            dm.dependents[a] = None
        released = [old_deps[i] for i in range(0, len(old_deps), 2) if old_deps[i] not in now]
        for dep in released:
            dm = self.mounted.get(dep._id)
            if dm is not None:
                dm.dependents.pop(a, None)
        if released:
            self.unmount(released)

    # ---------------------------------------------------------------- async reads
    def _start_async(
        self, atom: Atom[Any], cell: _Cell, get: Callable[[Atom[Any]], Any], seen: dict[Any, Any]
    ) -> bool:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise PendingError(
                f"async atom {atom.name!r} needs a running event loop: "
                "use `await store.get_async(atom)`"
            ) from None
        previous = self.runs.get(atom._id)
        if previous is not None and previous.task is not None:
            previous.task.cancel()  # the latest evaluation wins
        coro = atom._read(get)  # type: ignore[misc]
        run = self.runs[atom._id] = _AsyncRun(seen)
        run.task = loop.create_task(self._settle_async(atom, cell, coro, seen))
        cell.checked = self.clock
        if cell.value is MISSING and cell.error is None:
            cell.error = PendingError(f"async atom {atom.name!r} has not settled yet")
        return False

    async def _settle_async(
        self, atom: Atom[Any], cell: _Cell, coro: Any, seen: dict[Any, Any]
    ) -> None:
        error: BaseException | None = None
        value: Any = MISSING
        try:
            value = await coro
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            error = exc
        with self.lock:
            run = self.runs.get(atom._id)
            if run is None or run.task is not asyncio.current_task():
                return  # superseded
            del self.runs[atom._id]
            if isinstance(cell.error, PendingError):
                cell.error = None
            if error is not None:
                value = cell.value
            if self.commit(atom, cell, value, error, seen):
                self.clock += 1  # dependants compare epochs; make them look
                self.dirty = True
                m = cell.mounted
                if m is not None:
                    self.pending[atom._id] = m
                    if m.dependents:
                        self.propagate([m])
            if cell.mounted is not None and self.changed(cell, atom._id):
                self.compute(atom, cell)  # a dependency moved while we awaited
            self.flush()

    # ---------------------------------------------------------------- write / recompute
    def wrote(self, atom: Atom[Any], old: Any) -> None:
        """Record that primitive ``atom`` changed: recompute mounted dependants, queue listeners."""
        self.clock += 1
        self.dirty = True
        m = self.mounted.get(atom._id)
        if m is not None:
            if m.listeners:
                if self.depth:
                    self.before.setdefault(atom._id, old)
                self.pending[atom._id] = m
            if m.dependents:
                self.propagate([m])

    def settle(self) -> None:
        """Recompute what writes inside a batch or write function left for later."""
        while self.stale:
            roots = self.stale
            self.stale = []
            self._recompute(roots)

    def propagate(self, roots: list[_Mounted]) -> None:
        """Recompute, in dependency order, each mounted dependant of ``roots`` whose input moved.

        Inside a batch (``depth > 0``) the work is deferred to ``settle``, so a batch of writes
        recomputes each dependant once; reads in the batch settle first, so they never see
        stale values.
        """
        if self.depth:
            self.stale.extend(roots)
        else:
            self._recompute(roots)

    def _recompute(self, roots: list[_Mounted]) -> None:
        mounted = self.mounted
        changed = {root.atom._id for root in roots}
        # Common shapes: the written atoms' mounted dependants have none of their own (one
        # derived atom, a fan-out, a batch feeding one total): any order of them is topological.
        leaves: dict[int, _Mounted] = {}
        for root in roots:
            for child in root.dependents:
                cm = mounted.get(child._id)
                if cm is None:
                    continue
                if cm.dependents:
                    break
                leaves[child._id] = cm
            else:
                continue
            break
        else:
            # Each leaf depends on a written atom directly: no need to scan its dependencies.
            self._recompute_targets(changed, list(leaves.values()), direct=True)
            return
        order: list[_Mounted] = []
        self._topological_order(roots, order)
        self._recompute_targets(changed, [m for m in reversed(order) if m.atom._id not in changed])

    def _topological_order(self, roots: list[_Mounted], order: list[_Mounted]) -> None:
        # Depth-first post-order over mounted dependants; reversed, it is a topological order.
        # Two parallel stacks (nodes, their child iterators): no tuple per visited node.
        visited: set[int] = set()
        mounted = self.mounted
        for root in roots:
            if root.atom._id in visited:
                continue
            visited.add(root.atom._id)
            nodes = [root]
            children = [iter(root.dependents)]
            while nodes:
                for child in children[-1]:
                    key = child._id
                    if key not in visited:
                        visited.add(key)
                        cm = mounted.get(key)
                        if cm is not None:
                            nodes.append(cm)
                            children.append(iter(cm.dependents))
                            break
                else:
                    children.pop()
                    order.append(nodes.pop())

    def _recompute_targets(
        self, changed: set[int], targets: list[_Mounted], *, direct: bool = False
    ) -> None:
        """Recompute ``targets`` (in topological order) whose dependencies are in ``changed``."""
        cells = self.cells
        pending = self.pending
        clock = self.clock
        start: dict[int, int] = {}
        for m in targets:
            cell = cells.get(m.atom._id)
            if cell is not None:
                start[m.atom._id] = cell.epoch
        self.recomputing = start
        try:
            for m in targets:
                a = m.atom
                key = a._id
                cell = cells.get(key)
                if key not in start or cell is None or cell.mounted is None:
                    continue
                if cell.checked == clock:  # a read already validated it during this pass
                    if cell.epoch != start[key]:
                        changed.add(key)
                        if m.listeners:
                            pending[key] = m
                    continue
                if not direct:
                    deps = cell.deps
                    for i in range(0, len(deps), 2):
                        if deps[i]._id in changed:
                            break
                    else:
                        cell.checked = clock
                        continue
                if self.compute(a, cell):
                    changed.add(key)
                    if m.listeners:
                        pending[key] = m
        finally:
            self.recomputing = {}

    # ---------------------------------------------------------------- mount / unmount
    def mount(self, atom: Atom[Any], store: Store | None = None) -> _Mounted:
        """Mount ``atom`` and, first, every dependency it has (iterative, post-order)."""
        mounted = self.mounted
        m = mounted.get(atom._id)
        if m is not None:
            return m
        self.check_owner(atom)
        if self.stale:
            self.settle()
        if atom._read is not None:
            self.fresh(atom)
        stack: list[list[Any]] = [[atom, 0]]
        while stack:
            frame = stack[-1]
            a, i = frame
            cell = self.cells.get(a._id) if a._read is not None else None
            deps = cell.deps if cell is not None else ()
            pushed = False
            while i < len(deps):
                d = deps[i]
                i += 2
                if d._id not in mounted:
                    if d._read is not None:
                        self.fresh(d)
                    frame[1] = i
                    stack.append([d, 0])
                    pushed = True
                    break
            if pushed:
                continue
            stack.pop()
            if a._id in mounted:
                continue
            m = mounted[a._id] = _Mounted(a)
            if cell is not None:
                cell.mounted = m
            for j in range(0, len(deps), 2):
                mounted[deps[j]._id].dependents[a] = None
            opts = a._opts
            if opts is not None and opts.on_mount is not None and store is not None:
                self.hooks.append((opts.on_mount, (store,)))
        return mounted[atom._id]

    def unmount(self, atoms: list[Atom[Any]], store: Store | None = None) -> None:
        """Unmount each of ``atoms`` that nothing observes, then their released dependencies."""
        if self.stale:
            self.settle()  # an unmounted cell is marked fresh: it must be up to date first
        work = list(atoms)
        mounted = self.mounted
        while work:
            a = work.pop()
            m = mounted.get(a._id)
            if m is None or m.listeners or m.dependents:
                continue
            del mounted[a._id]
            cell = self.cells.get(a._id) if a._read is not None else None
            if cell is not None:
                cell.mounted = None
                cell.checked = self.clock
                deps = cell.deps
                for i in range(0, len(deps), 2):
                    dm = mounted.get(deps[i]._id)
                    if dm is not None:
                        dm.dependents.pop(a, None)
                        work.append(deps[i])
            opts = a._opts
            if opts is not None and opts.on_unmount is not None and store is not None:
                self.hooks.append((opts.on_unmount, (store,)))

    # ---------------------------------------------------------------- flush
    def notify_now(self, listeners: tuple[Callable[[Any], None], ...], value: Any) -> None:
        """Fast flush for one changed atom with no dependants, outside any batch or flush."""
        self.flushing = True
        errors: list[Exception] | None = None
        try:
            for listener in listeners:
                try:
                    listener(value)
                except Exception as exc:
                    if errors is None:
                        errors = []
                    errors.append(exc)
        finally:
            self.flushing = False
        if self.pending or self.hooks:  # listeners wrote or (un)subscribed
            try:
                self.flush()
            except ExceptionGroup as group:
                if errors is None:
                    raise
                errors.extend(group.exceptions)
        if errors:
            raise ExceptionGroup("store listeners raised", errors)

    def flush(self) -> None:
        """Run listeners of changed atoms, queued hooks, then commit hooks; loop until quiet."""
        if self.depth:
            return
        if self.stale:
            self.settle()
        if self.flushing:
            return
        self.flushing = True
        errors: list[Exception] = []
        try:
            rounds = 0
            while self.pending or self.hooks or self.dirty:
                rounds += 1
                if rounds > _MAX_FLUSH_ROUNDS:
                    raise ListenersDidNotSettleError(
                        f"listeners kept writing for {_MAX_FLUSH_ROUNDS} rounds without converging"
                    )
                pending = self.pending
                self.pending = {}
                before = self.before
                if before:
                    self.before = {}
                for key, m in pending.items():
                    listeners = m.listeners
                    if not listeners:
                        continue
                    if key in before and equal(m.atom, before[key], self.values.get(key, MISSING)):
                        continue  # written and written back inside one batch: no change
                    a = m.atom
                    if a._read is None:
                        value = self.values.get(key, a._init)
                    else:
                        cell = self.cells.get(key)
                        if cell is None or cell.error is not None:
                            continue  # a read in error (or pending) has no value to report
                        value = cell.value
                    for listener in listeners:
                        try:
                            listener(value)
                        except Exception as exc:
                            errors.append(exc)
                hooks = self.hooks
                self.hooks = []
                for hook, args in hooks:
                    try:
                        hook(*args)
                    except Exception as exc:
                        errors.append(exc)
                if self.dirty and not self.pending and not self.hooks:
                    self.dirty = False
                    for plugin in self.plugins:
                        if plugin.on_commit is not None:
                            try:
                                plugin.on_commit()
                            except Exception as exc:
                                errors.append(exc)
        finally:
            self.flushing = False
        if errors:
            raise ExceptionGroup("store listeners raised", errors)

    def read_only(self, atom: Computed[Any]) -> ReadOnlyAtomError:
        """The error for writing a derived atom that has no write function."""
        return ReadOnlyAtomError(
            f"derived atom {atom.name!r} is read-only: define it with computed(read, write=...)"
        )
