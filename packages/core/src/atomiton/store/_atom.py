"""Atom definitions: primitive atoms, read-only and writable derived atoms, and their factories.

An atom is only a *definition* (an id, a name, an initial value or a read function); its value
lives in a store. Atoms are hashable by identity and carry ``__slots__`` so that thousands of them
stay small: a primitive atom is one object with six slots plus its id.
"""

from __future__ import annotations

import itertools
import weakref
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar, TypeVarTuple, Unpack, overload

if TYPE_CHECKING:
    from atomiton.store._store import Store

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


MountHook = Callable[["Store"], None]


class _Options:
    """Rarely used atom options, kept out of the atom itself so plain atoms stay small."""

    __slots__ = ("equals", "is_async", "on_mount", "on_unmount", "owner_ref")

    def __init__(
        self,
        equals: Callable[[Any, Any], bool] | None,
        owner: Store | None,
        on_mount: MountHook | None,
        on_unmount: MountHook | None,
    ) -> None:
        self.equals = equals
        # Weak: an atom must not keep its store alive (stores are per request and dropped).
        self.owner_ref: weakref.ref[Store] | None = None if owner is None else weakref.ref(owner)
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
    def owner(self) -> Store | None:
        """The store this atom is isolated to, or None when any store may use it."""
        ref = None if self._opts is None else self._opts.owner_ref
        return None if ref is None else ref()

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
        return self._init  # type: ignore[no-any-return]


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
        """Whether ``read`` is a coroutine function (use ``store.get_async``)."""
        return self._opts is not None and self._opts.is_async


class WritableComputed(Computed[T], Generic[T, *Ts, R]):
    """A derived atom with a ``write(get, set, *args)``: ``store.set(atom, *args)`` runs it."""

    __slots__ = ()


def _setup(
    obj: Atom[Any],
    init: Any,
    read: Any,
    name: str | None,
    equals: Callable[[Any, Any], bool] | None,
    store: Store | None,
    on_mount: MountHook | None,
    on_unmount: MountHook | None,
) -> None:
    if name is not None and not isinstance(name, str):
        raise TypeError(f"atom name must be a str, got {type(name).__name__}")
    if equals is not None and not callable(equals):
        raise TypeError(f"equals must be callable, got {type(equals).__name__}")
    obj._id = next(_ids)
    obj._name = name
    obj._init = init
    obj._read = read
    if equals is None and store is None and on_mount is None and on_unmount is None:
        obj._opts = None
    else:
        obj._opts = _Options(equals, store, on_mount, on_unmount)


def atom(
    init: T,
    *,
    name: str | None = None,
    equals: Callable[[T, T], bool] | None = None,
    store: Store | None = None,
    on_mount: MountHook | None = None,
    on_unmount: MountHook | None = None,
) -> PrimitiveAtom[T]:
    """Define a primitive, writable atom.

    Args:
        init: The value every store starts from.
        name: A name for ``get_state``/``set_state``, the registry and devtools
            (default: ``atom-<id>``).
        equals: Equality for the bail-out (default: ``==`` guarded by identity).
        store: Isolate the atom to this store: other stores raise ``IsolationError``.
        on_mount: Called with the store when the atom gains its first subscriber
            (directly or through a dependant).
        on_unmount: Called with the store when it loses its last one.

    Returns:
        The atom definition.
    """
    obj: PrimitiveAtom[T] = PrimitiveAtom.__new__(PrimitiveAtom)
    _setup(obj, init, None, name, equals, store, on_mount, on_unmount)
    return obj


@overload
def computed(
    read: Callable[[Getter], Coroutine[Any, Any, T]],
    *,
    name: str | None = ...,
    equals: Callable[[T, T], bool] | None = ...,
    store: Store | None = ...,
    on_mount: MountHook | None = ...,
    on_unmount: MountHook | None = ...,
) -> Computed[T]: ...


@overload
def computed(
    read: Callable[[Getter], T],
    *,
    name: str | None = ...,
    equals: Callable[[T, T], bool] | None = ...,
    store: Store | None = ...,
    on_mount: MountHook | None = ...,
    on_unmount: MountHook | None = ...,
) -> Computed[T]: ...


@overload
def computed(
    read: Callable[[Getter], T],
    *,
    write: Callable[[Getter, Setter, Unpack[Ts]], R],
    name: str | None = ...,
    equals: Callable[[T, T], bool] | None = ...,
    store: Store | None = ...,
    on_mount: MountHook | None = ...,
    on_unmount: MountHook | None = ...,
) -> WritableComputed[T, *Ts, R]: ...


def computed(
    read: Callable[[Getter], Any],
    *,
    write: Callable[..., Any] | None = None,
    name: str | None = None,
    equals: Callable[[Any, Any], bool] | None = None,
    store: Store | None = None,
    on_mount: MountHook | None = None,
    on_unmount: MountHook | None = None,
) -> Computed[Any]:
    """Define a derived atom whose value is ``read(get)``.

    ``read`` may be an ``async def``: read it with ``await store.get_async(atom)``.

    Args:
        read: Computes the value; every atom it reads with ``get`` becomes a dependency
            for that evaluation only.
        write: Makes the atom writable: ``store.set(atom, *args)`` runs
            ``write(get, set, *args)`` and returns its result.
        name: See ``atom``.
        equals: Equality deciding whether a recomputed value changed.
        store: See ``atom``.
        on_mount: See ``atom``.
        on_unmount: See ``atom``.

    Returns:
        The derived atom definition.

    Raises:
        TypeError: ``read`` or ``write`` is not callable.
    """
    if not callable(read):
        raise TypeError(f"computed() read must be callable, got {type(read).__name__}")
    if write is not None and not callable(write):
        raise TypeError(f"computed() write must be callable, got {type(write).__name__}")
    cls = Computed if write is None else WritableComputed
    obj: Computed[Any] = cls.__new__(cls)
    _setup(obj, write, read, name, equals, store, on_mount, on_unmount)
    if _is_async(read):
        if obj._opts is None:
            obj._opts = _Options(None, None, None, None)
        obj._opts.is_async = True
    return obj


_CO_COROUTINE = 0x80  # inspect.CO_COROUTINE


def _is_async(read: Callable[..., Any]) -> bool:
    """``inspect.iscoroutinefunction(read)``, without importing inspect for plain functions.

    inspect costs ~10 ms at import (issue 19), and read functions are nearly always plain
    functions or lambdas, whose code flags answer; anything else asks inspect.
    """
    code = getattr(read, "__code__", None)
    if type(read).__name__ == "function" and code is not None:
        if code.co_flags & _CO_COROUTINE:
            return True
        if not hasattr(read, "_is_coroutine_marker"):  # inspect.markcoroutinefunction (3.12+)
            return False
    import inspect

    return inspect.iscoroutinefunction(read)
