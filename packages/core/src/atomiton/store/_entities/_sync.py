"""Entity clients kept in sync across processes over a bus (``create_client(sync=bus)``).

The mode is *shared storage*: every synced client uses the same storage and key prefix. After a
write or batch commits (the storage write returned for ``direct``, the outbox append for
``queue``) the client publishes one ``store.sync.entities`` event naming the changed entities;
when its outbox flush moves records to entity keys it publishes one naming those keys.

A receiver does not trust the payload of a storage write: it re-reads the named keys from
storage (one ``read_many`` per event, under its client lock) and applies what storage holds.
Storage serialises writes, and every storage write of an entity key is followed by an event
naming the key, so the last event about a key makes every client read the last value written:
all converge to storage (*the last write committed to storage wins*). So that subscribers do not
wait for that read, a ``direct`` write's ``after`` whose version is above the receiver's is
applied and notified first, then confirmed by the read (storage's value replaces it if it lost a
race). A ``queue`` write's ``after`` is applied at once as a hint; the flush event that follows
re-reads it.

Per-writer sequence numbers reveal lost events (a gap) and trigger a reconciliation: every
hydrated store is reloaded from storage and the difference applied. It also runs every
``reconcile_interval`` seconds, which bounds how stale a client can be when a writer died between
its storage write and its publish.

Events are numbered when emitted, in the order the writes committed. With a ``coalesce`` window
(the default) publishing follows Nagle's algorithm: a write is emitted at once by the writing
thread when nothing of this client's is queued, the bus has nothing in flight to other
processes (``bus.outbound_pending``, when the bus has it) and no burst is going on. Otherwise it
waits: a publisher thread emits everything queued as one event once ``coalesce`` seconds have
passed since the previous event, and for one window after that event the client counts as in a
burst. So writes that come one at a time leave at once, and sustained writing costs one event
per window instead of one per write. Without a window the writing thread emits each write's
event right after the commit.

This module never imports ``atomiton.events``: the bus is anything with ``emit`` and ``on``.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from atomiton.store._entities.changes import EntityChange
from atomiton.store._entities.codec import decode_entity
from atomiton.store._entities.handle import StoreHandle
from atomiton.store._entities.persistence import Persistence

__all__ = [
    "DEFAULT_SYNC_COALESCE",
    "SYNC_EVENT",
    "EntitySync",
    "SyncBus",
    "SyncConflict",
    "SyncHost",
]

logger = logging.getLogger(__name__)

SYNC_EVENT = "store.sync.entities"
"""The event type a synced client publishes (and listens to)."""

DEFAULT_SYNC_COALESCE = 0.01
"""``sync_coalesce``'s default: a burst of writes costs one event per 10 ms (see ``drain``)."""

_MINE_LIMIT = 65_536  # entity keys whose last local write is remembered for conflict reports
_MERGE_LIMIT = 256  # queued events a coalescing publisher joins into one at most
_IN_FLIGHT_POLL = 0.00025  # how often a delayed lone write checks whether the bus is idle

Note = tuple[str, str, tuple[str, ...], str]


@runtime_checkable
class SyncBus(Protocol):
    """What ``sync=`` takes: a bridged ``atomiton.events.EventBus`` or anything shaped like it.

    ``emit`` is ``atomiton.platform.EventSink``'s; ``on(pattern, handler)`` subscribes
    ``handler(event)`` (an object with a ``data`` attribute, or the data itself) and returns a
    callable that unsubscribes. Events from other processes must reach ``on`` handlers. A bus
    that also has an ``outbound_pending`` property (``EventBus`` does) lets the client batch
    while its events are still on their way (see ``sync_coalesce``).
    """

    def emit(self, type: str, data: Any, /, *, source: str) -> object:
        """Publish one event of ``type`` with ``data``, attributed to ``source``."""
        ...

    def on(self, pattern: str, handler: Callable[[Any], Any], /) -> Callable[[], object]:
        """Call ``handler(event)`` for each event matching ``pattern``; return an unsubscriber."""
        ...


