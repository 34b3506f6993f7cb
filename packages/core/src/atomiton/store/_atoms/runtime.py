"""The reactive algorithm of a store, in one place (after Jotai's vanilla store).

Data, all keyed by atom id so that a store never keeps an atom alive:

* ``values``: primitive atom id -> value (only atoms written in this store; others read ``init``).
* ``cells``: derived atom id -> ``_Cell`` (value or error, ``epoch``, ``deps``, ``checked``).
* ``mounted``: atom id -> ``_Mounted`` (listeners, mounted dependants) for observed atoms.

A derived cell remembers, per dependency, what it saw (``deps``: the dict its read filled, atom ->
seen): the value object of a primitive (compared by identity) or the epoch of a derived cell.
``clock`` counts writes; a cell validated at the current clock is fresh without looking at its
dependencies.

The phases, each iterative (no Python recursion, so chains of 10,000 atoms work):

* **read / invalidate** (``fresh``): an unobserved derived atom is validated lazily when read:
  its dependencies are validated first (explicit stack), and it recomputes only if one changed.
* **recompute** (``propagate``): after a write, the mounted dependants of what changed are
  topologically sorted and each is recomputed once, only if one of its dependencies changed.
  The order (a ``_Plan``) is cached per written root (or set of roots) until the mount graph
  changes, so repeated writes to the same atoms do not sort again.
* **mount / unmount**: subscribing mounts an atom and, transitively, its dependencies; the last
  unsubscribe unmounts what nothing observes any more. ``on_mount``/``on_unmount`` are queued.
* **flush**: after all recomputes, listeners of every changed mounted atom run once, then the
  queued hooks and plugin ``after_set`` calls; writes made by listeners loop until quiet.

Reads evaluated more than ``_NESTING_LIMIT`` levels deep suspend (``_Suspend``) instead of
recursing: the driving loop computes the missing dependency first and re-runs the read.
"""

from __future__ import annotations

import sys
import threading
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:
    import asyncio
from threading import get_ident

from atomiton.store._atoms.atom import Atom, Computed, _runtimes
from atomiton.store._atoms.cells import (
    _NO_DEPS,
    MISSING,
    _AsyncRun,
    _Cell,
    _Mounted,
    _Plan,
    _Suspend,
    equal,
)
from atomiton.store._atoms.plugins import PluginHooks
from atomiton.store._errors import (
    CycleError,
    IsolationError,
    ListenersDidNotSettleError,
    PendingError,
    ReadOnlyAtomError,
)

T = TypeVar("T")

_NESTING_LIMIT = 60
_COMPUTING = -2  # ``_Cell.checked`` while its read runs: reading it again is a cycle
_MAX_FLUSH_ROUNDS = 1000
_MAX_PLANS = 64  # cached single-root recompute plans per runtime
_BATCH = "batch"  # ``Runtime.plans`` key of the last batch's plan (other keys are roots)
_NOT_RECOMPUTING: dict[int, int] = {}  # shared and never mutated: no recompute pass running


