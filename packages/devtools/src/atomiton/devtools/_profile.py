"""Per-operation counts and latency percentiles (store writes, storage operations, jobs)."""

from __future__ import annotations

import statistics
import threading
from collections import deque
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class OperationStats:
    """Counts and latency percentiles (seconds) of one operation.

    Percentiles are computed over the most recent samples (a bounded window), ``count`` and
    ``errors`` over everything seen. ``samples`` is how many timed samples the percentiles
    rest on: 0 for an operation that is only counted (``entities.<op>``: the entity client
    reports a write once it has committed, with no start time), whose latency fields are then
    0.0 and mean "not measured", not "instant".
    """

    operation: str
    count: int
    errors: int
    mean: float
    p50: float
    p90: float
    p99: float
    max: float
    samples: int = 0

    def to_dict(self) -> dict[str, Any]:
        """Return the stats as JSON-safe data."""
        return {
            "operation": self.operation,
            "count": self.count,
            "errors": self.errors,
            "mean": self.mean,
            "p50": self.p50,
            "p90": self.p90,
            "p99": self.p99,
            "max": self.max,
            "samples": self.samples,
        }


class _Series:
    __slots__ = ("count", "errors", "samples")

    def __init__(self, window: int) -> None:
        self.count = 0
        self.errors = 0
        self.samples: deque[float] = deque(maxlen=window)


class Profiler:
    """Collects latency samples per operation name; thread-safe and bounded.

    Args:
        window: how many recent samples per operation feed the percentiles.
        max_operations: how many distinct operation names are tracked; later new names are
            counted together under ``"(other)"`` so memory stays bounded even when job names
            are unique.
    """

    OTHER = "(other)"

    def __init__(self, window: int = 2048, max_operations: int = 256) -> None:
        if window < 1:
            raise ValueError(f"window must be >= 1, got {window!r}")
        if max_operations < 2:
            raise ValueError(f"max_operations must be >= 2, got {max_operations!r}")
        self._window = window
        self._max_operations = max_operations
        self._series: dict[str, _Series] = {}
        self._lock = threading.Lock()

    def record(self, operation: str, duration: float | None, *, error: bool = False) -> None:
        """Count one ``operation``; ``duration`` (seconds) feeds the percentiles when known."""
        with self._lock:
            series = self._series.get(operation)
            if series is None:
                if len(self._series) >= self._max_operations - 1:  # one slot stays for OTHER
                    operation = self.OTHER
                    series = self._series.get(operation)
                if series is None:
                    series = self._series[operation] = _Series(self._window)
            series.count += 1
            if error:
                series.errors += 1
            if duration is not None:
                series.samples.append(max(0.0, float(duration)))

    def stats(self) -> dict[str, OperationStats]:
        """Return one ``OperationStats`` per operation, sorted by operation name."""
        with self._lock:
            items = [(name, s.count, s.errors, list(s.samples)) for name, s in self._series.items()]
        result: dict[str, OperationStats] = {}
        for name, count, errors, samples in sorted(items):
            result[name] = _summarise(name, count, errors, samples)
        return result

    def clear(self) -> None:
        """Forget every sample."""
        with self._lock:
            self._series.clear()


def _summarise(name: str, count: int, errors: int, samples: list[float]) -> OperationStats:
    if not samples:
        return OperationStats(name, count, errors, 0.0, 0.0, 0.0, 0.0, 0.0)
    if len(samples) == 1:
        only = samples[0]
        return OperationStats(name, count, errors, only, only, only, only, only, 1)
    # "inclusive" keeps every percentile inside the observed range, as a reader expects.
    cuts = statistics.quantiles(samples, n=100, method="inclusive")
    return OperationStats(
        name,
        count,
        errors,
        statistics.fmean(samples),
        cuts[49],
        cuts[89],
        cuts[98],
        max(samples),
        len(samples),
    )
