"""Generated ids sort by creation and are unique across threads and processes."""

from __future__ import annotations

import os
import subprocess
import sys
import threading

import pytest

from atomiton.store import new_id


def test_ids_are_26_character_strings_that_sort_in_creation_order() -> None:
    ids = [new_id() for _ in range(10_000)]
    assert all(len(i) == 26 for i in ids)
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_are_unique_across_threads() -> None:
    results: list[list[str]] = [[] for _ in range(8)]

    def work(slot: list[str]) -> None:
        slot.extend(new_id() for _ in range(2_000))

    threads = [threading.Thread(target=work, args=(r,)) for r in results]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    every = [i for r in results for i in r]
    assert len(set(every)) == len(every)
    assert all(r == sorted(r) for r in results)


def test_ids_are_unique_across_processes() -> None:
    probe = "from atomiton.store import new_id; print('\\n'.join(new_id() for _ in range(3000)))"
    procs = [
        subprocess.Popen([sys.executable, "-c", probe], stdout=subprocess.PIPE, text=True)
        for _ in range(4)
    ]
    every = [line for p in procs for line in p.communicate(timeout=60)[0].split()]
    assert len(every) == 12_000
    assert len(set(every)) == 12_000


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork is POSIX only")
def test_a_forked_child_does_not_continue_the_parents_sequence() -> None:
    new_id()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        os.close(read)
        os.write(write, "\n".join(new_id() for _ in range(200)).encode())
        os._exit(0)
    os.close(write)
    parent = [new_id() for _ in range(200)]
    chunks = []
    while chunk := os.read(read, 65536):
        chunks.append(chunk)
    os.close(read)
    os.waitpid(pid, 0)
    child = b"".join(chunks).decode().split()
    assert len(child) == 200
    assert not set(child) & set(parent)
