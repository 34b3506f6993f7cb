"""Bytes allocated per object, counting only what the caller's own code allocates.

``tracemalloc`` counts every thread's allocations. A test suite leaves threads behind (a Dask
client's loop, a NATS connection's reader, a bus's delivery thread), and whatever they allocate
while a measurement runs would be charged to the object measured: one CI run saw an atom "grow"
from 149 to 237 bytes that way. So each allocation is kept only when the frame that asked for it
was called, however deeply, from the measuring loop, which no other thread's stack contains.
"""

from __future__ import annotations

import gc
import tracemalloc
from collections.abc import Callable
from typing import Any

__all__ = ["bytes_per_object"]

_DEPTH = 64  # frames kept per allocation: enough to reach ``make`` from any library call


def bytes_per_object(make: Callable[[int], Any], count: int = 1000) -> float:
    """Average bytes allocated by ``make(i)`` for ``i`` in ``range(count)``, all kept alive.

    ``make(0)`` runs once first, outside the measurement, so lazy imports and caches it fills
    are not charged to the objects. Only allocations whose stack passes through ``make`` count,
    and only those still alive after all ``count`` calls (the objects are held meanwhile).

    Args:
        make: Builds one object from its index; what it returns is held until the end.
        count: How many objects to build.

    Returns:
        Bytes per object.

    Raises:
        ValueError: If ``count`` is less than 1.
    """
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count!r}")
    make(0)
    holder: list[Any] = [None] * count
    gc.collect()
    was_tracing = tracemalloc.is_tracing()
    if was_tracing:
        tracemalloc.stop()
    tracemalloc.start(_DEPTH)
    try:
        for index in range(count):
            holder[index] = make(index)
        snapshot = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
        if was_tracing:
            tracemalloc.start()
    # Every allocation made by ``make`` has this function's frame on its stack; no other
    # thread's allocations do.
    ours = snapshot.filter_traces([tracemalloc.Filter(True, __file__, all_frames=True)])
    return sum(trace.size for trace in ours.traces) / count