class Runtime:
    """Values, dependency graph and scheduling shared by the store(s) that use it."""

    __slots__ = (
        "__weakref__",
        "before",
        "catalog",
        "cells",
        "clock",
        "depth",
        "dirty",
        "flushing",
        "home",
        "hooks",
        "known",
        "lock",
        "mounted",
        "nesting",
        "owner",
        "pending",
        "plans",
        "plugins",
        "recomputing",
        "runs",
        "spare",
        "stale",
        "values",
    )

    def __init__(self) -> None:
        self.values: dict[int, Any] = {}
        # Named atoms seen here (read, written, mounted), held weakly: get_state, set_state.
        self.known: dict[int, weakref.ref[Atom[Any]]] = {}
        # Told of each named atom first seen here (the registry the store is attached to).
        self.catalog: Callable[[Atom[Any]], None] | None = None
        self.cells: dict[int, _Cell] = {}
        self.mounted: dict[int, _Mounted] = {}
        self.lock = threading.RLock()
        self.clock = 0
        self.depth = 0  # > 0 inside batch() or a write function: listeners wait
        # The thread inside a ``batch()`` block, or None. Only set while that thread holds
        # ``lock``, so ``owner == get_ident()`` proves this thread holds it (no re-acquire).
        self.owner: int | None = None
        self.nesting = 0  # nested read evaluations on the current stack
        self.flushing = False
        self.dirty = False  # something changed since the last commit hook
        self.pending: dict[int, _Mounted] = {}
        self.spare: dict[int, _Mounted] | None = {}  # the next ``pending``, reused by flush
        # Recompute plans by written root (or tuple of roots); cleared when the graph changes.
        self.plans: dict[Any, _Plan] = {}
        self.hooks: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        # A store using this runtime (weak), given to on_mount/on_unmount of atoms that a
        # recompute mounts or releases (no subscribe/unsubscribe call names a store then).
        self.home: weakref.ref[Any] | None = None
        self.plugins: tuple[PluginHooks, ...] = ()
        self.runs: dict[int, _AsyncRun] = {}
        # During a recompute pass: mounted atoms still to visit -> their epoch before it. A read
        # that reaches one of them validates it on demand instead of trusting its cache.
        self.recomputing: dict[int, int] = _NOT_RECOMPUTING
        self.before: dict[int, Any] = {}  # value at batch start of primitives written in it
        self.stale: list[_Mounted] = []  # written roots whose dependants await ``settle``
        _runtimes.add(self)

    # ---------------------------------------------------------------- lifetime
    def forget(self, atom_id: int) -> None:
        """Drop everything held for a dead atom (called from ``Atom.__del__``)."""
        self.values.pop(atom_id, None)
        self.known.pop(atom_id, None)
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
        if atom._name is not None and atom._id not in self.known:
            self.note(atom)
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
        # Frames are (atom, cell, iterator over its dependencies): the iterator resumes.
        stack: list[tuple[Any, _Cell, Any]] = [(atom, cell, iter(cell.deps))]
        on_stack = {atom._id}
        while stack:
            a, c, deps = stack[-1]
            pushed = False
            for d in deps:
                if d._read is None:
                    continue
                dc = cells.get(d._id)
                if dc is None:
                    dc = cells[d._id] = _Cell()
                elif dc.checked == clock or (dc.mounted is not None and d._id not in recomputing):
                    continue
                if d._id in on_stack:
                    raise CycleError(f"derived atom {d.name!r} depends on itself")
                stack.append((d, dc, iter(dc.deps)))
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
                    stack[-1] = (a, c, iter(()))  # no dependency left to check: re-run it
                    dc = cells.get(d._id)
                    if dc is None:
                        dc = cells[d._id] = _Cell()
                    stack.append((d, dc, iter(dc.deps)))
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
        # A pending async evaluation: compare with what it read so far (a copy: it may grow).
        deps = run.seen.copy() if run is not None else cell.deps
        for d, saw in deps.items():
            if d._read is None:
                if values.get(d._id, d._init) is not saw:
                    return True
            else:
                dc = cells.get(d._id)
                if dc is None or dc.epoch != saw:
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
        read = atom._read
        assert read is not None  # a derived atom: compute() is never called for a primitive
        checked = cell.checked
        cell.checked = _COMPUTING
        self.nesting += 1
        try:
            value = read(get)
        except _Suspend:
            cell.checked = checked
            raise
        except Exception as exc:
            return self.commit(atom, cell, cell.value, exc, seen)
        finally:
            self.nesting -= 1
        # The success path of ``commit``, inlined: it runs once per recomputed atom.
        old_deps = cell.deps
        cell.deps = seen
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
        if m is not None and (len(old_deps) != len(seen) or old_deps.keys() != seen.keys()):
            self._rewire(m, old_deps, seen)
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
        cell.deps = seen
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
        if m is not None and (len(old_deps) != len(seen) or old_deps.keys() != seen.keys()):
            self._rewire(m, old_deps, seen)
        return is_changed

    def _rewire(
        self, m: _Mounted, old_deps: dict[Atom[Any], Any], now: dict[Atom[Any], Any]
    ) -> None:
        """A mounted atom's dependencies changed: mount the new ones, release the old ones."""
        self.plans.clear()
        a = m.atom
        store = None if self.home is None else self.home()
        for dep in now:
            dm = self.mounted.get(dep._id)
            if dm is None:
                dm = self.mount(dep, store)
            dm.dependents[a] = None
        released = [dep for dep in old_deps if dep not in now]
        for dep in released:
            dm = self.mounted.get(dep._id)
            if dm is not None:
                dm.dependents.pop(a, None)
        if released:
            self.unmount(released, store)

    # ---------------------------------------------------------------- async reads
    def _start_async(
        self, atom: Atom[Any], cell: _Cell, get: Callable[[Atom[Any]], Any], seen: dict[Any, Any]
    ) -> bool:
        # asyncio (~16 ms to import) is never imported here: if nothing imported it, no event
        # loop can be running, which is the same answer as get_running_loop()'s RuntimeError.
        aio: Any = sys.modules.get("asyncio")
        try:
            if aio is None:
                raise RuntimeError("no running event loop")
            loop = aio.get_running_loop()
        except RuntimeError:
            raise PendingError(
                f"async atom {atom.name!r} needs a running event loop: use `await store.aget(atom)`"
            ) from None
        previous = self.runs.get(atom._id)
        if previous is not None and previous.task is not None:
            previous.task.cancel()  # the latest evaluation wins
        run = self.runs[atom._id] = _AsyncRun(seen)

        def get_mounting(dep: Atom[Any]) -> Any:
            # An observed atom's pending evaluation mounts what it reads as it reads it, so a
            # write to it supersedes (cancels) the evaluation instead of going unseen until it
            # settles with a stale value. Released by the rewire when an evaluation settles.
            if cell.mounted is not None and dep not in cell.deps and self.runs.get(atom._id) is run:
                with self.lock:
                    dm = self.mounted.get(dep._id)
                    if dm is None:
                        dm = self.mount(dep, None if self.home is None else self.home())
                    dm.dependents[atom] = None
                    cell.deps = {**cell.deps, dep: MISSING}  # MISSING: "changed" if consulted
                    self.plans.clear()
            return get(dep)

        read = atom._read
        assert read is not None
        coro = read(get_mounting)
        run.task = loop.create_task(self._settle_async(atom, cell, coro, seen))
        cell.checked = self.clock
        if cell.value is MISSING and cell.error is None:
            cell.error = PendingError(f"async atom {atom.name!r} has not settled yet")
        return False

    async def _settle_async(
        self, atom: Atom[Any], cell: _Cell, coro: Any, seen: dict[Any, Any]
    ) -> None:
        import asyncio  # already loaded: this coroutine runs on an asyncio loop

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
        n = len(roots)
        if n == 1:
            self.recompute_one(roots[0])
            return
        if not n:
            return
        # Several roots (a batch): the plan of the last batch, if it wrote the same atoms in
        # the same order (a list comparison: no tuple to build and hash).
        plan = self.plans.get(_BATCH)
        if plan is None or plan.batch != roots:
            plan = self._plan(roots)
            plan.batch = list(roots)
            self.plans[_BATCH] = plan
        self.run_plan(plan)

    def recompute_one(self, root: _Mounted) -> None:
        """``_recompute([root])`` without the list: one write outside a batch (the hot path)."""
        plan = self.plans.get(root)
        if plan is None:
            plans = self.plans
            if len(plans) >= _MAX_PLANS:
                plans.clear()
            plan = plans[root] = self._plan([root])
        self.run_plan(plan)

    def _plan(self, roots: list[_Mounted]) -> _Plan:
        mounted = self.mounted
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
            return _Plan(tuple(leaves.values()), True, frozenset())
        order: list[_Mounted] = []
        self._topological_order(roots, order)
        written = frozenset(root.atom for root in roots)
        return _Plan(tuple(m for m in reversed(order) if m.atom not in written), False, written)

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

    def run_plan(self, plan: _Plan) -> None:
        """Recompute ``plan``'s targets (in topological order) whose dependencies changed."""
        targets = plan.targets
        pending = self.pending
        clock = self.clock
        start: dict[int, int] = {}
        for m in targets:  # a loop, not a comprehension: no function call (Python 3.11)
            if m.cell is not None:
                start[m.atom._id] = m.cell.epoch
        self.recomputing = start
        compute = self.compute
        try:
            if plan.direct:
                for m in targets:
                    cell = m.cell
                    if cell is None or cell.mounted is None:
                        continue
                    if cell.checked == clock:  # a read already validated it during this pass
                        if cell.epoch != start[m.atom._id] and m.listeners:
                            pending[m.atom._id] = m
                        continue
                    if compute(m.atom, cell) and m.listeners:
                        pending[m.atom._id] = m
                return
            changed = set(plan.roots)
            for m in targets:
                cell = m.cell
                if cell is None or cell.mounted is None:
                    continue
                a = m.atom
                if cell.checked == clock:  # a read already validated it during this pass
                    if cell.epoch != start[a._id]:
                        changed.add(a)
                        if m.listeners:
                            pending[a._id] = m
                    continue
                if changed.isdisjoint(cell.deps):
                    cell.checked = clock
                    continue
                if compute(a, cell):
                    changed.add(a)
                    if m.listeners:
                        pending[a._id] = m
        finally:
            self.recomputing = _NOT_RECOMPUTING

    # ---------------------------------------------------------------- mount / unmount
    def mount(self, atom: Atom[Any], store: object | None = None) -> _Mounted:
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
        cells = self.cells
        # Frames are (atom, iterator over its dependencies): the iterator resumes.
        cell = cells.get(atom._id) if atom._read is not None else None
        stack: list[tuple[Atom[Any], Any]] = [(atom, iter(_NO_DEPS if cell is None else cell.deps))]
        while stack:
            a, it = stack[-1]
            pushed = False
            for d in it:
                if d._id not in mounted:
                    dc = self.fresh(d) if d._read is not None else None
                    stack.append((d, iter(_NO_DEPS if dc is None else dc.deps)))
                    pushed = True
                    break
            if pushed:
                continue
            stack.pop()
            if a._id in mounted:
                continue
            cell = cells.get(a._id) if a._read is not None else None
            self.plans.clear()  # the mount graph changes: cached recompute orders are void
            m = mounted[a._id] = _Mounted(a, cell)
            if a._name is not None:
                self.note(a)
            if cell is not None:
                cell.mounted = m
                for dep in cell.deps:
                    mounted[dep._id].dependents[a] = None
            opts = a._opts
            if opts is not None and opts.on_mount is not None and store is not None:
                self.hooks.append((opts.on_mount, (store,)))
        return mounted[atom._id]

    def unmount(self, atoms: list[Atom[Any]], store: object | None = None) -> None:
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
            self.plans.clear()  # the mount graph changes: cached recompute orders are void
            cell = self.cells.get(a._id) if a._read is not None else None
            if cell is not None:
                cell.mounted = None
                cell.checked = self.clock
                for dep in cell.deps:
                    dm = mounted.get(dep._id)
                    if dm is not None:
                        dm.dependents.pop(a, None)
                        work.append(dep)
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
        values = self.values
        # What listeners were given once earlier listeners had queued another round: a later
        # round skips an atom whose value is that very object (no second call, same value).
        delivered: dict[int, Any] | None = None
        try:
            rounds = 0
            while self.pending or self.hooks or self.dirty:
                rounds += 1
                if rounds > _MAX_FLUSH_ROUNDS:
                    self.abandon()
                    raise ListenersDidNotSettleError(
                        f"listeners kept writing for {_MAX_FLUSH_ROUNDS} rounds without "
                        "converging; their pending notifications were dropped"
                    ) from (ExceptionGroup("store listeners raised", errors) if errors else None)
                before = self.before
                if before:
                    self.before = {}
                pending = self.pending
                if pending:
                    # Swap in the spare dict (listeners may queue more), reuse this one next.
                    spare = self.spare
                    self.pending = {} if spare is None else spare
                    self.spare = None
                    for key, m in pending.items():
                        listeners = m.listeners
                        if not listeners:
                            continue
                        a = m.atom
                        if key in before and equal(a, before[key], values.get(key, MISSING)):
                            continue  # written and written back inside one batch: no change
                        if a._read is None:
                            value = values.get(key, a._init)
                        else:
                            cell = m.cell
                            if cell is None or cell.error is not None:
                                continue  # a read in error (or pending) has no value to report
                            value = cell.value
                        if delivered is not None and delivered.get(key, MISSING) is value:
                            continue  # this flush already gave its listeners this very value
                        if self.pending:  # listeners queued another round: remember this one
                            if delivered is None:
                                delivered = {}
                            delivered[key] = value
                        for listener in listeners:
                            try:
                                listener(value)
                            except Exception as exc:
                                errors.append(exc)
                    pending.clear()
                    self.spare = pending
                if self.hooks:
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

    # ---------------------------------------------------------------- state changes
    def report_to(self, catalog: Callable[[Atom[Any]], None] | None) -> None:
        """Tell ``catalog`` of each named atom first seen from now on (None: tell nobody)."""
        with self.lock:
            self.catalog = catalog

    def adopt_home(self, store: Any) -> None:
        """Remember ``store`` (weakly) for mount hooks, unless a live store is remembered."""
        if self.home is None or self.home() is None:
            self.home = weakref.ref(store)

    # Every change of a store's state goes through the methods below (the store and the
    # registry call them and never touch the runtime's fields).
    def note(self, atom: Atom[Any], *, unnamed: bool = False) -> None:
        """Remember a named atom this runtime reads, writes or mounts, and tell the catalog.

        With ``unnamed``, an unnamed atom is remembered too (not told to the catalog): a store
        with plugins keeps the atoms it writes reachable, so ``set_state`` can give them to
        the plugins. Plain stores hold no reference to unnamed atoms (a plain atom stays small).
        """
        key = atom._id
        if key in self.known:
            return
        if atom._name is None:
            if unnamed:
                self.known[key] = weakref.ref(atom)
            return
        self.known[key] = weakref.ref(atom)
        if self.catalog is not None:
            self.catalog(atom)

    def set(self, store: Any, atom: Atom[Any], args: tuple[Any, ...]) -> Any:
        """``store.set(atom, *args)`` (what ``update`` uses)."""
        return store_set(store, atom, *args)

    def _set_slow(self, store: Any, atom: Atom[Any], args: tuple[Any, ...]) -> Any:
        with self.lock:
            self.check_owner(atom)
            if atom._read is not None:
                write = atom._init  # a derived atom's write function (see Computed)
                if write is None:
                    assert isinstance(atom, Computed)
                    raise self.read_only(atom)
                self.note(atom)
                self.depth += 1
                try:
                    return write(store.get, store.set, *args)
                finally:
                    self.depth -= 1
                    for plugin in self.plugins:
                        if plugin.on_action is not None:
                            plugin.on_action(atom, args)
                    self.flush()  # listeners see what the write did, even if it then raised
            if len(args) != 1:
                raise TypeError(f"set({atom.name!r}, value) takes exactly one value")
            self.write(atom, args[0])
            self.flush()
            return None

    def write(self, atom: Atom[Any], value: Any) -> None:
        """One primitive write, under the lock: ``on_set`` plugins, the write, ``after_set``.

        The caller flushes (at once, or at the end of its batch).
        """
        plugins = self.plugins
        for plugin in plugins:
            if plugin.on_set is not None:
                value = plugin.on_set(atom, value)
        values = self.values
        key = atom._id
        old = values.get(key, MISSING)
        if not equal(atom, atom._init if old is MISSING else old, value):
            if old is MISSING or (plugins and key not in self.known):
                self.note(atom, unnamed=bool(plugins))
            values[key] = value
            self.wrote(atom, atom._init if old is MISSING else old)
        for plugin in plugins:
            if plugin.after_set is not None:
                self.hooks.append((plugin.after_set, (atom, value)))

    def update(self, store: Any, atom: Atom[Any], fn: Callable[[Any], Any]) -> Any:
        """``Store.update``: read, apply ``fn`` and write, atomically."""
        with self.lock:
            new = fn(store.get(atom))
            self.set(store, atom, (new,))
            return new

    def begin_batch(self) -> None:
        """Enter a batch: take the lock; writes wait to notify until the outermost end."""
        self.lock.acquire()
        self.depth += 1
        self.owner = get_ident()  # writes in the block skip the lock (see ``set``)

    def end_batch(self) -> None:
        """Leave a batch; the outermost end recomputes and notifies once."""
        try:
            self.depth -= 1
            if not self.depth:
                # While depth > 0 this thread still holds the lock (every depth increment is
                # made and undone under it), so ``owner`` stays true until the last exit.
                self.owner = None
                # ``flush`` would find nothing to do unless one of these holds: skip the call.
                if self.stale or self.pending or self.hooks or self.dirty:
                    self.flush()
        finally:
            self.lock.release()

    def write_many(self, items: list[tuple[Atom[Any] | int, Any]]) -> None:
        """Write primitive atoms as one batch, each through ``write`` (plugins included).

        An item keyed by an atom id instead of an atom is an unnamed atom written here that the
        runtime cannot reach (it holds no reference to unnamed atoms, to stay small): its value
        is replaced as a change (listeners, ``on_commit``), but no ``on_set``/``after_set``
        plugin can be given the atom.
        """
        self.begin_batch()
        try:
            for atom, value in items:
                if isinstance(atom, int):
                    self._write_id(atom, value)
                    continue
                self.check_owner(atom)
                self.write(atom, value)
        finally:
            self.end_batch()

    def _write_id(self, key: int, value: Any) -> None:
        old = self.values.get(key, MISSING)
        if old is MISSING or old is value:
            return
        self.values[key] = value
        self.clock += 1
        self.dirty = True

    def find_id(self, name: str) -> int | None:
        """The id behind a fallback name ``atom-<id>`` of an atom written here, or None."""
        if name.startswith("atom-") and name[5:].isdigit():
            key = int(name[5:])
            with self.lock:
                if key in self.values:
                    return key
        return None

    def subscribe(
        self, store: Any, atom: Atom[Any], listener: Callable[[Any], None]
    ) -> Callable[[], None]:
        """Mount ``atom`` and add ``listener``; return the unsubscriber."""
        with self.lock:
            m = self.mount(atom, store)
            m.listeners = (*m.listeners, listener)
            self.flush()
        done = False

        def unsubscribe() -> None:
            nonlocal done
            with self.lock:
                if done:
                    return
                done = True
                listeners = list(m.listeners)
                for i, fn in enumerate(listeners):
                    if fn is listener:
                        del listeners[i]
                        break
                m.listeners = tuple(listeners)
                if not listeners and not m.dependents:
                    self.unmount([m.atom], store)
                self.flush()

        return unsubscribe

    def add_plugin(self, hooks: PluginHooks) -> Callable[[], None]:
        """Add a plugin's hooks; return their remover."""
        with self.lock:
            self.plugins = (*self.plugins, hooks)

        def remove() -> None:
            with self.lock:
                self.plugins = tuple(p for p in self.plugins if p is not hooks)

        return remove

    def snapshot_values(self) -> dict[int, Any]:
        """A copy of the primitive values, by atom id."""
        with self.lock:
            return self.values.copy()

    def holds(self, values: dict[int, Any]) -> bool:
        """Whether the primitive values are exactly (by identity) ``values``."""
        with self.lock:
            current = self.values
            return len(current) == len(values) and all(
                values.get(key, MISSING) is value for key, value in current.items()
            )

    def restore(self, target: dict[int, Any], *, notify: bool) -> None:
        """Make the primitive values equal to ``target``; derived atoms follow."""
        with self.lock:
            values = self.values
            current = values.copy()
            moved = [
                k
                for k in current.keys() | target.keys()
                if current.get(k, MISSING) is not target.get(k, MISSING)
            ]
            if not moved:
                return
            values.clear()
            values.update(target)
            self.clock += 1
            self.dirty = True
            roots = [self.mounted[k] for k in moved if k in self.mounted]
            for m in roots:
                self.pending[m.atom._id] = m
            self.propagate(roots)
            if not notify:
                self.pending.clear()
                self.dirty = False
            self.flush()

    def known_atoms(self) -> list[Atom[Any]]:
        """The live atoms this runtime remembers (named ones; unnamed ones plugins saw)."""
        with self.lock:
            atoms = (ref() for ref in list(self.known.values()))
            return [a for a in atoms if a is not None]

    def state(self, extra: list[Atom[Any]], *, include_derived: bool, read: Any) -> dict[str, Any]:
        """Values by atom name: written primitives, named primitives seen, ``extra`` atoms."""
        with self.lock:
            known = self.known
            state: dict[str, Any] = {}
            for key, value in self.values.copy().items():
                ref = known.get(key)
                a = None if ref is None else ref()
                state[f"atom-{key}" if a is None else a.name] = value
            atoms = [a for a in self.known_atoms() if a._read is None]
            atoms.extend(extra)
            if include_derived:
                atoms.extend(m.atom for m in list(self.mounted.values()))
            for a in atoms:
                if a.name in state:
                    continue
                try:
                    state[a.name] = read(a)
                except Exception:  # failing or pending derived read: it has no value to show
                    import logging  # only on this path: logging costs ~5 ms at import

                    logging.getLogger(__name__).debug(
                        "get_state: %s has no value", a.name, exc_info=True
                    )
            return state

    def find(self, name: str) -> Atom[Any] | None:
        """An atom this runtime can reach, by name (``atom-<id>`` for an unnamed one).

        ``atom-<id>`` is looked up by id (remembered or mounted atoms); another name scans the
        remembered atoms (the fallback of a store without a registry).
        """
        with self.lock:
            if name.startswith("atom-") and name[5:].isdigit():
                key = int(name[5:])
                ref = self.known.get(key)
                found = None if ref is None else ref()
                if found is None:
                    m = self.mounted.get(key)
                    found = None if m is None else m.atom
                if found is not None and found.name == name:
                    return found
            for ref in list(self.known.values()):
                a = ref()
                if a is not None and a.name == name:
                    return a
            return None

    def absorb(self, other: Runtime) -> None:
        """Take in another runtime's values and known atoms (a store joining a shared one)."""
        with self.lock:
            for key, value in other.values.items():
                self.values.setdefault(key, value)
            for key, ref in other.known.items():
                self.known.setdefault(key, ref)

    def fork(self) -> Runtime:
        """A new runtime holding a copy of this one's values and known atoms."""
        with self.lock:
            private = Runtime()
            private.values.update(self.values)
            private.known.update(self.known)
            return private

    @property
    def observed(self) -> bool:
        """Whether any atom is mounted (subscribed, directly or through a dependant)."""
        return bool(self.mounted)

    def poll(self, atom: Atom[Any]) -> tuple[bool, Any, list[asyncio.Task[None]]]:
        """One step of ``Store.aget``: (settled, value, tasks to await otherwise)."""
        with self.lock:
            self.check_owner(atom)
            if atom._read is None:
                self.note(atom)
                return True, self.values.get(atom._id, atom._init), []
            self.settle()
            cell = self.fresh(atom)
            run = self.runs.get(atom._id)
            tasks = [] if run is None or run.task is None else [run.task]
            if not tasks and isinstance(cell.error, PendingError):
                # A sync atom that read a pending async one: wait for what is running.
                tasks = [r.task for r in self.runs.values() if r.task is not None]
            if not tasks:
                if cell.error is not None:
                    raise cell.error
                return True, cell.value, []
            return False, None, tasks

    def abandon(self) -> None:
        """Drop the work a flush that gave up left queued; keep the values consistent.

        Values stay as the listeners left them and mounted derived atoms are recomputed from
        them, but no queued notification, hook or ``after_set`` runs later: the next unrelated
        write notifies only its own listeners.
        """
        if self.stale:
            self.settle()
        self.pending.clear()
        self.hooks = []
        self.before = {}
        self.dirty = False

    def read_only(self, atom: Computed[Any]) -> ReadOnlyAtomError:
        """The error for writing a derived atom that has no write function."""
        return ReadOnlyAtomError(
            f"derived atom {atom.name!r} is read-only: define it with computed(read, write=...)"
        )


