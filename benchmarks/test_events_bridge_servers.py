"""The events bridge over NATS JetStream and Redis Streams against the raw drivers and FastStream.

Setup per case: one publisher (this process) and two subscriber processes (this file run as a
script), all on the same local server. Each event carries its ``time.perf_counter()`` send time
(CLOCK_MONOTONIC: one clock for every process on the machine); each subscriber records
``receive - send`` in its handler and reports per round through its stdout.

The peers do the same work the way their docs show, with the same delivery guarantee (durable
store, acknowledged publish):

- ``raw-nats``: nats-py ``await js.publish()`` (waits for the JetStream ack) per event, and a
  push consumer (``js.subscribe(ordered_consumer=True, deliver_policy=NEW)``) per subscriber;
- ``raw-redis``: redis-py ``XADD ... MAXLEN ~`` per event, ``XREAD BLOCK`` per subscriber;
- ``faststream``: ``await broker.publish(..., stream=...)`` (NATS: JetStream ack; Redis: XADD)
  per event, and a ``@broker.subscriber`` on the same stream (NATS push, Redis XREAD).

atomiton: ``bus.emit`` on a bus bridged with ``connect_bus`` (publish only), subscribers bridged
buses with a ``bus.on`` handler.

Groups (ratio = peer time / atomiton time, above 1 means atomiton is faster):

- ``bridge <server>: throughput`` times one round of ``BATCH`` events published back to back until
  both subscribers have all of them (1 publisher, 2 subscribers);
- ``bridge <server>: latency`` times one event until both subscribers have it (pytest-benchmark's
  table; one implementation after the other);
- ``test_latency_percentiles_interleaved`` runs the three implementations taking turns event by
  event (so all see the same machine load; who goes first rotates) and prints, at the end of the
  module, the handler-side p50/p99 of all turns and their ratios, and the fair figure: the turns
  cut into blocks of ``BLOCK_TURNS`` (400 latencies per implementation), p50/p99 per block, the
  ratio peer/atomiton per block, and the **median of those per-block ratios** with their range.
  One p99 over all turns rests on the dozen slowest events of the run, which on a shared machine
  are whatever other processes did at those moments, charged to whichever implementation's turn
  it was; a median over blocks is not moved by one bad block.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import IO, Any

BATCH = 200
LATENCY_ROUNDS = 200
BLOCK_TURNS = 200
SUBSCRIBERS = 2
TYPE = "bench.event"
MAXLEN = 1_000_000


# -- the two sides of every implementation -------------------------------------------------------


def _payload(k: int, last: bool) -> dict[str, Any]:
    return {"t": time.perf_counter(), "k": k, "last": last}


class _Loop:
    """An event loop in a thread, for the asyncio drivers used from the benchmark's sync code."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()

    def run(self, coroutine: Any, timeout: float = 60.0) -> Any:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def stop(self) -> None:
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(10)
        self.loop.close()


def _names(name: str) -> tuple[str, str]:
    """A raw/FastStream JetStream stream name and its subject, from the case's name."""
    return f"BENCH_{name}", f"bench_{name}.event"


def make_publisher(
    impl: str, server: str, url: str, name: str
) -> tuple[Callable[[int], None], Callable[[], None]]:
    """Return ``(publish(count), close())`` for one implementation."""
    if impl == "atomiton":
        from atomiton.events import EventBus, connect_bus

        bus = EventBus(history_limit=0)
        bridge = connect_bus(bus, url, subscribe=[], stream=name)

        def publish_atomiton(count: int) -> None:
            for k in range(count):
                bus.emit(TYPE, _payload(k, k == count - 1))

        return publish_atomiton, bridge.close
    if impl == "raw" and server == "redis":
        import redis

        client = redis.Redis.from_url(url)

        def publish_redis(count: int) -> None:
            for k in range(count):
                body = json.dumps(_payload(k, k == count - 1))
                client.xadd(name, {"p": body}, maxlen=MAXLEN, approximate=True)

        return publish_redis, client.close
    loop = _Loop()
    if impl == "raw":
        import nats

        connection = loop.run(nats.connect(url))
        js = connection.jetstream()
        _, subject = _names(name)

        async def publish_nats(count: int) -> None:
            for k in range(count):
                await js.publish(subject, json.dumps(_payload(k, k == count - 1)).encode())

        def close_nats() -> None:
            loop.run(connection.close())
            loop.stop()

        return lambda count: loop.run(publish_nats(count)), close_nats
    if server == "nats":
        from faststream.nats import NatsBroker

        nats_broker = NatsBroker(url)
        loop.run(nats_broker.connect())
        stream, subject = _names(name)

        async def publish_fs_nats(count: int) -> None:
            for k in range(count):
                await nats_broker.publish(_payload(k, k == count - 1), subject, stream=stream)

        def close_fs_nats() -> None:
            loop.run(nats_broker.stop())
            loop.stop()

        return lambda count: loop.run(publish_fs_nats(count)), close_fs_nats
    from faststream.redis import RedisBroker

    redis_broker = RedisBroker(url)
    loop.run(redis_broker.connect())

    async def publish_fs_redis(count: int) -> None:
        for k in range(count):
            await redis_broker.publish(_payload(k, k == count - 1), stream=name, maxlen=MAXLEN)

    def close_fs_redis() -> None:
        loop.run(redis_broker.stop())
        loop.stop()

    return lambda count: loop.run(publish_fs_redis(count)), close_fs_redis


