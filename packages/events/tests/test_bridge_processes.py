"""The bridge across real OS processes on one SQLite stream (the children: ``_bridge_child.py``).

- three peers: each receives every other's events exactly once, in emit order, never its own;
- a late joiner replays what it missed and goes live while another process keeps emitting;
- a publisher SIGKILLed mid-write loses no acknowledged event and leaves no torn one.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections import defaultdict
from contextlib import closing
from pathlib import Path

import pytest

from atomiton.events import EventBus, connect_bus
from atomiton.events._sqlite_transport import create as create_sqlite

from ._bridge_child import BATCH, payload
from ._bridge_support import TRANSPORTS, Collector

CHILD = Path(__file__).with_name("_bridge_child.py")
TIMEOUT = 120.0

pytestmark = pytest.mark.slow


def _spawn(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )


def _end(process: subprocess.Popen[str] | None) -> None:
    """Kill the child if it still runs and close its pipes (no ResourceWarning)."""
    if process is None:
        return
    process.kill()
    process.communicate()


def _line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    if not line:
        process.wait(TIMEOUT)
        pytest.fail(f"child exited with {process.returncode} before answering")
    return line.strip()


def _send(process: subprocess.Popen[str], text: str) -> None:
    assert process.stdin is not None
    process.stdin.write(text + "\n")
    process.stdin.flush()


@pytest.fixture(params=sorted(TRANSPORTS))
def url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each transport's URL with the test's stream in it (the children take only a URL)."""
    target = TRANSPORTS[request.param](request, tmp_path)
    return f"{target.url}{'&' if '?' in target.url else '?'}stream={target.stream}"


def test_three_processes_each_receive_every_other_event_once_in_order(url: str) -> None:
    count = 300
    names = ["a", "b", "c"]
    peers = {name: _spawn("peer", url, name, str(count), str(count * 2)) for name in names}
    try:
        for process in peers.values():
            assert _line(process) == "ready"
        for process in peers.values():  # all subscribed before anyone emits
            _send(process, "go")
        received = {name: json.loads(_line(process)) for name, process in peers.items()}
        for process in peers.values():
            assert process.wait(TIMEOUT) == 0
    finally:
        for process in peers.values():
            _end(process)
    for name, rows in received.items():
        by_sender: dict[str, list[int]] = defaultdict(list)
        origins: dict[str, set[str]] = defaultdict(set)
        for sender, n, origin, _seq in rows:
            by_sender[sender].append(n)
            origins[sender].add(origin)
        assert sorted(by_sender) == sorted(set(names) - {name})  # never its own
        for sender, numbers in by_sender.items():
            assert numbers == list(range(count)), (name, sender)  # once each, in emit order
            assert len(origins[sender]) == 1
        seqs = [seq for *_, seq in rows]
        assert seqs == sorted(set(seqs))  # in stream order, no position twice


def test_a_late_joiner_replays_then_goes_live_without_gap_or_duplicate(url: str) -> None:
    emitter = _spawn("stream", url)
    joiner = None
    try:
        assert _line(emitter) == "ready"
        reader = EventBus(history_limit=0)
        ticks = Collector()
        reader.on("tick", ticks)
        with connect_bus(reader, url, publish=[]):
            ticks.wait_for(200)  # join once the emitter is well under way: part is replayed
            joiner = _spawn("late", url)
            assert _line(joiner) == "subscribed"
            ticks.wait_for(len(ticks.events) + 200)  # and part arrives live, after the switch
        _send(emitter, "stop")
        total = int(_line(emitter).split()[1])
        assert emitter.wait(TIMEOUT) == 0
        _send(joiner, str(total))
        numbers = json.loads(_line(joiner))
        assert joiner.wait(TIMEOUT) == 0
    finally:
        _end(emitter)
        _end(joiner)
    assert total > 400
    assert numbers == list(range(total))


def test_a_publisher_killed_mid_write_loses_no_acknowledged_event(tmp_path: Path) -> None:
    url = f"sqlite://{tmp_path}/events.db"
    problems: list[Exception] = []
    for _ in range(3):
        killer = _spawn("kill-me", url)
        try:
            acked = -1
            while acked < 10:
                acked = int(_line(killer).split()[1])
            os.kill(killer.pid, signal.SIGKILL)  # it is writing batch acked + 1 (or later)
            assert killer.stdout is not None
            for line in killer.stdout:  # acks printed before the kill landed
                acked = int(line.split()[1])
            killer.wait(TIMEOUT)
        finally:
            _end(killer)
        assert killer.returncode == -signal.SIGKILL
        transport = create_sqlite(url, stream="atomiton", on_error=problems.append)
        try:
            stored = transport.history(["crash.test"])
        finally:
            transport.close()
        ids = [event.id for event in stored]
        assert len(ids) == len(set(ids))
        for event in stored:  # no torn record: every byte as published
            assert event.data == payload(event.id)
        batches: dict[str, int] = defaultdict(int)
        for event_id in ids:
            batches[event_id.rsplit(":", 1)[0]] += 1
        assert set(batches.values()) == {BATCH}  # each batch whole or absent
        seqs = [event.seq or 0 for event in stored]
        assert seqs == sorted(seqs)
        # Every acknowledged batch of the last round is there (earlier rounds checked before).
        last_round = {key for key in batches if key.startswith("killer:")}
        assert {f"killer:{n}" for n in range(acked + 1)} <= last_round
        with closing(sqlite3.connect(tmp_path / "events.db")) as check, check:
            assert check.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        _delete_crash_events(tmp_path / "events.db")  # the next round reuses batch numbers
    assert problems == []
    # The file is still a working stream for the bridge.
    bus = EventBus()
    with connect_bus(bus, url) as bridge:
        bus.emit("after.crash", 1)
        assert bridge.flush(TIMEOUT)
        assert [e.type for e in bridge.history()] == ["after.crash"]


def _delete_crash_events(path: Path) -> None:
    with closing(sqlite3.connect(path)) as connection, connection:
        connection.execute("DELETE FROM atomiton_events WHERE type = 'crash.test'")
