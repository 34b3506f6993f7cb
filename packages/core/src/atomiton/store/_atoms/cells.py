"""The records of a store's reactive graph: cells, mount records, recompute plans, equality.

``_Cell`` is one derived atom's state in one store, ``_Mounted`` an observed atom's listeners and
dependants, ``_Plan`` a cached recompute order, ``_AsyncRun`` a pending async evaluation.
``Runtime`` (``runtime.py``) owns and changes them; nothing else does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from atomiton.store._atoms.atom import Atom

if TYPE_CHECKING:
    import asyncio

__all__ = ["MISSING", "equal"]

_NO_DEPS: dict[Any, Any] = {}  # shared and never mutated: a cell not computed yet


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
        # atom -> what the last read saw (its value, or its epoch if derived). It is the very
        # dict the read filled: kept as is, never copied or flattened.
        self.deps: dict[Atom[Any], Any] = _NO_DEPS
        self.checked = -1
        self.mounted: _Mounted | None = None


class _AsyncRun:
    """A pending evaluation of an async derived atom: its task and what it read so far."""

    __slots__ = ("seen", "task")

    def __init__(self, seen: dict[Any, Any]) -> None:
        self.seen = seen
        self.task: asyncio.Task[None] | None = None


class _Mounted:
    """An observed atom: its listeners, the mounted atoms that depend on it, its cell if derived."""

    __slots__ = ("atom", "cell", "dependents", "listeners")

    def __init__(self, atom: Atom[Any], cell: _Cell | None) -> None:
        self.atom = atom
        self.cell = cell
        self.listeners: tuple[Callable[[Any], None], ...] = ()
        self.dependents: dict[Atom[Any], None] = {}


class _Plan:
    """What a write to some roots recomputes: mounted dependants in topological order.

    ``direct``: every target depends directly on a root and has no mounted dependants, so
    each one recomputes without scanning its dependencies. Otherwise ``roots`` are the written
    atoms a target's dependencies are checked against.
    """

    __slots__ = ("batch", "direct", "roots", "targets")

    def __init__(
        self, targets: tuple[_Mounted, ...], direct: bool, roots: frozenset[Atom[Any]]
    ) -> None:
        self.targets = targets
        self.direct = direct
        self.roots = roots
        self.batch: list[_Mounted] | None = None  # the written roots, for a batch's plan


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
