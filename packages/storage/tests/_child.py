"""A writer process for the crash and concurrency tests (run as a script, never imported).

python _child.py crash <sqlite|file> <path> <round>
    writes forever, printing one line per write that returned: "w <key> <seq>" or "b <batch>"
python _child.py concurrent <sqlite|file> <path> <worker> <count>
    prints "ready", waits for a line on stdin (so all workers start together), writes its own
    keys and shared keys, prints "span <start> <end>" (time.monotonic), exits 0 if every call
    succeeded
python _child.py batch-kill <path> <replaces>
    opens a FileStorage, lets <replaces> renames (os.replace) complete, then SIGKILLs itself at
    the next one; a write_many of BATCH_SIZE keys runs when no journal was pending
python _child.py stage-and-wait <path> <keys> <replaces>
    opens a FileStorage (fsync off), starts a write_many of <keys> keys, lets <replaces> renames
    complete, then prints "staged" and blocks until the parent SIGKILLs it
"""

from __future__ import annotations

import os
import signal
import sys
import time
from typing import Any

from atomiton.storage import FileStorage, SQLiteStorage, StorageClient

BATCH_SIZE = 4


def make_value(key: str, seq: int) -> bytes:
    """The one value a write of ``key`` number ``seq`` stores (long enough to tear if it could)."""
    head = f"{key}|{seq}|".encode()
    return head + bytes([seq % 251]) * (seq % 7919 + 4096)


def parse_seq(key: str, value: bytes) -> int:
    """Return the seq of a stored value, asserting it is exactly what that write stored."""
    seq = int(value.split(b"|")[1])
    assert value == make_value(key, seq), f"{key}: partial or foreign value"
    return seq


def open_backend(kind: str, path: str) -> StorageClient:
    if kind == "sqlite":
        return SQLiteStorage(path)
    return FileStorage(path, fsync=kind == "file")


def crash(kind: str, path: str, round_: int) -> None:
    storage = open_backend(kind, path)
    out = sys.stdout
    seq = round_ * 1_000_000
    while True:
        seq += 1
        if seq % 5 == 0:
            batch = f"b{seq}"
            storage.write_many(
                {
                    f"batch/{batch}/{i}": make_value(f"batch/{batch}/{i}", seq)
                    for i in range(BATCH_SIZE)
                }
            )
            out.write(f"b {batch}\n")
        else:
            key = f"key/{seq % 13}"
            storage.write(key, make_value(key, seq))
            out.write(f"w {key} {seq}\n")
        out.flush()


def concurrent(kind: str, path: str, worker: int, count: int) -> None:
    print("ready", flush=True)  # imports done
    sys.stdin.readline()  # the start signal: every worker opens and writes at the same moment
    start = time.monotonic()
    storage = open_backend(kind, path)
    for i in range(count):
        storage.write(f"own/{worker}/{i}", make_value(f"own/{worker}/{i}", i))
        storage.write(f"shared/{i % 10}", make_value(f"shared/{i % 10}", worker * 100_000 + i))
        if i % 10 == 0:
            storage.write_many(
                {
                    f"many/{worker}/{i}/{j}": make_value(f"many/{worker}/{i}/{j}", i)
                    for j in range(3)
                }
            )
        if i % 7 == 0:
            storage.read(f"shared/{(i + 3) % 10}")
            storage.list("shared/")
    print(f"span {start} {time.monotonic()}")
    storage.close()


def batch_kill(path: str, replaces: int) -> None:
    """Die by SIGKILL at a chosen rename of a write_many or of its roll-forward on opening."""
    real_replace = os.replace
    done = 0

    def replace_then_die(
        src: Any, dst: Any, *, src_dir_fd: int | None = None, dst_dir_fd: int | None = None
    ) -> None:
        nonlocal done
        if done == replaces:
            os.kill(os.getpid(), signal.SIGKILL)
        real_replace(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        done += 1

    os.replace = replace_then_die
    storage = FileStorage(path)  # rolls a pending batch forward (and may die doing it)
    storage.write_many({f"k/{i}": make_value(f"k/{i}", 2) for i in range(BATCH_SIZE)})
    raise SystemExit(3)  # the kill point was never reached


def stage_and_wait(path: str, keys: int, replaces: int) -> None:
    """Stop inside a write_many with its files staged, and wait for the parent's SIGKILL."""
    real_replace = os.replace
    done = 0

    def replace_or_wait(
        src: Any, dst: Any, *, src_dir_fd: int | None = None, dst_dir_fd: int | None = None
    ) -> None:
        nonlocal done
        if done == replaces:
            print("staged", flush=True)
            sys.stdin.readline()  # the parent kills this process while it waits here
        real_replace(src, dst, src_dir_fd=src_dir_fd, dst_dir_fd=dst_dir_fd)
        done += 1

    storage = FileStorage(path, fsync=False)
    os.replace = replace_or_wait
    storage.write_many({f"batch/{i}": make_value(f"batch/{i}", 1) for i in range(keys)})
    raise SystemExit(3)  # the parent never let it get here


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif sys.argv[1] == "batch-kill":
        batch_kill(sys.argv[2], int(sys.argv[3]))
    elif sys.argv[1] == "stage-and-wait":
        stage_and_wait(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))
    else:
        concurrent(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
