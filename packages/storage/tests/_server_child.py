"""A writer process for the PostgreSQL / Redis crash and concurrency tests (a script, not imported).

python _server_child.py crash <postgres|redis> <url> <namespace> <round>
    writes forever, printing one line per call that returned: "w <key> <seq>" or "b <batch>"
python _server_child.py concurrent <postgres|redis> <url> <namespace> <worker> <count>
    prints "ready", waits for a line on stdin, writes its own and shared keys, prints
    "span <start> <end>" (time.monotonic) and exits 0 if every call succeeded
"""

from __future__ import annotations

import sys
import time

from _child import make_value  # type: ignore[import-not-found]  # run as a script beside it

from atomiton.storage import PostgresStorage, RedisStorage, StorageClient

#: Keys per write_many: large enough (about 250 kB) that a kill often lands while it is sent.
BATCH_SIZE = 50


def open_backend(kind: str, url: str, namespace: str) -> StorageClient:
    if kind == "postgres":
        return PostgresStorage(url, namespace)
    return RedisStorage(url, namespace)


def crash(kind: str, url: str, namespace: str, round_: int) -> None:
    storage = open_backend(kind, url, namespace)
    out = sys.stdout
    seq = round_ * 1_000_000
    while True:
        seq += 1
        if seq % 3 == 0:
            batch = f"b{seq}"
            keys = [f"batch/{batch}/{i}" for i in range(BATCH_SIZE)]
            storage.write_many({key: make_value(key, seq) for key in keys})
            out.write(f"b {batch}\n")
        else:
            key = f"key/{seq % 13}"
            storage.write(key, make_value(key, seq))
            out.write(f"w {key} {seq}\n")
        out.flush()


def concurrent(kind: str, url: str, namespace: str, worker: int, count: int) -> None:
    storage = open_backend(kind, url, namespace)
    print("ready", flush=True)
    sys.stdin.readline()
    start = time.monotonic()
    for i in range(count):
        storage.write(f"own/{worker}/{i}", make_value(f"own/{worker}/{i}", i))
        storage.write(f"shared/{i % 10}", make_value(f"shared/{i % 10}", worker * 100_000 + i))
        if i % 10 == 0:
            storage.write_many(
                {
                    f"many/{worker}/{i}/{j}": make_value(f"many/{worker}/{i}/{j}", i)
                    for j in range(3)
                }
                | {f"shared/{j}": make_value(f"shared/{j}", worker * 100_000 + i) for j in range(3)}
            )
        if i % 7 == 0:
            storage.read(f"shared/{(i + 3) % 10}")
            storage.list("shared/")
    print(f"span {start} {time.monotonic()}")
    storage.close()


if __name__ == "__main__":
    if sys.argv[1] == "crash":
        crash(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]))
    else:
        concurrent(sys.argv[2], sys.argv[3], sys.argv[4], int(sys.argv[5]), int(sys.argv[6]))
