"""A writer process for the crash and concurrency tests (run as a script, never imported).

python _child.py crash <sqlite|file> <path> <round>
    writes forever, printing one line per write that returned: "w <key> <seq>" or "b <batch>"
python _child.py concurrent <sqlite|file> <path> <worker> <count>
    writes its own keys and shared keys, exits 0 if every call succeeded
"""

from __future__ import annotations

import sys

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
    storage.close()


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    else:
        concurrent(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
