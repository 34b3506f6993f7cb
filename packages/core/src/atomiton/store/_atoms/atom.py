"""Atom definitions: primitive atoms, read-only and writable derived atoms, and their factories.

An atom is only a *definition* (an id, a name, an initial value or a read function); its value
lives in a store. Atoms are hashable by identity and carry ``__slots__`` so that thousands of them
stay small: a primitive atom is one object with six slots plus its id.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar, TypeVarTuple, cast

T = TypeVar("T")
T_co = TypeVar("T_co", covariant=True)
R = TypeVar("R")
Ts = TypeVarTuple("Ts")

# Unique, never reused ids (unlike ``id()``): snapshots and the registry key by them.
_ids = itertools.count(1)

# Every live store runtime, so that a dropped atom can free its value in each of them.
# Held weakly: a store that is dropped leaves nothing here.
_runtimes: weakref.WeakSet[Any] = weakref.WeakSet()


class Getter(Protocol):
    """The ``get`` passed to read and write functions: reads an atom (and tracks it)."""

    def __call__(self, atom: Atom[T], /) -> T: ...


class Setter(Protocol):
    """The ``set`` passed to write functions: writes a primitive atom or runs a writable one."""

    def __call__(self, atom: Atom[Any], value: Any = ..., /, *args: Any) -> Any: ...


# What ``on_mount``/``on_unmount`` receive is the store; typed by the factories (this module
# defines what stores hold, so it cannot name the store class).
_Hook = Callable[[Any], None]


class _Options:
    """Rarely used atom options, kept out of the atom itself so plain atoms stay small."""

    __slots__ = ("equals", "is_async", "on_mount", "on_unmount", "owner_ref")

    def __init__(
        self,
        equals: Callable[[Any, Any], bool] | None,
        owner: object | None,
        on_mount: _Hook | None,
        on_unmount: _Hook | None,
    ) -> None:
        self.equals = equals
        # Weak: an atom must not keep its store alive (stores are per request and dropped).
        self.owner_ref: weakref.ref[Any] | None = None if owner is None else weakref.ref(owner)
        self.on_mount = on_mount
        self.on_unmount = on_unmount
        self.is_async = False


class Atom(Generic[T]):
    """A readable atom: the base of every atom kind. Values live in stores, never here."""

    __slots__ = ("__weakref__", "_id", "_init", "_name", "_opts", "_read")

    _id: int
    _name: str | None
    _init: Any
    _read: Callable[[Getter], Any] | None
    _opts: _Options | None

    @property
    def id(self) -> int:
        """The atom's unique id (never reused within the process)."""
        return self._id

    @property
    def name(self) -> str:
        """The atom's name: the one it was given, or the fallback ``atom-<id>``."""
        return self._name if self._name is not None else f"atom-{self._id}"

    @property
    def has_explicit_name(self) -> bool:
        """Whether the atom was given a name (instead of the ``atom-<id>`` fallback)."""
        return self._name is not None

    @property
    def equals(self) -> Callable[[Any, Any], bool] | None:
        """The custom equality used for bail-out, or None for ``==`` guarded by identity."""
        return None if self._opts is None else self._opts.equals

    @property
    def kind(self) -> str:
        """``"primitive"``, ``"computed"`` (read-only derived) or ``"writable"``."""
        return "primitive"

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} #{self._id}>"

    def __del__(self) -> None:
        # Free this atom's value in every store: stores key values by id and never keep atoms.
        try:
            for runtime in list(_runtimes):
                runtime.forget(self._id)
        except Exception:
            pass


class PrimitiveAtom(Atom[T]):
    """A writable atom holding a value given directly (``atom(0)``)."""

    __slots__ = ()

    @property
    def init(self) -> T:
        """The initial value every store starts from."""
        return cast("T", self._init)


class Computed(Atom[T]):
    """A derived atom: its value is ``read(get)``, recomputed when what it read changes."""

    # A derived atom has no initial value, so ``_init`` holds its write function (or None):
    # one slot less per atom. Whether ``read`` is async lives in the rarely used options.
    __slots__ = ()

    @property
    def kind(self) -> str:
        """``"computed"`` for read-only derived atoms, ``"writable"`` when it has a write."""
        return "computed" if self._init is None else "writable"

    @property
    def is_async(self) -> bool:
        """Whether ``read`` is a coroutine function (use ``store.aget``)."""
        return self._opts is not None and self._opts.is_async


class WritableComputed(Computed[T], Generic[T, *Ts, R]):
    """A derived atom with a ``write(get, set, *args)``: ``store.set(atom, *args)`` runs it."""

    __slots__ = ()