def store_set(store: Any, atom: Atom[Any], value: Any = MISSING, /, *args: Any) -> Any:
    """Write a primitive atom, or run a writable derived atom's ``write(get, set, *args)``.

    This is ``Store.set`` (the store class binds it as its method): the hot path of the state
    machine lives with the runtime, the common write (a primitive atom, no plugin) inlined
    without a second call; everything else goes to ``Runtime._set_slow``.

    Returns:
        None for a primitive atom; the write function's result otherwise.

    Raises:
        ReadOnlyAtomError: The atom is derived and has no write function.
        IsolationError: The atom is isolated to another store.
        ExceptionGroup: One or more listeners raised (all listeners still ran).
        ListenersDidNotSettleError: Listeners kept writing for 1,000 rounds; their pending
            notifications were dropped (see the README).
    """
    rt: Runtime = store._rt
    if (
        atom._read is None
        and atom._opts is None
        and not rt.plugins
        and not args
        and value is not MISSING
    ):
        owner = rt.owner
        if owner is not None and owner == get_ident():
            # Inside this thread's batch, which holds the lock: no acquire/release (measured
            # ~50 ns a write); listeners and recomputes wait for the batch's end.
            values = rt.values
            key = atom._id
            old = values.get(key, MISSING)
            if old is value:
                return None
            if old is not MISSING:
                try:
                    if old == value:
                        return None
                except Exception:
                    pass
                values[key] = value
                rt.clock += 1
                m = rt.mounted.get(key)
                if m is not None:
                    if m.listeners:
                        rt.before.setdefault(key, old)
                        rt.pending[key] = m
                    if m.dependents:
                        rt.stale.append(m)
                return None
            return rt._set_slow(store, atom, (value,))  # first write of this atom
        # acquire/release in try/finally: measured ~2x cheaper than `with lock:` here
        lock = rt.lock
        lock.acquire()
        try:
            values = rt.values
            key = atom._id
            old = values.get(key, MISSING)
            if old is value:
                return None
            if old is not MISSING:
                try:
                    if old == value:
                        return None
                except Exception:
                    pass
                values[key] = value
                rt.clock += 1
                m = rt.mounted.get(key)
                if m is None:
                    return None
                if rt.depth:  # inside a batch: listeners and recomputes wait for its end
                    if m.listeners:
                        rt.before.setdefault(key, old)
                        rt.pending[key] = m
                    if m.dependents:
                        rt.stale.append(m)
                    return None
                if not m.dependents and not rt.flushing and not rt.hooks:
                    rt.notify_now(m.listeners, value)
                    return None
                if m.listeners:
                    rt.pending[key] = m
                rt.dirty = True
                if m.dependents:
                    rt.recompute_one(m)  # not in a batch: recompute now
                rt.flush()
                return None
        finally:
            lock.release()
    return rt._set_slow(store, atom, args if value is MISSING else (value, *args))


def store_get(store: Any, atom: Atom[T]) -> T:
    """The atom's current value in this store (derived atoms compute when stale).

    This is ``Store.get`` (the store class binds it as its method): cached values are read
    inline, everything else goes through ``Runtime.read`` under the store's lock.

    Raises:
        IsolationError: The atom is isolated to another store.
        PendingError: An async atom has not settled yet (use ``aget``).
        Exception: Whatever the derived atom's read raised (re-raised until a dependency
            changes).
    """
    # Reads of cached values are inlined (nothing changes); the rest is the runtime's. The
    # annotated locals type the values without a cast() call (~35 ns on this path). A named
    # atom takes the runtime's path once, which remembers it (get_state, the registry).
    if atom._read is None:
        if atom._opts is None and (atom._name is None or atom._id in store._known):
            value: T = store._values.get(atom._id, atom._init)
            return value
    else:
        rt = store._rt
        cell = rt.cells.get(atom._id)
        if (
            cell is not None
            and cell.error is None
            and ((cell.mounted is not None and not rt.stale) or cell.checked == rt.clock)
        ):
            cached: T = cell.value
            return cached
    rt = store._rt
    rt.lock.acquire()
    try:
        read: T = rt.read(atom)
        return read
    finally:
        rt.lock.release()
