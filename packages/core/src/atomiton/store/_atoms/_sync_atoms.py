"""``sync_atoms``: chosen primitive atoms kept equal across processes over a bus.

Atoms are identified by name. Each value carries a Lamport stamp ``(clock, writer)``: a local
write takes ``clock = max(clock seen) + 1``; a received value replaces the local one only when
its stamp is greater. Every process therefore ends with the value of the greatest stamp: the
same everywhere (ties broken by writer id), and a write made after seeing another one always
wins over it (its clock is greater), so causally related writes keep the bus order.

Plain bus order cannot be the rule without echoing: a process shows its own write at once and
receives the other writes later, so two concurrent writes would be applied in opposite orders
by their two writers, each keeping the other's value. Waiting for one's own write to come back
from the bus would fix that, at the price of a round trip before every local read.

A (re)starting process publishes ``hello``; every peer answers with the stamps and values it
holds, and the greatest stamps win as for any write. This module never imports
``atomiton.events``: the bus is anything with ``emit`` and ``on``.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from typing import Any, Protocol

from atomiton.store._atoms.atom import Atom, PrimitiveAtom
from atomiton.store._atoms.plugins import PluginHooks
from atomiton.store._atoms.store import Store
from atomiton.store._errors import AtomSyncError

__all__ = ["AtomSync", "AtomSyncBus", "sync_atoms"]

logger = logging.getLogger(__name__)

_CHANNEL = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
Stamp = tuple[int, str]
_ZERO: Stamp = (0, "")


class AtomSyncBus(Protocol):
    """The bus shape ``sync_atoms`` needs (the same as ``create_client(sync=...)``)."""

    def emit(self, type: str, data: Any, /, *, source: str) -> object:
        """Publish one event of ``type`` with ``data``, attributed to ``source``."""
        ...

    def on(self, pattern: str, handler: Callable[[Any], Any], /) -> Callable[[], object]:
        """Call ``handler(event)`` for each event matching ``pattern``; return an unsubscriber."""
        ...


def _json_value(name: str, value: Any) -> None:
    try:
        same = json.loads(json.dumps(value, allow_nan=False)) == value
    except (TypeError, ValueError) as error:
        raise AtomSyncError(
            f"sync_atoms: atom {name!r} holds {type(value).__name__} {value!r}, which is not "
            f"JSON-able ({error})"
        ) from None
    if not same:
        raise AtomSyncError(
            f"sync_atoms: atom {name!r} holds {value!r}, which does not survive JSON unchanged "
            "(use lists, not tuples; str keys)"
        )


class AtomSync:
    """The running sync of ``sync_atoms``; ``close()`` (or ``with``) stops it.

    Attributes:
        channel: the channel; events are ``store.sync.atoms.<channel>``.
        writer: this side's writer id (the tie-break of equal clocks).
    """

    def __init__(
        self,
        store: Store,
        bus: AtomSyncBus,
        atoms: dict[str, PrimitiveAtom[Any]],
        channel: str,
    ) -> None:
        self.channel = channel
        self.writer = uuid.uuid4().hex
        self._store = store
        self._bus = bus
        self._type = f"store.sync.atoms.{channel}"
        self._atoms = atoms
        self._ids = {a.id: name for name, a in atoms.items()}
        self._lock = threading.RLock()
        self._clock = 0
        self._stamps: dict[str, Stamp] = dict.fromkeys(atoms, _ZERO)
        self._known: dict[str, Any] = {}
        self._closed = False
        # Events leave from a thread of their own: a store listener runs under the store's
        # lock, and emitting there could reach another store's handler in this process that
        # waits for its own lock while its writer waits for ours.
        self._outgoing: deque[dict[str, Any]] = deque()
        self._wake = threading.Condition()
        self._busy = False
        self._stopping = False
        self._sender = threading.Thread(
            target=self._send_loop, name=f"atomiton-sync-atoms-{channel}", daemon=True
        )
        self._sender.start()
        for name, atom in atoms.items():
            value = store.get(atom)
            _json_value(name, value)
            self._known[name] = value
        self._undo: list[Callable[[], object]] = [
            store.use(lambda _store: PluginHooks(on_set=self._check))
        ]
        self._undo.append(bus.on(self._type, self._on_event))
        for name, atom in atoms.items():
            self._undo.append(store.subscribe(atom, self._listener(name)))
        self._publish({"kind": "hello"})

    def __repr__(self) -> str:
        return f"<AtomSync {self.channel!r} {sorted(self._atoms)}>"

    # -- local writes ---------------------------------------------------------------------

    def _check(self, atom: Atom[Any], value: Any) -> Any:
        name = self._ids.get(atom.id)
        if name is not None and not self._closed:
            _json_value(name, value)  # refused before the write happens
        return value

    def _listener(self, name: str) -> Callable[[Any], None]:
        def changed(value: Any) -> None:
            with self._lock:
                if self._closed or value == self._known[name]:
                    return  # a remote value being applied, or nothing new
                self._clock += 1
                stamp = (self._clock, self.writer)
                self._stamps[name] = stamp
                self._known[name] = value
            self._publish({"kind": "set", "clock": stamp[0], "values": {name: value}})

        return changed

    def _publish(self, data: dict[str, Any]) -> None:
        with self._wake:
            self._outgoing.append({"writer": self.writer, **data})
            self._wake.notify_all()

    def _send_loop(self) -> None:
        outgoing = self._outgoing
        while True:
            with self._wake:
                while not outgoing and not self._stopping:
                    self._wake.wait()
                if not outgoing:
                    return
                payload = outgoing.popleft()
                self._busy = True
            try:
                self._bus.emit(self._type, payload, source="store")
            except Exception:
                logger.exception("sync_atoms %r: publishing failed", self.channel)
            with self._wake:
                self._busy = False
                self._wake.notify_all()

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until every value written here so far is handed to the bus; False on timeout."""
        with self._wake:
            return self._wake.wait_for(lambda: not self._outgoing and not self._busy, timeout)

    # -- remote writes --------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        data = getattr(event, "data", event)
        if not isinstance(data, Mapping):
            return
        writer, kind = data.get("writer"), data.get("kind")
        if writer == self.writer or not isinstance(writer, str) or self._closed:
            return
        if kind == "hello":
            self._answer()
        elif kind == "set":
            clock, values = data.get("clock"), data.get("values")
            if isinstance(clock, int) and isinstance(values, Mapping):
                self._apply({n: ((clock, writer), v) for n, v in values.items()})
        elif kind == "state":
            stamps = data.get("stamps")
            if isinstance(stamps, Mapping):
                self._apply(
                    {
                        n: ((s[0], s[1]), s[2])
                        for n, s in stamps.items()
                        if isinstance(s, list) and len(s) == 3 and isinstance(s[0], int)
                    }
                )

    def _answer(self) -> None:
        with self._lock:
            stamps = {
                name: [stamp[0], stamp[1], self._known[name]]
                for name, stamp in self._stamps.items()
                if stamp != _ZERO
            }
        if stamps:
            self._publish({"kind": "state", "stamps": stamps})

    def _apply(self, incoming: Mapping[str, tuple[Stamp, Any]]) -> None:
        # The store's lock first, then ours: the listeners run under the store's lock too.
        with self._store.batch(), self._lock:
            for name, (stamp, value) in incoming.items():
                atom = self._atoms.get(name)
                if atom is None:
                    continue
                self._clock = max(self._clock, stamp[0])
                if stamp <= self._stamps[name]:
                    continue
                self._stamps[name] = stamp
                self._known[name] = value
                self._store.set(atom, value)

    # -- lifecycle ------------------------------------------------------------------------

    def stamp(self, atom: PrimitiveAtom[Any]) -> tuple[int, str]:
        """Return the ``(clock, writer)`` stamp of the atom's current value.

        ``(0, "")`` when no synced store has written it yet.
        """
        with self._lock:
            return self._stamps[self._ids[atom.id]]

    def close(self) -> None:
        """Stop publishing and applying; unsubscribe from the bus and the store (idempotent)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        for undo in reversed(self._undo):
            try:
                undo()
            except Exception:
                logger.exception("sync_atoms %r: unsubscribing failed", self.channel)
        with self._wake:  # what was written before close() still goes out
            self._stopping = True
            self._wake.notify_all()
        if self._sender is not threading.current_thread():
            self._sender.join()

    def __enter__(self) -> AtomSync:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def sync_atoms(
    store: Store, bus: AtomSyncBus, atoms: Iterable[PrimitiveAtom[Any]], *, channel: str = "ui"
) -> AtomSync:
    """Keep chosen primitive atoms of ``store`` equal across processes over ``bus``.

    Every process calls it with atoms of the same names on the same ``channel``. A write in
    one process reaches the others' stores with ``store.set`` (derived atoms recompute there,
    subscribers fire); the last write by Lamport clock wins, ties broken by writer id (see the
    README, "Several processes and machines"). A joining or restarted process asks its peers
    for the current values.

    Args:
        store: the store holding the atoms' values here.
        bus: a bridged ``atomiton.events.EventBus`` (or anything with ``emit`` and ``on``).
        atoms: primitive atoms with explicit, distinct names; values must survive JSON.
        channel: a name (``[A-Za-z0-9_-]``) separating independent groups of atoms.

    Returns:
        The running ``AtomSync``; ``close()`` it (or use ``with``) to stop.

    Raises:
        AtomSyncError: an atom that is not primitive, unnamed or named twice, a current value
            that is not JSON-able, or a bad channel. Later, ``store.set`` of such a value on
            a synced atom raises it before writing.
    """
    if not isinstance(channel, str) or not _CHANNEL.match(channel):
        raise AtomSyncError(
            f"sync_atoms: channel must match [A-Za-z0-9_-]{{1,64}}, got {channel!r}"
        )
    if not isinstance(store, Store):
        raise TypeError(f"sync_atoms: store must be a Store, got {type(store).__name__}")
    if not callable(getattr(bus, "emit", None)) or not callable(getattr(bus, "on", None)):
        raise TypeError(
            f"sync_atoms: bus must have emit(type, data, *, source) and on(pattern, handler), "
            f"got {type(bus).__name__}"
        )
    by_name: dict[str, PrimitiveAtom[Any]] = {}
    for atom in atoms:
        if not isinstance(atom, PrimitiveAtom):
            raise AtomSyncError(
                f"sync_atoms: {atom!r} is not a primitive atom (derived atoms recompute in "
                "each process; sync what they read)"
            )
        if not atom.has_explicit_name or not atom.name:
            raise AtomSyncError(
                f"sync_atoms: {atom!r} has no name; synced atoms are matched across processes "
                "by name (atom(value, name=...))"
            )
        if atom.name in by_name:
            raise AtomSyncError(f"sync_atoms: two atoms are named {atom.name!r}")
        by_name[atom.name] = atom
    if not by_name:
        raise AtomSyncError("sync_atoms: no atoms given")
    return AtomSync(store, bus, by_name, channel)
