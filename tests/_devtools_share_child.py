"""A child process of the cross-process inspector test: an app sharing its DevTools timeline.

Run as ``python _devtools_share_child.py <bus url> <name>``. It bridges an event bus to the
stream at ``<bus url>``, attaches a store and the bus to DevTools, shares the timeline, prints
``ready <bridge origin>`` and then answers one line per command on stdin:

- ``set <n>``: writes the atom ``count`` = n, answers ``done``;
- ``emit <type>``: emits an event of that type, answers ``done``;
- ``job <n>``: runs a job doubling n on thread workers and waits for it, answers ``done``;
- ``quit``: flushes the bridge, closes everything and exits.
"""

from __future__ import annotations

import sys

from atomiton.devtools import DevTools
from atomiton.events import EventBus, connect_bus
from atomiton.execution import ThreadWorkers
from atomiton.store import atom, create_store


def double(n: int) -> int:
    """The child's job."""
    return n * 2


def main(url: str, name: str) -> None:
    bus = EventBus()
    count = atom(0, name="count")
    store = create_store()
    workers = ThreadWorkers(max_workers=1)
    with connect_bus(bus, url) as bridge, DevTools() as devtools:
        devtools.attach(workers, name="workers")
        devtools.attach(store, name=name)
        devtools.attach(bus, name="events")
        devtools.share(bus)
        print(f"ready {bridge.origin}", flush=True)
        for line in sys.stdin:
            command, _, argument = line.strip().partition(" ")
            if command == "set":
                store.set(count, int(argument))
            elif command == "emit":
                bus.emit(argument, {"from": name}, source=name)
            elif command == "job":
                workers.schedule(double, args=(int(argument),), name="double").result(timeout=10)
            elif command == "quit":
                bridge.flush(timeout=10)
                break
            bridge.flush(timeout=10)
            print("done", flush=True)
    workers.shutdown()


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
