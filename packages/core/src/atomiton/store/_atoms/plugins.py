"""Store plugins: the hooks a plugin returns (``PluginHooks``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from atomiton.store._atoms.atom import Atom


@dataclass(frozen=True, slots=True)
class PluginHooks:
    """What a plugin returns: optional hooks, called in this order for each primitive write.

    ``on_set(atom, value) -> value`` (may transform the value) -> write -> recompute ->
    notify listeners -> ``after_set(atom, value)``; ``on_commit()`` runs once after each
    top-level operation (a ``set``, ``update``, write function, ``batch`` or ``restore``) that
    changed something. ``on_action(atom, args)`` runs when a writable derived atom's write
    function returns (or raises), before its writes are committed: ``store.set(atom, *args)``
    seen as the action it is, not only as the primitives it wrote (nested calls report inner
    first, so the last one before ``on_commit`` is the outermost).
    """

    on_set: Callable[[Atom[Any], Any], Any] | None = None
    after_set: Callable[[Atom[Any], Any], None] | None = None
    on_commit: Callable[[], None] | None = None
    on_action: Callable[[Atom[Any], tuple[Any, ...]], None] | None = None
