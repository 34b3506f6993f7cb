"""Thread safety: every operation may be called from any thread; update is atomic."""

from __future__ import annotations

import threading

import pytest

from atomiton.store import atom, computed, create_store


def _hammer(threads: int, increments: int, fn: object) -> None:
    workers = [threading.Thread(target=fn) for _ in range(threads)]  # type: ignore[arg-type]
    for t in workers:
        t.start()
    for t in workers:
        t.join()


@pytest.mark.slow
def test_eight_threads_of_100000_increments_lose_nothing() -> None:
    store = create_store()
    counter = atom(0)

    def work() -> None:
        for _ in range(100_000):
            store.update(counter, lambda v: v + 1)

    _hammer(8, 100_000, work)
    assert store.get(counter) == 800_000


def test_concurrent_updates_keep_observed_derived_atoms_and_listeners_in_step() -> None:
    store = create_store()
    counter = atom(0)
    doubled = computed(lambda get: get(counter) * 2)
    seen: list[int] = []
    store.subscribe(doubled, seen.append)

    def work() -> None:
        for _ in range(5_000):
            store.update(counter, lambda v: v + 1)

    _hammer(8, 5_000, work)
    assert store.get(counter) == 40_000
    assert store.get(doubled) == 80_000
    assert seen == list(range(2, 80_001, 2))


def test_a_batch_is_atomic_for_readers_in_other_threads() -> None:
    store = create_store()
    x, y = atom(0), atom(0)
    pair = computed(lambda get: (get(x), get(y)))
    seen: list[tuple[int, int]] = []
    store.subscribe(pair, seen.append)
    stop = threading.Event()
    torn: list[tuple[int, int]] = []

    def reader() -> None:
        while not stop.is_set():
            with store.batch():
                value = store.get(pair)
            if value[0] != value[1]:
                torn.append(value)

    t = threading.Thread(target=reader)
    t.start()
    for i in range(1, 2000):
        with store.batch():
            store.set(x, i)
            store.set(y, i)
    stop.set()
    t.join()
    assert torn == []
    assert all(a == b for a, b in seen)


def test_writes_from_other_threads_wait_for_an_open_batch() -> None:
    store = create_store()
    x = atom(0)
    store.set(x, 1)  # written once: later writes take the fast path
    stop = threading.Event()

    def writer() -> None:
        k = 0
        while not stop.is_set():
            k -= 1
            store.set(x, k)

    t = threading.Thread(target=writer)
    t.start()
    torn = 0
    try:
        for i in range(1, 300):
            with store.batch():
                store.set(x, i)
                for _ in range(200):
                    if store.get(x) != i:
                        torn += 1
    finally:
        stop.set()
        t.join()
    assert torn == 0
