"""``split_atom`` (Jotai's splitAtom): a list atom seen as a list of per-item atoms.

The split atom's value is a list of item atoms, one per element, stable per key: an item keeps
its atom while its key stays in the list, wherever it moves. Item atoms are held weakly by the
split atom (a store's cached list holds them strongly while the item is in the list), so items
removed for good leave nothing behind.
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable, Hashable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar, overload

from atomiton.store._atoms.atom import (
    Atom,
    Computed,
    Getter,
    PrimitiveAtom,
    Setter,
    WritableComputed,
)
from atomiton.store._atoms.factories import computed
from atomiton.store._errors import SplitItemMissingError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RemoveItem(Generic[T]):
    """Action for a split atom: remove the item of ``atom`` (nothing if it is gone already)."""

    atom: Atom[T]


@dataclass(frozen=True, slots=True)
class InsertItem(Generic[T]):
    """Action for a split atom: insert ``value`` before the item ``before`` (None: at the end)."""

    value: T
    before: Atom[T] | None = None


@dataclass(frozen=True, slots=True)
class MoveItem(Generic[T]):
    """Action for a split atom: move the item of ``atom`` before ``before`` (None: to the end)."""

    atom: Atom[T]
    before: Atom[T] | None = None


SplitAction: TypeAlias = RemoveItem[T] | InsertItem[T] | MoveItem[T]
"""What ``store.set(split, action)`` takes."""


class _Items(Generic[T]):
    """The key -> item atom table of one split atom, shared by every store that uses it."""

    __slots__ = ("__weakref__", "atoms", "key", "keys_of", "lock", "source", "writable")

    def __init__(
        self, source: Atom[Sequence[T]], key: Callable[[T], Hashable] | None, writable: bool
    ) -> None:
        self.source = source
        self.key = key
        self.writable = writable
        self.atoms: weakref.WeakValueDictionary[Hashable, Atom[T]] = weakref.WeakValueDictionary()
        self.keys_of: weakref.WeakKeyDictionary[Atom[T], Hashable] = weakref.WeakKeyDictionary()
        self.lock = threading.Lock()

    def positions(self, items: Sequence[T]) -> dict[Hashable, int]:
        """Key -> index of its first element (later duplicates share the first one's atom)."""
        key = self.key
        if key is None:
            return {i: i for i in range(len(items))}
        found: dict[Hashable, int] = {}
        for i, item in enumerate(items):
            found.setdefault(key(item), i)
        return found

    def atom_for(self, key: Hashable, index: Computed[dict[Hashable, int]]) -> Atom[T]:
        with self.lock:
            item = self.atoms.get(key)
            if item is None:
                item = self._make(key, index)
                self.atoms[key] = item
                self.keys_of[item] = key
            return item

    def _make(self, key: Hashable, index: Computed[dict[Hashable, int]]) -> Atom[T]:
        source = self.source

        def read(get: Getter) -> T:
            at = get(index).get(key)
            if at is None:
                raise SplitItemMissingError(f"split_atom item {key!r} is no longer in the list")
            items: Sequence[T] = get(source)
            return items[at]

        if not self.writable:
            return computed(read)

        def write(get: Getter, set: Setter, value: T) -> None:
            at = get(index).get(key)
            if at is None:
                raise SplitItemMissingError(
                    f"split_atom item {key!r} is no longer in the list: it cannot be written"
                )
            current: Sequence[T] = get(source)
            items = list(current)
            if items[at] is not value:
                items[at] = value
                set(source, items)

        return computed(read, write=write)


@overload
def split_atom(
    source: PrimitiveAtom[list[T]] | WritableComputed[list[T], list[T], Any],
    *,
    key: Callable[[T], Hashable] | None = ...,
    name: str | None = ...,
) -> WritableComputed[list[WritableComputed[T, T, None]], SplitAction[T], None]: ...


@overload
def split_atom(
    source: Atom[list[T]] | Atom[Sequence[T]],
    *,
    key: Callable[[T], Hashable] | None = ...,
    name: str | None = ...,
) -> Computed[list[Computed[T]]]: ...


def split_atom(
    source: Atom[Any],
    *,
    key: Callable[[Any], Hashable] | None = None,
    name: str | None = None,
) -> Computed[Any]:
    """Define an atom whose value is one atom per element of the list in ``source``.

    Each item atom reads its element; when ``source`` is writable (a primitive atom or a
    writable derived atom taking a list), ``store.set(item, value)`` replaces the element and
    ``store.set(split, action)`` applies ``RemoveItem(item)``, ``InsertItem(value,
    before=item_or_None)`` or ``MoveItem(item, before=item_or_None)`` to the list. Writes store
    a new list; the old one is never mutated.

    Item atoms are stable per key: while a key stays in the list its item atom is the same
    object (so a subscriber of one item is not disturbed by the others). Without ``key`` the
    key is the index (Jotai's default). Keys must be hashable; duplicate keys share the first
    element's atom. Reading or writing an item atom whose key has left the list raises
    ``SplitItemMissingError``. The split atom notifies only when the keys change (added,
    removed, reordered), not when an element's value changes: its items notify for that.

    Args:
        source: An atom holding a list (a sequence, for a read-only split).
        key: ``key(element)`` identifies an element across changes (an id field, say).
        name: The split atom's name (see ``atom``).

    Returns:
        The split atom: writable when ``source`` is.

    Raises:
        TypeError: ``source`` is not an atom or ``key`` is not callable.
    """
    if not isinstance(source, Atom):
        raise TypeError(f"split_atom() source must be an atom, got {type(source).__name__}")
    if key is not None and not callable(key):
        raise TypeError(f"split_atom() key must be callable, got {type(key).__name__}")
    writable = isinstance(source, PrimitiveAtom | WritableComputed)
    table: _Items[Any] = _Items(source, key, writable)
    index: Computed[dict[Hashable, int]] = computed(lambda get: table.positions(get(source)))

    def read(get: Getter) -> list[Atom[Any]]:
        return [table.atom_for(k, index) for k in get(index)]

    if not writable:
        return computed(read, name=name)

    def position(get: Getter, item: Atom[Any] | None) -> int | None:
        """The index of ``item``'s element now (None for a missing one); None item: the end."""
        if item is None:
            return len(get(source))
        k = table.keys_of.get(item)
        if k is None:
            raise TypeError(f"{item!r} is not an item atom of this split atom")
        return get(index).get(k)

    def write(get: Getter, set: Setter, action: SplitAction[Any]) -> None:
        items = list(get(source))
        if isinstance(action, RemoveItem):
            at = position(get, action.atom)
            if at is not None:
                del items[at]
                set(source, items)
        elif isinstance(action, InsertItem):
            at = position(get, action.before)
            if at is None:
                raise SplitItemMissingError(
                    "InsertItem(before=...) names an item no longer in the list"
                )
            items.insert(at, action.value)
            set(source, items)
        elif isinstance(action, MoveItem):
            at = position(get, action.atom)
            to = position(get, action.before)
            if at is None or to is None:
                raise SplitItemMissingError("MoveItem names an item no longer in the list")
            moved = items.pop(at)
            items.insert(to - 1 if at < to else to, moved)
            set(source, items)
        else:
            raise TypeError(
                "a split atom takes RemoveItem, InsertItem or MoveItem, "
                f"got {type(action).__name__}"
            )

    return computed(read, write=write, name=name)
