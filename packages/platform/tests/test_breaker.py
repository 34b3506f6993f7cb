from __future__ import annotations

import contextlib
import threading
from typing import TYPE_CHECKING

import pytest

from atomiton.platform import CircuitBreaker, CircuitOpenError

if TYPE_CHECKING:
    from packages.platform.tests.conftest import FakeClock  # shared with the `clock` fixture


def boom() -> None:
    raise OSError("down")


def state_of(breaker: CircuitBreaker) -> str:
    return breaker.state


def fail(breaker: CircuitBreaker, times: int) -> None:
    for _ in range(times):
        with pytest.raises(OSError, match="down"):
            breaker.call(boom)


def test_closed_breaker_passes_calls_and_results(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10.0, clock=clock)
    assert breaker.call(divmod, 7, 2) == (3, 1)
    assert state_of(breaker) == "closed"


def test_opens_after_threshold_consecutive_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10.0, clock=clock)
    fail(breaker, 2)
    assert state_of(breaker) == "closed"
    fail(breaker, 1)
    assert state_of(breaker) == "open"


def test_a_success_resets_the_consecutive_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=3, reset_timeout=10.0, clock=clock)
    fail(breaker, 2)
    breaker.call(lambda: None)
    fail(breaker, 2)
    assert state_of(breaker) == "closed"
    assert breaker.failure_count == 2


def test_open_breaker_refuses_without_calling_and_says_when_it_retries(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10.0, clock=clock, name="payments")
    fail(breaker, 1)
    clock.now += 4
    called: list[int] = []
    with pytest.raises(CircuitOpenError, match=r"'payments' is open.*in 6 s") as info:
        breaker.call(called.append, 1)
    assert called == []
    assert info.value.retry_in == pytest.approx(6.0)
    assert info.value.retry_at == pytest.approx(110.0)
    assert breaker.retry_at == pytest.approx(110.0)


def test_after_reset_timeout_a_trial_success_closes_it(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=10.0, clock=clock)
    fail(breaker, 1)
    clock.now += 10
    assert state_of(breaker) == "half_open"
    assert breaker.call(lambda: "ok") == "ok"
    assert state_of(breaker) == "closed"


def test_a_failed_trial_opens_it_again_for_a_new_timeout(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=10.0, clock=clock)
    fail(breaker, 2)
    clock.now += 10
    fail(breaker, 1)
    assert state_of(breaker) == "open"
    assert breaker.retry_at == pytest.approx(clock.now + 10)


def test_half_open_successes_are_all_needed_to_close(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=1, reset_timeout=5.0, half_open_successes=3, clock=clock
    )
    fail(breaker, 1)
    clock.now += 5
    breaker.call(lambda: None)
    breaker.call(lambda: None)
    assert state_of(breaker) == "half_open"
    breaker.call(lambda: None)
    assert state_of(breaker) == "closed"


def test_listeners_hear_every_state_change_and_can_be_removed(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)
    heard: list[tuple[str, str]] = []
    remove = breaker.add_listener(lambda b, old, new: heard.append((old, new)))
    fail(breaker, 1)
    clock.now += 5
    breaker.call(lambda: None)
    assert heard == [("closed", "open"), ("open", "half_open"), ("half_open", "closed")]
    remove()
    fail(breaker, 1)
    assert len(heard) == 3


def test_exceptions_outside_failure_on_do_not_count(clock: FakeClock) -> None:
    breaker = CircuitBreaker(
        failure_threshold=1, reset_timeout=5.0, clock=clock, failure_on=(OSError,)
    )

    def missing() -> None:
        raise KeyError("k")

    with pytest.raises(KeyError):
        breaker.call(missing)
    assert state_of(breaker) == "closed"


def test_reset_closes_an_open_breaker(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)
    fail(breaker, 1)
    breaker.reset()
    assert state_of(breaker) == "closed"
    assert breaker.failure_count == 0


def test_decorator_form_counts_failures(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=5.0, clock=clock)

    @breaker
    def read(fail_it: bool) -> str:
        if fail_it:
            raise OSError("down")
        return "ok"

    assert read(False) == "ok"
    for _ in range(2):
        with pytest.raises(OSError, match="down"):
            read(True)
    with pytest.raises(CircuitOpenError):
        read(False)
    assert read.__name__ == "read"


async def test_async_calls_record_their_outcome_when_awaited(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=2, reset_timeout=5.0, clock=clock)

    async def down() -> None:
        raise OSError("down")

    async def up() -> str:
        return "ok"

    assert await breaker.call(up) == "ok"
    with pytest.raises(OSError, match="down"):
        await breaker.call(down)
    with pytest.raises(OSError, match="down"):
        await breaker.acall(down)
    assert state_of(breaker) == "open"
    with pytest.raises(CircuitOpenError):
        await breaker.acall(up)
    clock.now += 5
    assert await breaker.acall(up) == "ok"
    assert state_of(breaker) == "closed"


async def test_async_decorator_form(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=1, reset_timeout=5.0, clock=clock)

    @breaker
    async def down() -> None:
        raise OSError("down")

    with pytest.raises(OSError, match="down"):
        await down()
    with pytest.raises(CircuitOpenError):
        await down()


def test_concurrent_failures_from_threads_open_it_once(clock: FakeClock) -> None:
    breaker = CircuitBreaker(failure_threshold=50, reset_timeout=5.0, clock=clock)
    opened: list[str] = []
    breaker.add_listener(lambda b, old, new: opened.append(new))
    barrier = threading.Barrier(8)

    def worker() -> None:
        barrier.wait()
        for _ in range(20):
            with contextlib.suppress(OSError, CircuitOpenError):
                breaker.call(boom)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert opened == ["open"]


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"failure_threshold": 0}, "failure_threshold"),
        ({"reset_timeout": -1}, "reset_timeout"),
        ({"half_open_successes": 0}, "half_open_successes"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        CircuitBreaker(**kwargs)  # type: ignore[arg-type]
