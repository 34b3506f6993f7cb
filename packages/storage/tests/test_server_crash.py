"""PostgreSQL and Redis: a client SIGKILLed in the middle of write_many streams, many times, and
four processes writing distinct and overlapping keys at once."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from atomiton.storage import PostgresStorage, RedisStorage, StorageClient

from ._child import make_value, parse_seq

CHILD = Path(__file__).with_name("_server_child.py")
ROUNDS = 10
WORKERS = 4
COUNT = 150
BATCH_SIZE = 50  # as in _server_child.py (a script, never imported)

pytestmark = pytest.mark.services


@pytest.fixture(params=["postgres", "redis"])
def server(request: pytest.FixtureRequest) -> tuple[str, str, str]:
    """(kind, url, the test's own table or prefix)."""
    kind: str = request.param
    if kind == "postgres":
        return kind, request.getfixturevalue("postgres_url"), request.getfixturevalue("pg_table")
    return kind, request.getfixturevalue("redis_url"), request.getfixturevalue("redis_prefix")


def _open(kind: str, url: str, namespace: str) -> StorageClient:
    return PostgresStorage(url, namespace) if kind == "postgres" else RedisStorage(url, namespace)


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(CHILD.parent)}


def _run_and_kill(args: list[str], rng: random.Random) -> list[str]:
    """Start a writer, let it acknowledge a random number of calls, SIGKILL it mid-stream."""
    child = subprocess.Popen(
        [sys.executable, str(CHILD), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(),
    )
    assert child.stdout is not None
    acknowledged: list[str] = []
    wanted = rng.randint(1, 30)
    while len(acknowledged) < wanted:
        line = child.stdout.readline()
        if not line:
            raise AssertionError(f"writer died by itself: {child.communicate()[1]}")
        acknowledged.append(line)
    child.send_signal(signal.SIGKILL)
    rest, _ = child.communicate(timeout=30)
    assert child.returncode == -signal.SIGKILL
    acknowledged.extend(rest.splitlines(keepends=True))
    return [line for line in acknowledged if line.endswith("\n")]


@pytest.mark.slow
def test_killed_client_never_leaves_a_partial_batch_or_loses_an_acknowledged_write(
    server: tuple[str, str, str],
) -> None:
    kind, url, namespace = server
    rng = random.Random(f"server-crash-{kind}")
    acknowledged: dict[str, int] = {}
    batches: set[str] = set()
    for round_ in range(1, ROUNDS + 1):
        for line in _run_and_kill(["crash", kind, url, namespace, str(round_)], rng):
            parts = line.split()
            if parts[0] == "w":
                acknowledged[parts[1]] = max(acknowledged.get(parts[1], 0), int(parts[2]))
            else:
                batches.add(parts[1])
        with _open(kind, url, namespace) as storage:
            present: dict[str, int] = {}
            listed = storage.list()
            assert listed == sorted(listed)
            values = storage.read_many(listed)
            assert sorted(values) == listed, "the index lists a key that has no value"
            for key, value in values.items():
                parse_seq(key, value)  # never partial, never mixed
                if key.startswith("batch/"):
                    batch = key.split("/")[1]
                    present[batch] = present.get(batch, 0) + 1
            for batch, count in present.items():
                assert count == BATCH_SIZE, f"batch {batch} is half applied ({count}/{BATCH_SIZE})"
            assert batches <= present.keys(), "an acknowledged write_many is missing"
            assert len(storage) == len(listed)
            for key, seq in acknowledged.items():
                stored = storage.read(key)
                assert stored is not None, f"acknowledged write of {key} is missing"
                assert parse_seq(key, stored) >= seq, (
                    f"{key} went back before an acknowledged write"
                )
    assert acknowledged
    assert batches


@pytest.mark.slow
def test_four_processes_lose_no_write(server: tuple[str, str, str]) -> None:
    kind, url, namespace = server
    children = [
        subprocess.Popen(
            [sys.executable, str(CHILD), "concurrent", kind, url, namespace, str(w), str(COUNT)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=_env(),
        )
        for w in range(WORKERS)
    ]
    for child in children:
        assert child.stdout is not None
        assert child.stdout.readline() == "ready\n", child.communicate(timeout=60)
    for child in children:
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    spans = []
    for child in children:
        out, errors = child.communicate(timeout=120)
        assert child.returncode == 0, errors
        _, start, end = out.split()
        spans.append((float(start), float(end)))
    # The test only proves something if the four really wrote at once.
    assert max(start for start, _ in spans) < min(end for _, end in spans), spans
    with _open(kind, url, namespace) as storage:
        for worker in range(WORKERS):
            for i in range(COUNT):
                key = f"own/{worker}/{i}"
                assert storage.read(key) == make_value(key, i)
            for i in range(0, COUNT, 10):
                for j in range(3):
                    key = f"many/{worker}/{i}/{j}"
                    assert storage.read(key) == make_value(key, i)
        shared = storage.read_many([f"shared/{i}" for i in range(10)])
        assert sorted(shared) == [f"shared/{i}" for i in range(10)]
        for key, value in shared.items():
            # The survivor is some worker's last write of that key.
            assert parse_seq(key, value) % 100_000 >= COUNT - 10
        assert len(storage) == WORKERS * COUNT + WORKERS * (COUNT // 10) * 3 + 10
        assert storage.list("own/0/") == sorted(f"own/0/{i}" for i in range(COUNT))
