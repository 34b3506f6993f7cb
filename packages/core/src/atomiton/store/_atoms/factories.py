"""The atom factories: ``atom(init)`` and ``computed(read, write=...)``.

``atom(..., store=s)`` isolates the atom to ``s`` and registers it with ``s``'s registry.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any, TypeVar, TypeVarTuple, Unpack, overload

from atomiton.store._atoms.atom import (
    Atom,
    Computed,
    Getter,
    PrimitiveAtom,
    Setter,
    WritableComputed,
    _ids,
    _Options,
)
from atomiton.store._atoms.store import Store

T = TypeVar("T")
R = TypeVar("R")
Ts = TypeVarTuple("Ts")

MountHook = Callable[[Store], None]
"""``on_mount``/``on_unmount``: called with the store that (un)mounts the atom."""


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
    if store is not None:
        if not isinstance(store, Store):
            raise TypeError(f"store must be a Store, got {type(store).__name__}")
        registry = store.registry
        if registry is not None:  # the seed's rule: an atom made for a store is registered there
            registry.register(obj, store)


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

    ``read`` may be an ``async def``: read it with ``await store.aget(atom)``.

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
