"""The events bridge on SQLite: publish-to-remote-handler latency and throughput, in one run.

atomiton: ``bus.emit`` on one bridged bus until the handler on another bridged bus (its own
origin, its own SQLite connection and reader thread, the same file) has the event, i.e. outbox,
sender thread, commit, reader wakeup, decode, dedupe and local delivery.

The peer, ``sqlite3-raw``, is the same trip written by hand with the standard library: insert and
commit one JSON row per event, and a reader thread that selects ``seq > last`` and, when idle,
waits for ``PRAGMA data_version`` with the same back-off (every 0.2 ms for 2 ms, then doubling
to 2 ms). So the ratio
is what the bridge itself costs over the bare mechanism. Latency rounds report p50 and p99 in
``extra_info``; the throughput case sends 2000 events from 1 publisher to 2 subscribers.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from atomiton.events import EventBus, connect_bus

WAIT = 30.0
BURST = 2000


class _Arrivals:
    """Counts deliveries and lets the timing thread wait for the n-th one."""

    def __init__(self) -> None:
        self.count = 0
        self._changed = threading.Condition()

    def __call__(self, _event: object) -> None:
        with self._changed:
            self.count += 1
            self._changed.notify_all()

    def wait_for(self, count: int) -> None:
        with self._changed:
            if not self._changed.wait_for(lambda: self.count >= count, WAIT):
                raise AssertionError(f"only {self.count} of {count} events arrived")


class _RawSqlite:
    """The hand-written peer: one table, commit per insert, a polling reader per subscriber."""

    def __init__(self, path: Path, subscribers: int) -> None:
        self._path = path
        self._writer = self._connect()
        self._writer.execute(
            "CREATE TABLE IF NOT EXISTS raw_events "
            "(seq INTEGER PRIMARY KEY AUTOINCREMENT, type TEXT NOT NULL, data BLOB NOT NULL)"
        )
        self._closed = threading.Event()
        self.arrivals = [_Arrivals() for _ in range(subscribers)]
        # The start position is read before the readers run: nothing published later is missed.
        start = self._writer.execute("SELECT coalesce(max(seq), 0) FROM raw_events").fetchone()[0]
        self._threads = [
            threading.Thread(target=self._read, args=(arrivals, start), daemon=True)
            for arrivals in self.arrivals
        ]
        for thread in self._threads:
            thread.start()

    def _connect(self) -> sqlite3.Connection:
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode = WAL")
        connection.execute("PRAGMA synchronous = NORMAL")
        return connection

    def publish(self, event_type: str, data: Any) -> None:
        self._writer.execute("BEGIN IMMEDIATE")
        self._writer.execute(
            "INSERT INTO raw_events (type, data) VALUES (?, ?)",
            (event_type, json.dumps(data).encode()),
        )
        self._writer.execute("COMMIT")

    def _read(self, deliver: Callable[[object], None], last: int) -> None:
        connection = self._connect()
        while not self._closed.is_set():
            version = connection.execute("PRAGMA data_version").fetchone()[0]
            rows = connection.execute(
                "SELECT seq, type, data FROM raw_events WHERE seq > ? ORDER BY seq LIMIT 512",
                (last,),
            ).fetchall()
            for seq, event_type, data in rows:
                deliver((event_type, json.loads(data)))
                last = seq
            if rows:
                continue
            wait, checks = 0.0002, 0
            while not self._closed.wait(wait):
                if connection.execute("PRAGMA data_version").fetchone()[0] != version:
                    break
                checks += 1
                if checks >= 10:
                    wait = min(wait * 2, 0.002)
        connection.close()

    def close(self) -> None:
        self._closed.set()
        for thread in self._threads:
            thread.join()
        self._writer.close()


class _Bridged:
    """atomiton: one publishing bus and ``subscribers`` receiving buses, each bridged."""

    def __init__(self, path: Path, subscribers: int) -> None:
        url = f"sqlite://{path}"
        self._publisher = EventBus(history_limit=0)
        self._bridges = [connect_bus(self._publisher, url, subscribe=[])]
        self.arrivals = [_Arrivals() for _ in range(subscribers)]
        for arrivals in self.arrivals:
            bus = EventBus(history_limit=0)
            bus.on("bench.*", arrivals)
            self._bridges.append(connect_bus(bus, url, publish=[]))

    def publish(self, event_type: str, data: Any) -> None:
        self._publisher.emit(event_type, data)

    def close(self) -> None:
        for bridge in self._bridges:
            bridge.close()


PEERS: dict[str, Callable[[Path, int], Any]] = {"atomiton": _Bridged, "sqlite3-raw": _RawSqlite}


@pytest.fixture(params=list(PEERS))
def impl(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def one_subscriber(impl: str, tmp_path: Path) -> Iterator[Any]:
    setup = PEERS[impl](tmp_path / "events.db", 1)
    yield setup
    setup.close()


@pytest.fixture
def two_subscribers(impl: str, tmp_path: Path) -> Iterator[Any]:
    setup = PEERS[impl](tmp_path / "events.db", 2)
    yield setup
    setup.close()


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@pytest.mark.benchmark(group="events bridge (sqlite): publish to remote handler, one event")
def test_publish_to_remote_handler_latency(
    benchmark: BenchmarkFixture, impl: str, one_subscriber: Any
) -> None:
    arrivals = one_subscriber.arrivals[0]
    samples: list[float] = []

    def one_trip() -> None:
        target = arrivals.count + 1
        start = time.perf_counter()
        one_subscriber.publish("bench.ping", {"id": 7})
        arrivals.wait_for(target)
        samples.append(time.perf_counter() - start)

    benchmark.extra_info["impl"] = impl
    benchmark.pedantic(one_trip, rounds=300, iterations=1, warmup_rounds=10)  # type: ignore[no-untyped-call]
    benchmark.extra_info["p50_ms"] = round(_percentile(samples, 0.50) * 1e3, 3)
    benchmark.extra_info["p99_ms"] = round(_percentile(samples, 0.99) * 1e3, 3)
    print(
        f"\n{impl}: publish-to-remote-handler p50 {benchmark.extra_info['p50_ms']} ms, "
        f"p99 {benchmark.extra_info['p99_ms']} ms"
    )


@pytest.mark.benchmark(group=f"events bridge (sqlite): {BURST} events, 1 publisher, 2 subscribers")
def test_throughput_to_two_subscribers(
    benchmark: BenchmarkFixture, impl: str, two_subscribers: Any
) -> None:
    def burst() -> None:
        targets = [arrivals.count + BURST for arrivals in two_subscribers.arrivals]
        for n in range(BURST):
            two_subscribers.publish("bench.tick", {"n": n})
        for arrivals, target in zip(two_subscribers.arrivals, targets, strict=True):
            arrivals.wait_for(target)

    benchmark.extra_info["impl"] = impl
    benchmark.pedantic(burst, rounds=3, iterations=1, warmup_rounds=1)  # type: ignore[no-untyped-call]
    stats = getattr(benchmark, "stats", None)
    if stats is not None and getattr(stats, "stats", None) is not None:
        rate = BURST / stats.stats.mean
        benchmark.extra_info["events_per_s"] = round(rate)
        print(f"\n{impl}: {rate:,.0f} events/s to 2 subscribers")