class _Recorder:
    """The subscriber's handler body: latency per event, one stdout line per finished round."""

    def __init__(self, out: IO[str]) -> None:
        self.latencies: list[float] = []
        self.lock = threading.Lock()
        self.out = out

    def receive(self, payload: dict[str, Any]) -> None:
        now = time.perf_counter()
        with self.lock:
            self.latencies.append(now - payload["t"])
            if payload["last"]:
                self.out.write(json.dumps(self.latencies) + "\n")
                self.out.flush()
                self.latencies = []


def run_subscriber(impl: str, server: str, url: str, name: str) -> None:
    """Child process: subscribe, say ``ready``, record until stdin closes."""
    # Reports go to the original stdout; anything the libraries print (FastStream logs to
    # stdout) goes to stderr instead, so it cannot be mistaken for a report.
    out = os.fdopen(os.dup(1), "w")
    os.dup2(2, 1)
    recorder = _Recorder(out)
    stop = threading.Event()
    if impl == "atomiton":
        from atomiton.events import EventBus, connect_bus

        bus = EventBus(history_limit=0)
        bus.on(TYPE, lambda event: recorder.receive(event.data))
        closer: Callable[[], None] = connect_bus(bus, url, publish=[], stream=name).close
    elif impl == "raw" and server == "redis":
        import redis

        client: Any = redis.Redis.from_url(url)  # its stubs type replies loosely
        newest = client.xrevrange(name, count=1)
        position = newest[0][0] if newest else b"0-0"

        def read() -> None:
            last = position
            while not stop.is_set():
                reply = client.xread({name: last}, block=200, count=500)
                for _, entries in reply or []:
                    for entry_id, fields in entries:
                        last = entry_id
                        recorder.receive(json.loads(fields[b"p"]))

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        closer = client.close
    else:
        loop = _Loop()
        closer = loop.stop
        if impl == "raw":
            import nats
            from nats.js.api import DeliverPolicy

            async def subscribe_raw() -> None:
                connection = await nats.connect(url)
                js = connection.jetstream()
                stream, subject = _names(name)

                async def on_msg(msg: Any) -> None:
                    recorder.receive(json.loads(msg.data))

                await js.subscribe(
                    subject, stream=stream, cb=on_msg, ordered_consumer=True,
                    deliver_policy=DeliverPolicy.NEW,
                )  # fmt: skip

            loop.run(subscribe_raw())
        elif server == "nats":
            from faststream.nats import JStream, NatsBroker
            from nats.js.api import DeliverPolicy

            nats_broker = NatsBroker(url)
            stream, subject = _names(name)

            @nats_broker.subscriber(
                subject, stream=JStream(stream, declare=False), deliver_policy=DeliverPolicy.NEW
            )
            async def on_fs_nats(body: dict[str, Any]) -> None:
                recorder.receive(body)

            loop.run(nats_broker.start())
        else:
            import redis
            from faststream.redis import RedisBroker, StreamSub

            # Start after the stream's current end, read now: with last_id="$" the first XREAD
            # (issued some time after broker.start() returns) skipped events published before it.
            probe: Any = redis.Redis.from_url(url)  # its stubs type replies loosely
            newest = probe.xrevrange(name, count=1)
            probe.close()
            start_id = newest[0][0].decode() if newest else "0-0"
            redis_broker = RedisBroker(url)

            @redis_broker.subscriber(stream=StreamSub(name, last_id=start_id))
            async def on_fs_redis(body: dict[str, Any]) -> None:
                recorder.receive(body)

            loop.run(redis_broker.start())
    out.write("ready\n")
    out.flush()
    sys.stdin.read()  # until the parent closes it
    stop.set()
    closer()
    os._exit(0)  # drivers' leftover tasks need not be torn down politely


# -- the benchmark cases -------------------------------------------------------------------------

