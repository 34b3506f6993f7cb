"""``DevTools``: attach stores, entity clients, event buses and workers; one timeline; time travel.

Attaching adds exactly one hook to the attached object (a store plugin, an entity-client observer,
one ``bus.on("**")`` subscription, one job listener) and ``detach`` removes it, so an app pays
nothing for devtools until it attaches them and nothing after it detaches.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from typing import Any

from atomiton.devtools._atom_history import HistoryPoint
from atomiton.devtools._errors import AttachError, ImportDataError, TimeTravelError
from atomiton.devtools._http_guard import DEFAULT_MAX_BODY_BYTES
from atomiton.devtools._profile import OperationStats
from atomiton.devtools._recorder import Recorder
from atomiton.devtools._server import InspectorServer
from atomiton.devtools._timeline import Timeline
from atomiton.devtools._track_atoms import AtomStoreAttachment
from atomiton.devtools._track_entities import EntityClientAttachment
from atomiton.devtools._track_events import EventBusAttachment
from atomiton.devtools._track_hubs import HubAttachment
from atomiton.devtools._track_jobs import WorkersAttachment
from atomiton.store import Atom

EXPORT_FORMAT = "atomiton-devtools"
EXPORT_VERSION = 1
_VIEW_ENTRIES = 300

Attachment = (
    AtomStoreAttachment
    | EntityClientAttachment
    | EventBusAttachment
    | WorkersAttachment
    | HubAttachment
)


class DevTools:
    """One timeline and time travel across everything attached to it.

    Args:
        entry_limit: size of the timeline ring (oldest entries are dropped first).
        history_limit: history points kept per atom store for undo / redo / jump_to.
        event_limit: recent events kept for the inspector's event stream.

    Example:
        >>> from atomiton.store import atom, create_store
        >>> count = atom(0, name="count")
        >>> store = create_store()
        >>> dt = DevTools()
        >>> dt.attach(store, name="ui")
        'ui'
        >>> store.set(count, 1)
        >>> dt.state("ui")
        {'count': 1}
        >>> dt.undo("ui"), store.get(count)
        (True, 0)
        >>> dt.close()
    """

    def __init__(
        self, *, entry_limit: int = 10_000, history_limit: int = 1_000, event_limit: int = 500
    ) -> None:
        for option, value, least in (
            ("entry_limit", entry_limit, 1),
            ("history_limit", history_limit, 2),
            ("event_limit", event_limit, 1),
        ):
            # bool is an int to Python, and a float would reach deque(maxlen=...) as a late error.
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"DevTools {option} must be an integer, got {value!r}")
            if value < least:
                raise ValueError(f"DevTools {option} must be >= {least}, got {value!r}")
        self._recorder = Recorder(entry_limit=entry_limit, event_limit=event_limit)
        self._history_limit = history_limit
        self._attached: dict[str, Attachment] = {}
        self._imported: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._servers: list[InspectorServer] = []
        self._shares: list[Any] = []

    # -- attaching ------------------------------------------------------------------------------
    def attach(
        self, target: Any, name: str | None = None, *, atoms: Iterable[Atom[Any]] = ()
    ) -> str:
        """Start observing ``target`` and return the name it is known by.

        ``target`` may be an atom store (anything with ``use`` and ``snapshot``), an entity client
        (``atomiton.store.create_client``), an event bus (``on`` and ``emit``), workers
        (``add_job_listener``) or a ``StoreHub`` (its instances, states, ref-counts and errors;
        lifecycle changes become ``"hub"`` timeline entries).

        Args:
            target: what to observe.
            name: the name to show it under (default: by kind, ``store``, ``entities``...).
            atoms: atom store only: more atoms to show with their current values, typically
                derived atoms (shown read-only). Atoms registered to the store
                (``store.registry``) and primitive atoms written in it are shown without this.
                Held weakly.

        Raises:
            AttachError: the object is of none of these kinds, is already attached, or the name is
                taken; ``atoms`` holds something that is not an atom, or was given for something
                other than an atom store.
        """
        shown = list(atoms)
        for item in shown:
            if not isinstance(item, Atom):
                raise AttachError(f"atoms= takes atoms, got a {type(item).__name__}")
        with self._lock:
            if any(a.target is target for a in self._attached.values()):
                raise AttachError(f"{type(target).__name__} object is already attached")
            kind = _kind_of(target)
            if kind is None:
                raise AttachError(
                    f"cannot attach a {type(target).__name__}: expected an atom store, an entity "
                    "client, an event bus, workers or a store hub"
                )
            if shown and kind != "store":
                raise AttachError(
                    f"atoms= is only for atom stores; {type(target).__name__} is not one"
                )
            name = name or self._default_name(kind)
            if name in self._attached:
                raise AttachError(f"the name {name!r} is already attached; pass name=...")
            attachment: Attachment
            if kind == "store":
                attachment = AtomStoreAttachment(
                    name, target, self._recorder, self._history_limit, shown
                )
            elif kind == "client":
                attachment = EntityClientAttachment(name, target, self._recorder)
            elif kind == "bus":
                attachment = EventBusAttachment(name, target, self._recorder)
            elif kind == "hub":
                attachment = HubAttachment(name, target, self._recorder)
            else:
                attachment = WorkersAttachment(name, target, self._recorder)
            self._attached[name] = attachment
            self._imported.pop(name, None)
        self._recorder.touch()
        return name

    def _default_name(self, kind: str) -> str:
        base = {
            "store": "store",
            "client": "entities",
            "bus": "events",
            "workers": "workers",
            "hub": "hub",
        }[kind]
        if base not in self._attached:
            return base
        number = 2
        while f"{base}-{number}" in self._attached:
            number += 1
        return f"{base}-{number}"

    def detach(self, target: Any = None) -> None:
        """Remove every hook of one attached object (by object or name), or of all of them."""
        with self._lock:
            if target is None:
                chosen = list(self._attached)
            elif isinstance(target, str):
                if target not in self._attached:
                    raise AttachError(f"nothing is attached under the name {target!r}")
                chosen = [target]
            else:
                chosen = [n for n, a in self._attached.items() if a.target is target]
                if not chosen:
                    raise AttachError(f"this {type(target).__name__} object is not attached")
            removed = [self._attached.pop(name) for name in chosen]
        for attachment in removed:
            attachment.detach()
        self._recorder.touch()

    @property
    def attached(self) -> dict[str, str]:
        """What is attached: name -> kind (``store``, ``client``, ``bus``, ``workers``, ``hub``)."""
        with self._lock:
            return {name: a.kind for name, a in self._attached.items()}

    def share(self, bus: Any) -> None:
        """Make one timeline across processes over ``bus``, a bus bridged with ``connect_bus``.

        This process's atom, entity, job and hub entries are emitted on ``bus`` as
        ``devtools.entry`` events, and the entries every other sharing process emits are recorded
        here marked with their ``origin`` (the sender's bridge id, as on ``Event.origin``). Events
        need no sharing: attach ``bus`` too and the bridged ones are recorded with their origin.
        The inspector filters by origin; entries from elsewhere cannot be jumped to. Undone by
        ``close()``.

        Raises:
            AttachError: ``bus`` has no ``on``/``emit``, or this DevTools already shares it.
        """
        from atomiton.devtools._share import TimelineShare

        if not (callable(getattr(bus, "on", None)) and callable(getattr(bus, "emit", None))):
            raise AttachError(f"share() takes an event bus, got a {type(bus).__name__}")
        with self._lock:
            if any(existing.bus is bus for existing in self._shares):
                raise AttachError("this bus is already shared")
            self._shares.append(TimelineShare(bus, self._recorder))

    # -- reading ---------------------------------------------------------------------------
    @property
    def timeline(self) -> Timeline:
        """Every atom write, entity mutation, event and job transition, in arrival order."""
        return self._recorder.timeline

    @property
    def revision(self) -> int:
        """A counter that grows whenever anything observed changes (the inspector polls it).

        Reading it also looks at attached store hubs, which have no change hook.
        """
        with self._lock:
            hubs = [a for a in self._attached.values() if isinstance(a, HubAttachment)]
        for hub in hubs:
            hub.poll()
        return self._recorder.revision

    def state(self, name: str) -> dict[str, Any]:
        """Return current values by atom name (atom store) or entity counts per store (client).

        For an atom store: the primitive atoms written in it, the atoms registered to it and the
        atoms passed to ``attach(..., atoms=...)``, derived ones included (a derived read that
        fails shows as ``"<ErrorType: message>"``).
        """
        attachment = self._attached.get(name)
        if isinstance(attachment, AtomStoreAttachment | EntityClientAttachment):
            return attachment.state()
        if name in self._imported:
            imported = self._imported[name]
            if imported["kind"] == "client":
                return dict(imported["state"])
            return dict(imported["history"].point(imported["history"].position).state)
        raise AttachError(f"no store or entity client is attached under the name {name!r}")

    def profile(self) -> dict[str, OperationStats]:
        """Counts and latency percentiles per operation: store writes, storage ops, jobs."""
        return self._recorder.profiler.stats()

    def jobs(self) -> list[dict[str, Any]]:
        """The jobs seen through attached workers, with status and progress."""
        return self._recorder.known_jobs()

    def events(self) -> list[dict[str, Any]]:
        """The most recent events seen on attached buses, oldest first."""
        return self._recorder.recent_events()

    # -- time travel ----------------------------------------------------------------------------
    def _atom_store(self, name: str) -> AtomStoreAttachment:
        attachment = self._attached.get(name)
        if isinstance(attachment, AtomStoreAttachment):
            return attachment
        raise TimeTravelError(f"no atom store is attached under the name {name!r}")

    def undo(self, name: str) -> bool:
        """Step back once; False if there is nothing to undo.

        For an atom store this restores the previous history point; for an entity client it
        undoes the last whole user write (``client.history.undo()``), which is persisted and
        emitted like any other write.
        """
        attachment = self._attached.get(name)
        if isinstance(attachment, EntityClientAttachment):
            changed = attachment.undo()
            self._recorder.touch()
            return changed
        return self._atom_store(name).undo()

    def redo(self, name: str) -> bool:
        """Step forward once after an undo (atom store or entity client); False if none."""
        attachment = self._attached.get(name)
        if isinstance(attachment, EntityClientAttachment):
            changed = attachment.redo()
            self._recorder.touch()
            return changed
        return self._atom_store(name).redo()

    def jump_to(self, name: str, index: int) -> bool:
        """Restore store ``name`` to history position ``index`` (a timeline entry's ``position``).

        Raises:
            TimeTravelError: no such store, or the position is not (or no longer) kept.
        """
        return self._atom_store(name).jump_to(index)

    def set_value(self, name: str, atom: str, value: Any) -> None:
        """Write ``value`` into the primitive atom named ``atom`` of store ``name``.

        The write goes through ``store.set``, so plugins, subscribers and the store's history
        see it like any write of the app (it becomes a timeline entry and can be undone).

        Raises:
            TimeTravelError: no atom store is attached under ``name``.
            EditError: ``atom`` names no primitive atom devtools knows in that store (a derived
                atom, or one never written since attaching), or the store refused the value.
        """
        self._atom_store(name).set_value(atom, value)

    # -- recording --------------------------------------------------------------------------
    @property
    def paused(self) -> bool:
        """Whether recording is paused (see ``pause``)."""
        return self._recorder.paused

    def pause(self) -> bool:
        """Stop recording: nothing new reaches the timeline, event list or store histories.

        The app runs on untouched (jobs and entity counts stay live). Returns False if recording
        was already paused.
        """
        return self._recorder.pause(True)

    def resume(self) -> bool:
        """Start recording again after ``pause``; returns False if it was not paused."""
        return self._recorder.pause(False)

    def timeline_page(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        before: int | None = None,
        kind: str | None = None,
        source: str | None = None,
        origin: str | None = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        """One page of the timeline for the inspector, newest page first (see ``Timeline.page``).

        Returns:
            ``entries`` (oldest first), ``matched`` (entries matching the filters), ``kept``
            (entries in the ring), ``entry_limit``, ``newest`` (the newest seq, or -1) and the
            ``sources`` and ``origins`` present, for the filters.
        """
        timeline = self.timeline
        entries, matched = timeline.page(
            offset=offset,
            limit=limit,
            before=before,
            kind=kind,
            source=source,
            origin=origin,
            text=text,
        )
        kept = timeline.entries()
        return {
            "entries": [entry.to_dict() for entry in entries],
            "matched": matched,
            "kept": len(kept),
            "entry_limit": timeline.entry_limit,
            "newest": kept[-1].seq if kept else -1,
            **timeline.facets(),
        }

    def history(self, name: str) -> list[HistoryPoint]:
        """The kept history points of atom store ``name``, oldest first."""
        return self._atom_store(name).history.points()

    # -- export / import -------------------------------------------------------------------------
    def export(self) -> dict[str, Any]:
        """Return the state, the per-store histories and the timeline as JSON-safe data."""
        from atomiton.devtools._exchange import export_data

        return export_data(self, self._attached, self._imported)

    def import_(self, data: Mapping[str, Any]) -> None:
        """Load an ``export()``: the timeline, and each store's history and current state.

        A store attached under the same name is restored to the exported state (by atom name);
        other stores are kept read-only so ``state()`` and the inspector still show them.

        Raises:
            ImportDataError: ``data`` is not an export of this format and version.
        """
        from atomiton.devtools._exchange import import_data

        if not isinstance(data, Mapping) or data.get("format") != EXPORT_FORMAT:
            raise ImportDataError("not a DevTools export (expected format 'atomiton-devtools')")
        version = data.get("version")
        if isinstance(version, bool) or version != EXPORT_VERSION:
            raise ImportDataError(
                f"DevTools export version {version!r} is not supported "
                f"(this is version {EXPORT_VERSION})"
            )
        import_data(data, self._recorder, self._attached, self._imported)

    # -- the inspector --------------------------------------------------------------------------
    def view(self) -> dict[str, Any]:
        """Return everything the inspector page shows, as JSON-safe data."""
        with self._lock:
            attached = list(self._attached.values())
            imported = dict(self._imported)
        stores = [a.view() for a in attached if isinstance(a, AtomStoreAttachment)]
        for name, record in imported.items():
            if record["kind"] != "store":
                continue
            history = record["history"]
            outline = history.outline()
            stores.append(
                {
                    "name": name,
                    "atoms": history.point(history.position).state if outline else {},
                    "derived": [],  # an export holds primitives only
                    "position": history.position,
                    "first": outline[0][0] if outline else 0,
                    "history": [{"position": pos, "label": label} for pos, label in outline],
                    "can_undo": False,
                    "can_redo": False,
                    "imported": True,
                }
            )
        entities = [
            view for a in attached if isinstance(a, EntityClientAttachment) for view in a.view()
        ]
        return {
            "revision": self.revision,
            "paused": self.paused,
            "attached": {a.name: a.kind for a in attached},
            "stores": stores,
            "entities": entities,
            "timeline": [e.to_dict() for e in self.timeline.entries(limit=_VIEW_ENTRIES)],
            "events": self._recorder.recent_events()[-_VIEW_ENTRIES:],
            "jobs": self._recorder.known_jobs(),
            "hubs": [a.view() for a in attached if isinstance(a, HubAttachment)],
            "profile": [s.to_dict() for s in self.profile().values()],
        }

    def serve(
        self,
        *,
        port: int = 0,
        host: str = "127.0.0.1",
        token: str | None = None,
        allowed_hosts: Iterable[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> InspectorServer:
        """Serve the live web inspector in a background thread and return the running server.

        Args:
            port: TCP port; 0 picks a free one (read it back from ``server.port`` / ``server.url``).
            host: address to bind; anything but loopback requires ``token``.
            token: when given, every request must carry it (``?token=`` or a Bearer header).
            allowed_hosts: more names the ``Host`` header may carry (a reverse proxy's name, a
                LAN host name; ``"*"`` for any). Loopback addresses, ``localhost`` and ``host``
                are always allowed; any other ``Host`` gets 403 (DNS rebinding protection).
            max_body_bytes: the largest command body read (larger ones get 413).

        Raises:
            InspectorError: a non-loopback host without a token, the port cannot be bound, or a
                bad ``allowed_hosts`` / ``max_body_bytes``.
        """
        server = InspectorServer(
            self, host, port, token, allowed_hosts=allowed_hosts, max_body_bytes=max_body_bytes
        )
        self._servers.append(server)
        return server

    def close(self) -> None:
        """Stop every inspector started by ``serve`` and detach everything; idempotent."""
        servers, self._servers = self._servers, []
        for server in servers:
            server.close()
        with self._lock:
            shares, self._shares = self._shares, []
        for share in shares:
            share.close()
        self.detach()

    def __enter__(self) -> DevTools:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"DevTools(attached={self.attached}, timeline={len(self.timeline)} entries)"


def _kind_of(target: Any) -> str | None:
    if callable(getattr(target, "add_job_listener", None)):
        return "workers"
    if callable(getattr(target, "instances", None)) and callable(getattr(target, "retain", None)):
        return "hub"
    if callable(getattr(target, "use", None)) and callable(getattr(target, "snapshot", None)):
        return "store"
    if hasattr(target, "stores") and callable(getattr(target, "dispose", None)):
        return "client"
    if callable(getattr(target, "on", None)) and callable(getattr(target, "emit", None)):
        return "bus"
    return None