@dataclass(frozen=True, slots=True)
class SyncConflict:
    """A remote change met an entity this client had changed itself (``on_conflict`` gets it).

    The remote value has already been applied (storage decides; see the README's conflict
    rule), or, for a ``queue`` hint, this client's own unflushed write was kept.

    Attributes:
        store: the store's name.
        id: the entity id.
        local: what this client held (its own write).
        remote: what storage (or the other writer's hint) holds; None: the entity is gone.
        kept: ``"remote"`` when the remote value replaced the local one, ``"local"`` when this
            client's unflushed ``queue`` write was kept (its flush comes later).
    """

    store: str
    id: str
    local: dict[str, Any] | None
    remote: dict[str, Any] | None
    kept: str = "remote"


class SyncHost(Protocol):
    """What the sync needs from its entity client (``EntityClient`` implements it)."""

    @property
    def id(self) -> str:
        """The client's id (the writer id in published events)."""
        ...

    @property
    def _lock(self) -> threading.RLock: ...

    @property
    def _persistence(self) -> Persistence: ...

    @property
    def is_disposed(self) -> bool:
        """Whether the client was disposed."""
        ...

    def _hydrated(self, name: str) -> StoreHandle | None: ...

    def _hydrated_handles(self) -> list[StoreHandle]: ...

    def _notify_all(self, notes: list[Note], remote: bool = False) -> None: ...


def _newer(after: Any, current: dict[str, Any] | None) -> bool:
    """Whether a payload's ``after`` is a later version than ``current`` (or a new entity)."""
    if not isinstance(after, Mapping):
        return False
    version = after.get("version")
    if not isinstance(version, int):
        return False
    if current is None:
        return True
    held = current.get("version")
    return isinstance(held, int) and version > held


