"""A bridged process for the multi-process bridge tests (run as a script, never imported).

python _bridge_child.py peer <url> <name> <count> <expect>
    bridges a bus, prints "ready", waits for a line on stdin, emits <count> events
    "peer.<name>" with data {"from": name, "n": n}, waits until <expect> events from the other
    processes arrived, prints them as one JSON line [[from, n, origin, seq], ...], closes
python _bridge_child.py stream <url> <name>
    bridges a bus, prints "ready", emits "tick" {"n": n} until a line arrives on stdin (every 50
    events it waits until they are acknowledged), then prints "emitted <total>" and closes
python _bridge_child.py late <url>
    bridges a bus, subscribes "tick" with replay=True, prints "subscribed", reads the expected
    count from stdin, waits for that many, prints [n, ...] as one JSON line
python _bridge_child.py kill-me <url>
    publishes batches of BATCH events straight through the SQLite transport forever, printing
    "ack <batch>" after each publish returned (the parent SIGKILLs it mid-write)
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from atomiton.events import Event, EventBus, WireEvent, connect_bus

BATCH = 20
WAIT = 60.0


def payload(event_id: str) -> bytes:
    """The one data a kill-me event with ``event_id`` carries (large enough to span pages)."""
    return json.dumps({"id": event_id, "fill": event_id * (4000 // len(event_id))}).encode()


class Inbox:
    def __init__(self) -> None:
        self.events: list[Event] = []
        self.changed = threading.Condition()

    def __call__(self, event: Event) -> None:
        with self.changed:
            self.events.append(event)
            self.changed.notify_all()

    def wait_for(self, count: int) -> list[Event]:
        with self.changed:
            if not self.changed.wait_for(lambda: len(self.events) >= count, WAIT):
                raise SystemExit(f"got {len(self.events)} of {count} events")
            return list(self.events)


def peer(url: str, name: str, count: int, expect: int) -> None:
    bus = EventBus(history_limit=0)
    inbox = Inbox()
    bus.on("peer.*", inbox)
    with connect_bus(bus, url):
        print("ready", flush=True)
        sys.stdin.readline()
        for n in range(count):
            bus.emit(f"peer.{name}", {"from": name, "n": n})
        got = [e for e in inbox.wait_for(count + expect) if e.origin is not None]
        own = [e for e in inbox.events if e.origin is None]
        assert len(own) == count, len(own)
        rows: list[Any] = [[e.data["from"], e.data["n"], e.origin, e.seq] for e in got]
        print(json.dumps(rows), flush=True)


def stream(url: str) -> None:
    bus = EventBus(history_limit=0)
    stop = threading.Event()

    def wait_for_stop() -> None:
        sys.stdin.readline()
        stop.set()

    threading.Thread(target=wait_for_stop, daemon=True).start()
    with connect_bus(bus, url, subscribe=[]) as bridge:
        print("ready", flush=True)
        n = 0
        while not stop.is_set():
            bus.emit("tick", {"n": n})
            n += 1
            if n % 50 == 0 and not bridge.flush(WAIT):
                raise SystemExit("events were not acknowledged")
        print(f"emitted {n}", flush=True)


def late(url: str) -> None:
    bus = EventBus(history_limit=1_000_000)
    inbox = Inbox()
    with connect_bus(bus, url, publish=[]):
        bus.on("tick", inbox, replay=True)
        print("subscribed", flush=True)
        expect = int(sys.stdin.readline())
        events = inbox.wait_for(expect)
        print(json.dumps([e.data["n"] for e in events]), flush=True)


def kill_me(url: str) -> None:
    from atomiton.events._sqlite_transport import create

    transport = create(url, stream="atomiton", on_error=lambda error: None)
    batch = 0
    while True:
        ids = [f"killer:{batch}:{i}" for i in range(BATCH)]
        transport.publish(
            [WireEvent(i, "crash.test", payload(i), None, 0.0, "killer") for i in ids]
        )
        print(f"ack {batch}", flush=True)
        batch += 1


def main() -> None:
    mode, url, *rest = sys.argv[1:]
    if mode == "peer":
        peer(url, rest[0], int(rest[1]), int(rest[2]))
    elif mode == "stream":
        stream(url)
    elif mode == "late":
        late(url)
    elif mode == "kill-me":
        kill_me(url)
    else:
        raise SystemExit(f"unknown mode {mode!r}")


if __name__ == "__main__":
    main()
