"""bytes_per_object counts what the measured code allocates, never another thread's churn."""

from __future__ import annotations

import threading

import pytest

from atomiton.platform.testing import bytes_per_object


def test_counts_the_objects_own_allocation() -> None:
    size = bytes_per_object(lambda _i: bytearray(1000), 500)
    assert 1000 <= size <= 1100


def test_freed_temporaries_are_not_counted() -> None:
    def make(_i: int) -> bytes:
        scratch = [bytearray(5000) for _ in range(3)]
        return bytes(len(scratch))

    assert bytes_per_object(make, 500) < 100


def test_another_threads_allocations_are_left_out() -> None:
    stop = threading.Event()
    kept: list[bytearray] = []

    def churn() -> None:
        while not stop.is_set():
            kept.append(bytearray(10_000))  # grows for as long as the measurement runs

    thread = threading.Thread(target=churn, daemon=True)
    thread.start()
    try:
        size = bytes_per_object(lambda _i: bytearray(100), 2000)
    finally:
        stop.set()
        thread.join()
    assert kept, "the other thread never ran"
    assert 100 <= size <= 200


def test_count_must_be_positive() -> None:
    with pytest.raises(ValueError, match="count"):
        bytes_per_object(lambda _i: None, 0)