def _merged(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """One event for several queued ones of this writer (numbered when emitted)."""
    changes: list[dict[str, Any]] = []
    for payload in batch:
        changes += payload["changes"]
    kinds = {payload["kind"] for payload in batch}
    return {
        "writer": batch[-1]["writer"],
        "seq": 0,
        "prefix": batch[-1]["prefix"],
        "kind": "flush" if kinds == {"flush"} else "write",
        "changes": changes,
    }


class EntitySync:
    """One client's side of the sync: publishes its commits, applies everyone else's."""

    def __init__(
        self,
        host: SyncHost,
        bus: SyncBus,
        *,
        on_conflict: Callable[[SyncConflict], object] | None,
        reconcile_interval: float | None,
        coalesce: float | None = None,
    ) -> None:
        self._host = host
        self._bus = bus
        self._writer = host.id
        self._persistence = host._persistence
        self._prefix = self._persistence.prefix
        self._on_conflict = on_conflict
        self._seq = 0  # events emitted (under the publish lock)
        self._outgoing: deque[dict[str, Any]] = deque()
        self._publish_lock = threading.Lock()
        self._last_seen: dict[str, int] = {}
        self._mine: dict[str, dict[str, Any] | None] = {}
        self._closed = threading.Event()
        self._wake = threading.Condition()
        self._waiting = False
        self._stopping = False
        self._window = coalesce
        self._last_emit = float("-inf")  # time.monotonic() after the last event left
        self._burst_until = float("-inf")  # writes before this go through the publisher
        outbound = getattr(type(bus), "outbound_pending", None)
        # The bus's count of events still on their way (EventBus with a bridge); 0 otherwise.
        self._in_flight: Callable[[], int] = (
            (lambda: bus.outbound_pending)  # type: ignore[attr-defined]
            if isinstance(outbound, property)
            else (lambda: 0)
        )
        self.gaps = 0
        self.reconciliations = 0
        # Subscribed before any store hydrates: whatever is published later reaches us.
        self._unsubscribe = bus.on(SYNC_EVENT, self._on_event)
        self._thread: threading.Thread | None = None
        if reconcile_interval is not None:
            self._thread = threading.Thread(
                target=self._run,
                args=(reconcile_interval,),
                name=f"atomiton-store-reconcile-{self._writer}",
                daemon=True,
            )
            self._thread.start()
        # With ``coalesce``: a publisher thread for the writes that came within ``coalesce``
        # seconds of the last event; it sends them together as one event when the window ends.
        self._publisher: threading.Thread | None = None
        if coalesce is not None:
            self._publisher = threading.Thread(
                target=self._publish_loop,
                args=(coalesce,),
                name=f"atomiton-store-sync-{self._writer}",
                daemon=True,
            )
            self._publisher.start()

    # -- publishing -----------------------------------------------------------------------

    def record(self, changes: Iterable[tuple[str, EntityChange]]) -> None:
        """Queue one event for a committed write or batch (called under the client lock).

        Under the persistence lock: a ``queue`` write's hint must be queued before the event of
        the flush that moves it to storage, or a receiver could apply the hint after
        re-reading the flushed value and keep it. A hint whose record a flush already moved
        (between the outbox append and this call) is sent as ``"flush"``: receivers re-read it.
        """
        items: list[dict[str, Any]] = []
        mine = self._mine
        persistence = self._persistence
        with persistence.lock:
            # This write's outbox record is the newest one (the client lock keeps other
            # writes out) unless a flush already moved it, and a flush moves every record.
            newest = persistence.pending[-1][1] if persistence.pending else {}
            for strategy, change in changes:
                kind = strategy
                if strategy == "queue" and change.key not in newest:
                    kind = "flush"
                items.append(
                    {
                        "store": change.store,
                        "id": change.id,
                        "after": change.after,
                        "strategy": kind,
                    }
                )
                mine.pop(change.key, None)
                mine[change.key] = change.after
            while len(mine) > _MINE_LIMIT:
                del mine[next(iter(mine))]
            if items:
                self._enqueue("write", items)

    def flushed(self, keys: Iterable[str]) -> None:
        """Queue one event naming the entity keys an outbox flush wrote (never blocks)."""
        prefix = self._persistence.entities_prefix
        items: list[dict[str, Any]] = []
        for key in keys:
            if key.startswith(prefix):
                store, _, entity_id = key[len(prefix) :].partition("/")
                items.append({"store": store, "id": entity_id, "after": None, "strategy": "flush"})
        if items:
            self._enqueue("flush", items)

    def _enqueue(self, kind: str, items: list[dict[str, Any]]) -> None:
        # Numbered when emitted (``_emit_pending``): events, not writes, are counted, so a
        # coalesced event leaves no gap. The queue keeps the order the callers' locks gave.
        self._outgoing.append(
            {
                "writer": self._writer,
                "seq": 0,
                "prefix": self._prefix,
                "kind": kind,
                "changes": items,
            }
        )

    def drain(self) -> None:
        """Publish the queued events now, or leave them to the publisher thread's window.

        Never called under a lock: another client in this process may be subscribed to the
        same bus, and its handler takes its own lock.
        """
        window = self._window
        if window is None:
            while self._outgoing:
                self._emit_pending(merge=False)
            return
        outgoing = self._outgoing
        if not outgoing:
            return
        if len(outgoing) == 1 and time.monotonic() >= self._burst_until and not self._in_flight():
            # A lone write and an idle bus: it goes now, from this thread (no thread hop).
            self._emit_pending(merge=True)
        elif self._waiting:
            with self._wake:
                self._wake.notify()

    def publish_now(self) -> None:
        """Publish everything queued before returning (``client.flush()``, ``close()``)."""
        while self._outgoing:
            self._emit_pending(merge=self._window is not None)

    def _emit_pending(self, merge: bool) -> int:
        """Emit what is queued (as few events as ``_MERGE_LIMIT`` allows).

        Returns:
            How many queued events the last emitted event joined.
        """
        outgoing = self._outgoing
        joined = 0
        with self._publish_lock:
            while outgoing:
                batch = [outgoing.popleft()]
                while merge and outgoing and len(batch) < _MERGE_LIMIT:
                    batch.append(outgoing.popleft())
                payload = batch[0] if len(batch) == 1 else _merged(batch)
                joined = len(batch)
                self._seq += 1
                payload["seq"] = self._seq
                try:
                    self._bus.emit(SYNC_EVENT, payload, source="store")
                except Exception:
                    # Others catch up by reconciliation (their gap, or their interval).
                    logger.exception(
                        "entity client %s: publishing sync event %s failed",
                        self._writer,
                        payload["seq"],
                    )
            self._last_emit = time.monotonic()
        return joined

    def _publish_loop(self, window: float) -> None:
        """Writes that could not leave at once (see the module docstring)."""
        while True:
            with self._wake:
                self._waiting = True
                while not self._outgoing and not self._stopping:
                    self._wake.wait(0.1)
                self._waiting = False
                if self._stopping:
                    return  # close() publishes what is left
            end = self._last_emit + window
            if len(self._outgoing) == 1 and time.monotonic() >= self._burst_until:
                # One write that met a busy bus: it leaves when the bus has delivered what is
                # in flight (Nagle), or at the window's end; writes arriving meanwhile join it.
                while (
                    self._in_flight()
                    and len(self._outgoing) == 1
                    and time.monotonic() < end
                    and not self._stopping
                ):
                    time.sleep(_IN_FLIGHT_POLL)
                if len(self._outgoing) > 1:
                    self._sleep_until(end)
            else:
                self._sleep_until(end)
            if self._outgoing:  # a writer may have sent them meanwhile
                joined = self._emit_pending(merge=True)
                if joined > 1:  # a burst: the next writes wait for the window too
                    self._burst_until = self._last_emit + window

    def _sleep_until(self, end: float) -> None:
        wait = end - time.monotonic()
        if wait > 0:
            time.sleep(wait)

    # -- receiving ------------------------------------------------------------------------

    def _on_event(self, event: Any) -> None:
        data = getattr(event, "data", event)
        if not isinstance(data, Mapping) or data.get("prefix") != self._prefix:
            return
        writer = data.get("writer")
        seq = data.get("seq")
        changes = data.get("changes")
        if (
            writer == self._writer
            or not isinstance(writer, str)
            or not isinstance(seq, int)
            or not isinstance(changes, list)
        ):
            return
        host = self._host
        conflicts: list[SyncConflict] = []
        with host._lock:
            if host.is_disposed or self._closed.is_set():
                return
            last = self._last_seen.get(writer)
            if last is not None and seq <= last:
                return  # delivered twice
            self._last_seen[writer] = seq
            notes: list[Note] = []
            if last is not None and seq > last + 1:
                # Events were lost: storage has them (and this one's write) already.
                self.gaps += 1
                notes += self._reconcile_locked(conflicts)
            shown, reread = self._apply(changes, data.get("kind") == "flush", conflicts)
            notes += shown
            if not notes:
                notes += self._confirm(reread, conflicts)
                reread = []
        self._finish(notes, conflicts)
        if reread:
            # The subscribers heard the payload; now storage has the last word.
            conflicts = []
            with host._lock:
                if host.is_disposed or self._closed.is_set():
                    return
                notes = self._confirm(reread, conflicts)
            self._finish(notes, conflicts)

    def _apply(
        self, changes: list[Any], flush: bool, conflicts: list[SyncConflict]
    ) -> tuple[list[Note], list[tuple[StoreHandle, str, str]]]:
        """Apply what an event's payload can show now; return its notes and what to re-read.

        A ``queue`` hint is applied (storage does not hold it yet). A ``direct`` write's
        ``after`` is applied when its version is above the local one, so subscribers hear it
        without waiting for a storage read; every key but a hint's is then re-read
        (``_confirm``), and storage's value replaces a payload that lost a race.
        """
        persistence = self._persistence
        # The last change about an entity decides (a coalesced event may name one twice).
        last: dict[str, tuple[StoreHandle, str, str, Any]] = {}
        for change in changes:
            if not isinstance(change, Mapping):
                continue
            store, entity_id = change.get("store"), change.get("id")
            if not isinstance(store, str) or not isinstance(entity_id, str):
                continue
            handle = self._host._hydrated(store)
            if handle is None:
                continue  # hydrates from storage on first use
            key = persistence.entity_key(store, entity_id)
            strategy = "flush" if flush else change.get("strategy")
            last.pop(key, None)
            last[key] = (handle, entity_id, strategy if isinstance(strategy, str) else "", change)
        if not last:
            return [], []
        pending = persistence.pending_keys()
        targets: list[tuple[StoreHandle, str, str, dict[str, Any] | None]] = []
        reread: list[tuple[StoreHandle, str, str]] = []
        for key, (handle, entity_id, strategy, change) in last.items():
            after = change.get("after")
            if strategy != "queue":
                reread.append((handle, entity_id, key))
                if (
                    strategy == "direct"
                    and key not in pending
                    and _newer(after, handle.entities.get(entity_id))
                ):
                    targets.append((handle, entity_id, key, dict(after)))
                continue
            value = dict(after) if isinstance(after, Mapping) else None
            if key in pending:
                # Our own unflushed write: kept here; the later flush decides in storage.
                local = handle.entities.get(entity_id)
                if local != value:
                    conflicts.append(SyncConflict(handle.name, entity_id, local, value, "local"))
                continue
            targets.append((handle, entity_id, key, value))
        return self._set(targets, "remote", conflicts), reread

    def _confirm(
        self, reread: list[tuple[StoreHandle, str, str]], conflicts: list[SyncConflict]
    ) -> list[Note]:
        """Apply what storage holds for ``reread`` (this client's unflushed records laid over)."""
        if not reread:
            return []
        current = self._persistence.read_current([key for _h, _i, key in reread])
        targets: list[tuple[StoreHandle, str, str, dict[str, Any] | None]] = []
        for handle, entity_id, key in reread:
            raw = current.get(key)
            targets.append((handle, entity_id, key, None if raw is None else decode_entity(raw)))
        return self._set(targets, "remote", conflicts)

    def _set(
        self,
        targets: Iterable[tuple[StoreHandle, str, str, dict[str, Any] | None]],
        operation: str,
        conflicts: list[SyncConflict],
    ) -> list[Note]:
        changed: dict[str, list[str]] = {}
        for handle, entity_id, key, value in targets:
            current = handle.entities.get(entity_id)
            if current == value:
                continue
            if key in self._mine and self._mine[key] == current:
                conflicts.append(SyncConflict(handle.name, entity_id, current, value))
                del self._mine[key]
            handle.set_state(entity_id, value)
            changed.setdefault(handle.name, []).append(entity_id)
        return [
            (name, operation, tuple(dict.fromkeys(ids)), "sync") for name, ids in changed.items()
        ]

    def _finish(self, notes: list[Note], conflicts: list[SyncConflict]) -> None:
        hook = self._on_conflict
        if hook is not None:
            for conflict in conflicts:
                try:
                    hook(conflict)
                except Exception:
                    logger.exception("on_conflict raised for %s/%s", conflict.store, conflict.id)
        if notes:
            self._host._notify_all(notes, remote=True)

    # -- reconciliation -------------------------------------------------------------------

    def reconcile(self) -> int:
        """Reload every hydrated store from storage and apply the difference; return its size."""
        conflicts: list[SyncConflict] = []
        with self._host._lock:
            if self._host.is_disposed:
                return 0
            notes = self._reconcile_locked(conflicts)
        self._finish(notes, conflicts)
        return sum(len(ids) for _n, _o, ids, _s in notes)

    def _reconcile_locked(self, conflicts: list[SyncConflict]) -> list[Note]:
        self.reconciliations += 1
        persistence = self._persistence
        targets: list[tuple[StoreHandle, str, str, dict[str, Any] | None]] = []
        for handle in self._host._hydrated_handles():
            fresh = persistence.load_store(handle.name)
            for entity_id in [i for i in handle.entities if i not in fresh]:
                targets.append(
                    (handle, entity_id, persistence.entity_key(handle.name, entity_id), None)
                )
            for entity_id in sorted(fresh):
                key = persistence.entity_key(handle.name, entity_id)
                targets.append((handle, entity_id, key, fresh[entity_id]))
        return self._set(targets, "reconcile", conflicts)

    def _run(self, interval: float) -> None:
        while not self._closed.wait(interval):
            try:
                self.drain()
                self.reconcile()
            except Exception:
                logger.exception("entity client %s: reconciliation failed", self._writer)

    # -- lifecycle ------------------------------------------------------------------------

    def close(self) -> None:
        """Publish what is queued, unsubscribe, stop the reconciliation thread (idempotent)."""
        if self._closed.is_set():
            return
        self._closed.set()
        publisher = self._publisher
        if publisher is not None:
            with self._wake:
                self._stopping = True
                self._wake.notify_all()
            if publisher is not threading.current_thread():
                publisher.join()
        self.publish_now()
        try:
            self._unsubscribe()
        except Exception:
            logger.exception("entity client %s: unsubscribing from the bus failed", self._writer)
        thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join()
