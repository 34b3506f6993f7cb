"""atomiton.platform RetryPolicy and CircuitBreaker success-path overhead, against tenacity and
pybreaker in the same run.

Each case times ONE successful call of a trivial function through the wrapper, so what is
measured is the wrapper's overhead (plus one Python call). Every peer is configured the way its
docs show, with a comparable policy: 3 attempts with exponential backoff for retry; 5 failures /
30 s reset for the breaker. The baseline row is the bare function call, for scale (its ratio is
below 1 by construction). The issue's targets: <= 2 µs each (the storage wrappers sit on a
~9 µs SQLite read).
"""

from __future__ import annotations

from typing import Any

import pybreaker
import pytest
import tenacity
from pytest_benchmark.fixture import BenchmarkFixture

from atomiton.platform import CircuitBreaker, RetryPolicy

TARGET_S = 2e-6


def read(key: str) -> str:
    return key


# A timed call: the callable, then its arguments (no lambda around it, the same for every peer).
Call = tuple[Any, ...]
BASELINE = "no wrapper (baseline)"


def _timed(benchmark: BenchmarkFixture, call: Call) -> None:
    assert call[0](*call[1:]) == "k"
    # Many calls per round: one call is shorter than the timer's own overhead.
    benchmark.pedantic(call[0], args=call[1:], rounds=300, iterations=500, warmup_rounds=3)  # type: ignore[no-untyped-call]


def _retry_decorated(impl: str) -> Call:
    if impl == "atomiton":
        policy = RetryPolicy(attempts=3, base_delay=0.01, max_delay=1.0)
        wrapped = policy(read)
    else:
        wrapped = tenacity.retry(
            stop=tenacity.stop_after_attempt(3),
            wait=tenacity.wait_exponential(multiplier=0.01, max=1.0),
            reraise=True,
        )(read)
    return (wrapped, "k")


def _retry_call(impl: str) -> Call:
    if impl == "atomiton":
        policy = RetryPolicy(attempts=3, base_delay=0.01, max_delay=1.0)
        return (policy.call, read, "k")
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(3),
        wait=tenacity.wait_exponential(multiplier=0.01, max=1.0),
        reraise=True,
    )
    return (retrying, read, "k")


def _breaker_call(impl: str) -> Call:
    if impl == "atomiton":
        breaker = CircuitBreaker(failure_threshold=5, reset_timeout=30.0)
        return (breaker.call, read, "k")
    peer = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)
    return (peer.call, read, "k")


def _breaker_decorated(impl: str) -> Call:
    if impl == "atomiton":
        wrapped = CircuitBreaker(failure_threshold=5, reset_timeout=30.0)(read)
    else:
        wrapped = pybreaker.CircuitBreaker(fail_max=5, reset_timeout=30)(read)
    return (wrapped, "k")


def _bare() -> Call:
    return (read, "k")


@pytest.mark.parametrize("impl", ["atomiton", "tenacity", BASELINE])
@pytest.mark.benchmark(group="platform: retry success path (decorator)")
def test_retry_decorator_success(benchmark: BenchmarkFixture, impl: str) -> None:
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = TARGET_S
    _timed(benchmark, _bare() if impl == BASELINE else _retry_decorated(impl))


@pytest.mark.parametrize("impl", ["atomiton", "tenacity"])
@pytest.mark.benchmark(group="platform: retry success path (.call)")
def test_retry_call_success(benchmark: BenchmarkFixture, impl: str) -> None:
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = TARGET_S
    _timed(benchmark, _retry_call(impl))


@pytest.mark.parametrize("impl", ["atomiton", "pybreaker", BASELINE])
@pytest.mark.benchmark(group="platform: breaker success path (.call)")
def test_breaker_call_success(benchmark: BenchmarkFixture, impl: str) -> None:
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = TARGET_S
    _timed(benchmark, _bare() if impl == BASELINE else _breaker_call(impl))


@pytest.mark.parametrize("impl", ["atomiton", "pybreaker"])
@pytest.mark.benchmark(group="platform: breaker success path (decorator)")
def test_breaker_decorator_success(benchmark: BenchmarkFixture, impl: str) -> None:
    benchmark.extra_info["impl"] = impl
    if impl == "atomiton":
        benchmark.extra_info["target_s"] = TARGET_S
    _timed(benchmark, _breaker_decorated(impl))
