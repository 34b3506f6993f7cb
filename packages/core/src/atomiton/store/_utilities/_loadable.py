"""``loadable`` and ``unwrap`` (Jotai's loadable/unwrap): an async atom seen through a sync one.

An async derived atom raises ``PendingError`` from ``store.get`` until its first evaluation
settles, and re-raises its error when one fails; these turn both into values.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeAlias, TypeVar

from atomiton.store._atoms.atom import Atom, Computed, Getter
from atomiton.store._atoms.factories import computed
from atomiton.store._errors import PendingError

T = TypeVar("T")
F = TypeVar("F")


@dataclass(frozen=True, slots=True)
class Loading:
    """The atom has not settled yet (all ``Loading()`` values are equal)."""


@dataclass(frozen=True, slots=True)
class HasData(Generic[T]):
    """The atom settled with ``data``."""

    data: T


@dataclass(frozen=True, slots=True)
class HasError:
    """The atom's read raised ``error``."""

    error: BaseException


Loadable: TypeAlias = Loading | HasData[T] | HasError
"""What ``loadable(atom)`` holds: match on ``Loading()``, ``HasData(data)``, ``HasError(error)``."""

_LOADING = Loading()


def loadable(
    source: Atom[T], *, name: str | None = None
) -> Computed[Loading | HasData[T] | HasError]:
    """Define a sync atom holding the state of ``source``: loading, its data, or its error.

    ``store.get(loadable(a))`` never raises: ``Loading()`` until ``a`` first settles,
    ``HasData(value)`` once it has, ``HasError(exc)`` when its read raised (subscribers of the
    loadable are notified of errors too, unlike subscribers of ``a``). While a later evaluation
    of ``a`` runs, the loadable keeps showing the last settled outcome (the store keeps the last
    settled value of an async atom until the new one settles). An async atom starts evaluating
    only inside a running event loop; read elsewhere, the loadable stays ``Loading()``. Each call
    defines a new atom (Jotai caches one per source; define it once, next to ``source``).

    Args:
        source: Any atom; usually an async derived atom.
        name: The atom's name (see ``atom``).

    Returns:
        The read-only derived atom.

    Raises:
        TypeError: ``source`` is not an atom.
    """
    if not isinstance(source, Atom):
        raise TypeError(f"loadable() source must be an atom, got {type(source).__name__}")

    def read(get: Getter) -> Loading | HasData[T] | HasError:
        try:
            return HasData(get(source))
        except PendingError:
            return _LOADING
        except Exception as exc:
            return HasError(exc)

    return computed(read, name=name)


def unwrap(source: Atom[T], fallback: F = None, *, name: str | None = None) -> Computed[T | F]:  # type: ignore[assignment]
    """Define a sync atom holding ``source``'s settled value, or ``fallback`` until it settles.

    Errors of ``source`` are re-raised by ``store.get`` (use ``loadable`` to see them as values).

    Args:
        source: Any atom; usually an async derived atom.
        fallback: The value shown before ``source`` first settles (default None).
        name: The atom's name (see ``atom``).

    Returns:
        The read-only derived atom.

    Raises:
        TypeError: ``source`` is not an atom.
    """
    if not isinstance(source, Atom):
        raise TypeError(f"unwrap() source must be an atom, got {type(source).__name__}")

    def read(get: Getter) -> Any:
        try:
            return get(source)
        except PendingError:
            return fallback

    return computed(read, name=name)