if __name__ != "__main__":
    import pytest
    from pytest_benchmark.fixture import BenchmarkFixture

    pytestmark = pytest.mark.services

    IMPLS = ["atomiton", "raw", "faststream"]
    LATENCIES: dict[tuple[str, str], list[list[float]]] = {}  # per turn, both subscribers

    class Case:
        """One implementation on one server: its publisher and two subscriber processes."""

        def __init__(self, impl: str, server: str, url: str, name: str) -> None:
            self.impl, self.server = impl, server
            self.children = [
                subprocess.Popen(
                    [sys.executable, __file__, impl, server, url, name],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
                for _ in range(SUBSCRIBERS)
            ]
            try:
                for child in self.children:
                    assert _readline(child.stdout) == "ready"
            except BaseException:
                self._stop_children()
                raise
            self.publish, self.close_publisher = make_publisher(impl, server, url, name)

        def round(self, count: int) -> list[float]:
            """Publish ``count`` events, wait until both subscribers have all of them."""
            self.publish(count)
            latencies: list[float] = []
            for child in self.children:
                got = json.loads(_readline(child.stdout))
                assert len(got) == count, f"{self.impl}: {len(got)} of {count} events"
                latencies.extend(got)
            return latencies

        def close(self) -> None:
            self.close_publisher()
            self._stop_children()

        def _stop_children(self) -> None:
            for child in self.children:
                assert child.stdin is not None
                child.stdin.close()
                child.wait(30)
                if child.stdout is not None:
                    child.stdout.close()

    def _readline(stream: IO[str] | None) -> str:
        assert stream is not None
        line = stream.readline()
        if not line:
            raise RuntimeError("a subscriber process ended early (see its stderr above)")
        return line.strip()

    def _setup_server(server: str, url: str, name: str) -> None:
        if server != "nats":
            return
        import nats
        from nats.js.api import StorageType, StreamConfig

        async def create() -> None:
            connection = await nats.connect(url)
            stream, subject = _names(name)
            await connection.jetstream().add_stream(
                StreamConfig(name=stream, subjects=[subject], storage=StorageType.FILE)
            )
            await connection.close()

        asyncio.run(create())

    def _cleanup_server(server: str, url: str, name: str) -> None:
        if server == "redis":
            import redis

            client = redis.Redis.from_url(url)
            client.delete(name, f"atomiton:events:{name}")
            client.close()
            return
        import nats

        async def delete() -> None:
            connection = await nats.connect(url)
            js = connection.jetstream()
            for stream in (_names(name)[0], name):
                with contextlib.suppress(Exception):  # not created by this case
                    await js.delete_stream(stream)
            await connection.close()

        asyncio.run(delete())

    @pytest.fixture(scope="module", params=[(s, i) for s in ("nats", "redis") for i in IMPLS])
    def case(request: pytest.FixtureRequest) -> Iterator[Case]:
        server, impl = request.param
        url = request.getfixturevalue(f"{server}_url")
        name = f"B_{uuid.uuid4().hex[:10]}"
        _setup_server(server, url, name)
        found = Case(impl, server, url, name)
        yield found
        found.close()
        _cleanup_server(server, url, name)

    @pytest.fixture(scope="module", autouse=True)
    def _print_percentiles(request: pytest.FixtureRequest) -> Iterator[None]:
        yield
        reporter = request.config.pluginmanager.get_plugin("terminalreporter")
        capture = request.config.pluginmanager.get_plugin("capturemanager")
        if reporter is None or capture is None or not LATENCIES:
            return
        with capture.global_and_fixture_disabled():
            _write_percentiles(reporter)

    def _write_percentiles(reporter: Any) -> None:
        reporter.write_line("")
        reporter.write_line("events bridge: publish-to-remote-handler latency (2 subscribers)")
        for server in ("nats", "redis"):
            turns = LATENCIES.get(("atomiton", server), [])
            ours = _percentiles(_flat(turns))
            if ours is None:
                continue
            p50, p99 = ours
            reporter.write_line(
                f"  {server} atomiton: p50 {p50 * 1e6:.0f} µs, p99 {p99 * 1e6:.0f} µs"
            )
            for impl in IMPLS[1:]:
                peer_turns = LATENCIES.get((impl, server), [])
                peer = _percentiles(_flat(peer_turns))
                if peer is None:
                    continue
                reporter.write_line(
                    f"  {server} {impl}: p50 {peer[0] * 1e6:.0f} µs, p99 {peer[1] * 1e6:.0f} µs"
                    f"  -> ratio {impl}/atomiton p50 {peer[0] / p50:.2f}x, p99 {peer[1] / p99:.2f}x"
                )
                blocks = _block_ratios(turns, peer_turns)
                if blocks is not None:
                    (m50, lo50, hi50), (m99, lo99, hi99), count = blocks
                    reporter.write_line(
                        f"    median of {count} blocks' ratios {impl}/atomiton: p50 {m50:.2f}x "
                        f"({lo50:.2f}-{hi50:.2f}), p99 {m99:.2f}x ({lo99:.2f}-{hi99:.2f})"
                    )

    def _flat(turns: list[list[float]]) -> list[float]:
        return [latency for turn in turns for latency in turn]

    def _block_ratios(
        ours: list[list[float]], peer: list[list[float]]
    ) -> tuple[tuple[float, float, float], tuple[float, float, float], int] | None:
        """Median (and range) over blocks of BLOCK_TURNS turns of the ratios peer/atomiton."""
        ratios: tuple[list[float], list[float]] = ([], [])
        for start in range(0, min(len(ours), len(peer)) - BLOCK_TURNS + 1, BLOCK_TURNS):
            mine = _percentiles(_flat(ours[start : start + BLOCK_TURNS]))
            theirs = _percentiles(_flat(peer[start : start + BLOCK_TURNS]))
            if mine is None or theirs is None:
                continue
            for i in range(2):
                ratios[i].append(theirs[i] / mine[i])
        if not ratios[0]:
            return None
        p50s, p99s = ((statistics.median(values), min(values), max(values)) for values in ratios)
        return p50s, p99s, len(ratios[0])

    def _percentiles(values: list[float]) -> tuple[float, float] | None:
        if len(values) < 20:
            return None
        ordered = sorted(values)
        return ordered[len(ordered) // 2], ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]

    def test_throughput(benchmark: BenchmarkFixture, case: Case) -> None:
        benchmark.group = f"bridge {case.server}: throughput, {BATCH} events, 2 subscribers"
        benchmark.extra_info["impl"] = (
            "atomiton" if case.impl == "atomiton" else f"{case.impl}-{case.server}"
        )
        case.round(BATCH)  # warm-up: connections, consumers, caches
        result = benchmark.pedantic(case.round, args=(BATCH,), rounds=5, iterations=1)  # type: ignore[no-untyped-call]
        assert len(result) == BATCH * SUBSCRIBERS

    def test_latency(benchmark: BenchmarkFixture, case: Case) -> None:
        benchmark.group = f"bridge {case.server}: latency, 1 event, 2 subscribers"
        benchmark.extra_info["impl"] = (
            "atomiton" if case.impl == "atomiton" else f"{case.impl}-{case.server}"
        )
        seen: list[float] = []

        def one() -> None:
            seen.extend(case.round(1))

        for _ in range(5):
            one()  # warm-up
        seen.clear()
        benchmark.pedantic(one, rounds=LATENCY_ROUNDS, iterations=1)  # type: ignore[no-untyped-call]
        if benchmark.enabled:
            p50, p99 = _percentiles(seen) or (0.0, 0.0)
            benchmark.extra_info["p50_s"] = p50
            benchmark.extra_info["p99_s"] = p99
        assert len(seen) >= SUBSCRIBERS

    @pytest.mark.parametrize("server", ["nats", "redis"])
    def test_latency_percentiles_interleaved(server: str, request: pytest.FixtureRequest) -> None:
        """p50/p99 with the three implementations taking turns event by event.

        Machine load drifts over seconds; one implementation after the other would compare
        different moments. Taking turns, each sees the same load. Printed at the module's end.
        """
        url = request.getfixturevalue(f"{server}_url")
        options = request.config.option
        is_timed = bool(options.benchmark_enable or not options.benchmark_disable)
        rounds = LATENCY_ROUNDS * 10 if is_timed else 3
        names = {impl: f"B_{uuid.uuid4().hex[:10]}" for impl in IMPLS}
        cases: dict[str, Case] = {}
        try:
            for impl, name in names.items():
                _setup_server(server, url, name)
                cases[impl] = Case(impl, server, url, name)
            seen: dict[str, list[list[float]]] = {impl: [] for impl in IMPLS}
            for case in cases.values():
                case.round(5)  # warm-up
            order = list(cases)
            for turn in range(rounds):
                # Rotate who goes first: a round right after another implementation's pays for
                # that one's leftover work (FastStream's subscribers ack and log after each
                # message), so no implementation may always follow the same one.
                for impl in order[turn % len(order) :] + order[: turn % len(order)]:
                    seen[impl].append(cases[impl].round(1))
        finally:
            for impl, case in cases.items():
                case.close()
                _cleanup_server(server, url, names[impl])
        assert all(len(turns) == rounds for turns in seen.values())
        assert all(len(turn) == SUBSCRIBERS for turns in seen.values() for turn in turns)
        if is_timed:
            for impl, values in seen.items():
                LATENCIES[impl, server] = values


if __name__ == "__main__":
    run_subscriber(*sys.argv[1:5])
