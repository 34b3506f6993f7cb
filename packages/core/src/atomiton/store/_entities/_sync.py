"""Entity clients kept in sync across processes over a bus (``create_client(sync=bus)``).

The mode is *shared storage*: every synced client uses the same storage and key prefix. After a
write or batch commits (the storage write returned for ``direct``, the outbox append for
``queue``) the client publishes one ``store.sync.entities`` event naming the changed entities;
when its outbox flush moves records to entity keys it publishes one naming those keys.

A receiver does not trust the payload of a storage write: it re-reads the named keys from
storage (one ``read_many`` per event, under its client lock) and applies what storage holds.
Storage serialises writes, and every storage write of an entity key is followed by an event
naming the key, so the last event about a key makes every client read the last value written:
all converge to storage (*the last write committed to storage wins*). A ``queue`` write's
``after`` is applied at once as a hint; the flush event that follows re-reads it.

Per-writer sequence numbers reveal lost events (a gap) and trigger a reconciliation: every
hydrated store is reloaded from storage and the difference applied. It also runs every
``reconcile_interval`` seconds, which bounds how stale a client can be when a writer died between
its storage write and its publish.

Events are numbered when emitted, in the order the writes committed. By default the writing
thread emits its event right after the commit; with ``coalesce`` a publisher thread emits, and
in a burst joins everything queued into one event at most once per window.

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

__all__ = ["SYNC_EVENT", "EntitySync", "SyncBus", "SyncConflict", "SyncHost"]

logger = logging.getLogger(__name__)

SYNC_EVENT = "store.sync.entities"
"""The event type a synced client publishes (and listens to)."""

_MINE_LIMIT = 65_536  # entity keys whose last local write is remembered for conflict reports
_MERGE_LIMIT = 256  # queued events a coalescing publisher joins into one at most

Note = tuple[str, str, tuple[str, ...], str]


@runtime_checkable
class SyncBus(Protocol):
    """What ``sync=`` takes: a bridged ``atomiton.events.EventBus`` or anything shaped like it.

    ``emit`` is ``atomiton.platform.EventSink``'s; ``on(pattern, handler)`` subscribes
    ``handler(event)`` (an object with a ``data`` attribute, or the data itself) and returns a
    callable that unsubscribes. Events from other processes must reach ``on`` handlers.
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
        # With ``coalesce``: a publisher thread; writes queued while it is busy (or within
        # ``coalesce`` seconds of its last event) go out together as one event.
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
        """Publish the queued events (or wake the publisher thread); call it holding no lock.

        Never called under a lock: another client in this process may be subscribed to the
        same bus, and its handler takes its own lock.
        """
        if self._publisher is not None:
            if self._waiting and self._outgoing:
                with self._wake:
                    self._wake.notify()
            return
        while self._outgoing:
            self._emit_pending(merge=False)

    def publish_now(self) -> None:
        """Publish everything queued before returning (``client.flush()``, ``close()``)."""
        while self._outgoing:
            self._emit_pending(merge=self._publisher is not None)

    def _emit_pending(self, merge: bool) -> int:
        """Emit what is queued; return how many queued events the last emitted one joined."""
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
        return joined

    def _publish_loop(self, window: float) -> None:
        last, joined = 0.0, 0
        while True:
            with self._wake:
                self._waiting = True
                while not self._outgoing and not self._stopping:
                    self._wake.wait(0.1)
                self._waiting = False
                if self._stopping:
                    return  # close() publishes what is left
            # In a burst (the previous event joined several writes, or several wait now) at
            # most one event per window: the rest of the window after the previous event, then
            # everything queued leaves as one event. Writes one at a time go out at once.
            if joined > 1 or len(self._outgoing) > 1:
                wait = window - (time.monotonic() - last)
                if wait > 0:
                    time.sleep(wait)
            joined = self._emit_pending(merge=True)
            last = time.monotonic()

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
            notes += self._apply(changes, data.get("kind") == "flush", conflicts)
        self._finish(notes, conflicts)

    def _apply(self, changes: list[Any], flush: bool, conflicts: list[SyncConflict]) -> list[Note]:
        persistence = self._persistence
        # The last change about an entity decides (a coalesced event may name one twice): a
        # hint, or a re-read of storage.
        last: dict[str, tuple[StoreHandle, str, bool, dict[str, Any] | None]] = {}
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
            after = change.get("after")
            hint = not flush and change.get("strategy") == "queue"
            value = dict(after) if hint and isinstance(after, Mapping) else None
            last.pop(key, None)
            last[key] = (handle, entity_id, hint, value)
        if not last:
            return []
        reread = [(h, i, key) for key, (h, i, hint, _v) in last.items() if not hint]
        hints = [(h, i, key, v) for key, (h, i, hint, v) in last.items() if hint]
        with persistence.lock:
            keys = [key for _h, _i, key in reread]
            stored = persistence.storage.read_many(keys) if keys else {}
            pending: dict[str, bytes | None] = {}
            for _record, items in persistence.pending:
                pending.update(items)
        targets: list[tuple[StoreHandle, str, str, dict[str, Any] | None]] = []
        for handle, entity_id, key in reread:
            raw = pending[key] if key in pending else stored.get(key)
            targets.append((handle, entity_id, key, None if raw is None else decode_entity(raw)))
        for handle, entity_id, key, after in hints:
            if key in pending:
                # Our own unflushed write: kept here; the later flush decides in storage.
                local = handle.entities.get(entity_id)
                if local != after:
                    conflicts.append(SyncConflict(handle.name, entity_id, local, after, "local"))
                continue
            targets.append((handle, entity_id, key, after))
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
