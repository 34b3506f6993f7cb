"""A child process of the store sync tests: one synced entity client driven over stdin/stdout.

Run as ``python _store_sync_child.py entities <bus url> <stream> <storage url> <key prefix>
<reconcile interval | none> [<sync_coalesce seconds | none | default>]``. It prints ``ready``
once its client is synced and hydrated, then answers one JSON line per command line:

- ``{"op": "run", "steps": [...]}``: runs the steps (see ``run_step``), answers ``"done"``;
- ``{"op": "settle"}``: flushes the client's outbox and the bridge, answers ``"settled"``;
- ``{"op": "state"}``: answers the client's entities per store (soft-deleted included);
- ``{"op": "quit"}``: closes everything and exits.
"""

from __future__ import annotations

import json
import os
import sys
import time
from typing import Any

from atomiton.events import EventBus, connect_bus
from atomiton.storage import open_storage
from atomiton.store import (
    EntityClient,
    PrimitiveAtom,
    StoreError,
    atom,
    computed,
    create_client,
    create_store,
    sync_atoms,
)

STORES = ("Todo", "Note")


def run_step(client: EntityClient, step: list[Any]) -> None:
    """Run one schedule step; a step that does not apply to this client's state is skipped.

    ``["upsert"|"add"|"update", store, id, value, strategy]``, ``["delete", store, id, force,
    strategy]`` or ``["batch", [steps...]]``.
    """
    if step[0] == "batch":
        with client.batch():
            for inner in step[1]:
                run_step(client, inner)
        return
    kind, store_name, entity_id, value, strategy = step
    store = client.stores(store_name)
    try:
        if kind == "upsert":
            store.upsert_one({"id": entity_id, "v": value}, write_strategy=strategy)
        elif kind == "add":
            store.add_one({"id": entity_id, "v": value}, write_strategy=strategy)
        elif kind == "update":
            store.update_one(entity_id, {"v": value}, write_strategy=strategy)
        elif kind == "delete":
            store.delete_one(entity_id, force=bool(value), write_strategy=strategy)
        else:
            raise ValueError(f"unknown step {step!r}")
    except StoreError:
        pass  # e.g. updating an entity another process deleted: normal in a race


def state(client: EntityClient) -> dict[str, dict[str, Any]]:
    """The client's entities per store, by id."""
    return {
        name: {e["id"]: e for e in client.stores(name).get_all(include_deleted=True)}
        for name in STORES
    }


def _answer(value: Any) -> None:
    sys.stdout.write(json.dumps(value) + "\n")
    sys.stdout.flush()


def entities(
    bus_url: str,
    stream: str,
    storage_url: str,
    prefix: str,
    reconcile: str,
    coalesce: str = "default",
) -> None:
    storage = open_storage(storage_url)
    bus = EventBus(history_limit=0)
    bridge = connect_bus(
        bus, bus_url, stream=stream, publish=["store.sync.**"], subscribe=["store.sync.**"]
    )
    options: dict[str, Any] = {}
    if coalesce != "default":  # else the client's own publishing window
        options["sync_coalesce"] = None if coalesce == "none" else float(coalesce)
    client = create_client(
        storage,
        sync=bus,
        key_prefix=prefix,
        flush_interval=0.2,
        reconcile_interval=None if reconcile == "none" else float(reconcile),
        **options,
    )
    for name in STORES:
        client.stores(name).count()  # hydrated: remote changes apply from now on
    log_dir = os.environ.get("ATOMITON_SYNC_LOG")
    if log_dir:  # debugging aid: every sync event this process receives or sends
        log = open(os.path.join(log_dir, f"{os.getpid()}.log"), "a")  # noqa: SIM115

        def record(event: Any) -> None:
            data = event.data
            brief = [
                (c["store"], c["id"], c["strategy"], (c["after"] or {}).get("v"))
                for c in data["changes"]
            ]
            log.write(
                f"{time.time():.6f} {event.origin} {data['writer']} {data['seq']} "
                f"{data['kind']} {brief}\n"
            )
            log.flush()

        bus.on("store.sync.entities", record)
    _answer("ready")
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "run":
            for step in command["steps"]:
                run_step(client, step)
                time.sleep(command.get("pause", 0.0))
            _answer("done")
        elif op == "settle":
            client.flush()
            bridge.flush(timeout=20)
            _answer("settled")
        elif op == "state":
            _answer(state(client))
        elif op == "quit":
            break
    client.close()
    bridge.close()
    storage.close()
    _answer("bye")


def atoms(bus_url: str, stream: str) -> None:
    """``sync_atoms`` of ``theme`` and ``count``; ``label`` derives from both, and is watched.

    Commands: ``{"op": "set", "name", "value"}`` answers ``"set"``; ``{"op": "get"}`` answers
    the values and every ``label`` value its subscriber heard.
    """
    bus = EventBus(history_limit=0)
    bridge = connect_bus(
        bus, bus_url, stream=stream, publish=["store.sync.**"], subscribe=["store.sync.**"]
    )
    theme, count = atom("light", name="theme"), atom(0, name="count")
    label = computed(lambda get: f"{get(theme)}:{get(count)}")
    store = create_store()
    heard: list[str] = []
    store.subscribe(label, heard.append)
    synced = sync_atoms(store, bus, [theme, count], channel="ui")
    by_name: dict[str, PrimitiveAtom[Any]] = {"theme": theme, "count": count}
    _answer("ready")
    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "set":
            store.set(by_name[command["name"]], command["value"])
            synced.flush()
            bridge.flush(timeout=20)
            _answer("set")
        elif op == "get":
            _answer(
                {
                    "theme": store.get(theme),
                    "count": store.get(count),
                    "label": store.get(label),
                    "heard": heard,
                }
            )
        elif op == "quit":
            break
    synced.close()
    bridge.close()
    _answer("bye")


if __name__ == "__main__":
    mode, *args = sys.argv[1:]
    if mode == "entities":
        entities(*args)
    elif mode == "atoms":
        atoms(*args)
    else:
        raise SystemExit(f"unknown mode {mode!r}")
