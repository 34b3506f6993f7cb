from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from atomiton.platform import RetryPolicy

if TYPE_CHECKING:
    from packages.platform.tests.conftest import FakeClock  # shared with the `clock` fixture


class Flaky:
    """Fails `failures` times with `error`, then returns "ok"."""

    def __init__(self, failures: int, error: type[Exception] = OSError) -> None:
        self.failures = failures
        self.error = error
        self.calls = 0

    def __call__(self, *args: object, **kwargs: object) -> str:
        self.calls += 1
        if self.calls <= self.failures:
            raise self.error(f"failure {self.calls}")
        return f"ok {args} {kwargs}"


def policy(clock: FakeClock, **kwargs: object) -> RetryPolicy:
    options: dict[str, object] = {
        "attempts": 4,
        "base_delay": 0.1,
        "max_delay": 1.0,
        "jitter": "none",
        "sleep": clock.sleep,
        "clock": clock,
    }
    options.update(kwargs)
    return RetryPolicy(**options)  # type: ignore[arg-type]


def test_success_on_first_try_calls_once_and_never_sleeps(clock: FakeClock) -> None:
    flaky = Flaky(0)
    assert policy(clock).call(flaky, 1, key="v") == "ok (1,) {'key': 'v'}"
    assert flaky.calls == 1
    assert clock.sleeps == []


def test_retries_until_success_with_exponential_delays(clock: FakeClock) -> None:
    flaky = Flaky(3)
    assert policy(clock).call(flaky) == "ok () {}"
    assert flaky.calls == 4
    assert clock.sleeps == pytest.approx([0.1, 0.2, 0.4])


def test_delays_are_capped_by_max_delay(clock: FakeClock) -> None:
    flaky = Flaky(5)
    policy(clock, attempts=6, base_delay=0.5, max_delay=1.0, multiplier=3.0).call(flaky)
    assert clock.sleeps == pytest.approx([0.5, 1.0, 1.0, 1.0, 1.0])


def test_gives_up_after_attempts_and_reraises_last_error_with_a_note(clock: FakeClock) -> None:
    flaky = Flaky(10)
    with pytest.raises(OSError, match="failure 4") as info:
        policy(clock).call(flaky)
    assert flaky.calls == 4
    assert any("gave up after 4 attempts" in note for note in info.value.__notes__)


def test_errors_not_in_retry_on_are_raised_at_once(clock: FakeClock) -> None:
    flaky = Flaky(1, error=KeyError)
    with pytest.raises(KeyError):
        policy(clock, retry_on=(OSError,)).call(flaky)
    assert flaky.calls == 1


def test_retry_on_accepts_a_predicate(clock: FakeClock) -> None:
    flaky = Flaky(2, error=ValueError)
    retry = policy(clock, retry_on=lambda exc: "failure" in str(exc))
    assert retry.call(flaky) == "ok () {}"
    assert flaky.calls == 3


def test_retry_on_accepts_a_single_exception_type(clock: FakeClock) -> None:
    flaky = Flaky(1)
    assert policy(clock, retry_on=OSError).call(flaky) == "ok () {}"


def test_max_elapsed_stops_before_a_retry_that_would_overrun(clock: FakeClock) -> None:
    flaky = Flaky(10)
    with pytest.raises(OSError, match="failure 3") as info:
        policy(clock, attempts=10, max_elapsed=0.35).call(flaky)
    # 0.1 + 0.2 fit in 0.35 s; the next 0.4 s would not.
    assert clock.sleeps == pytest.approx([0.1, 0.2])
    assert any("max_elapsed" in note for note in info.value.__notes__)


def test_full_jitter_scales_the_delay_by_random(clock: FakeClock) -> None:
    retry = policy(clock, jitter="full", random=lambda: 0.5)
    assert [retry.delay_for(n) for n in (1, 2, 3)] == pytest.approx([0.05, 0.1, 0.2])


def test_equal_jitter_keeps_at_least_half_the_delay(clock: FakeClock) -> None:
    retry = policy(clock, jitter="equal", random=lambda: 0.0)
    assert retry.delay_for(2) == pytest.approx(0.1)
    retry = policy(clock, jitter="equal", random=lambda: 0.999999)
    assert retry.delay_for(2) == pytest.approx(0.2)


def test_decorator_retries_and_keeps_the_function_name(clock: FakeClock) -> None:
    flaky = Flaky(2)

    @policy(clock)
    def read(key: str) -> str:
        return flaky(key)

    assert read("k") == "ok ('k',) {}"
    assert read.__name__ == "read"
    assert flaky.calls == 3


def test_on_retry_hears_each_retry(clock: FakeClock) -> None:
    heard: list[tuple[int, str, float]] = []
    retry = policy(clock, on_retry=lambda n, exc, delay: heard.append((n, str(exc), delay)))
    retry.call(Flaky(2))
    assert heard == [(1, "failure 1", 0.1), (2, "failure 2", 0.2)]


async def test_async_call_retries_by_calling_the_function_again(clock: FakeClock) -> None:
    flaky = Flaky(2)

    async def fetch(key: str) -> str:
        return flaky(key)

    retry = policy(clock, sleep=clock.async_sleep)
    assert await retry.call(fetch, "k") == "ok ('k',) {}"
    assert await retry.acall(fetch, "k") == "ok ('k',) {}"
    assert flaky.calls == 4
    assert clock.sleeps == pytest.approx([0.1, 0.2])


async def test_async_decorator_retries(clock: FakeClock) -> None:
    flaky = Flaky(1)

    @policy(clock, sleep=clock.async_sleep)
    async def fetch() -> str:
        return flaky()

    assert await fetch() == "ok () {}"
    assert fetch.__name__ == "fetch"


async def test_async_gives_up_with_the_last_error(clock: FakeClock) -> None:
    async def always_fails() -> None:
        raise OSError("down")

    with pytest.raises(OSError, match="down"):
        await policy(clock, sleep=clock.sleep).acall(always_fails)
    assert len(clock.sleeps) == 3


def test_async_sleep_in_a_sync_call_is_a_clear_error(clock: FakeClock) -> None:
    with pytest.raises(TypeError, match="awaitable"):
        policy(clock, sleep=clock.async_sleep).call(Flaky(1))


@pytest.mark.parametrize(
    ("kwargs", "named"),
    [
        ({"attempts": 0}, "attempts"),
        ({"base_delay": -1}, "base_delay"),
        ({"base_delay": 2, "max_delay": 1}, "max_delay"),
        ({"multiplier": 0.5}, "multiplier"),
        ({"jitter": "some"}, "jitter"),
        ({"max_elapsed": -1}, "max_elapsed"),
    ],
)
def test_bad_arguments_name_the_argument(kwargs: dict[str, object], named: str) -> None:
    with pytest.raises(ValueError, match=named):
        RetryPolicy(**kwargs)  # type: ignore[arg-type]


def test_retry_on_must_be_exception_types_or_callable() -> None:
    with pytest.raises(TypeError, match="retry_on"):
        RetryPolicy(retry_on=("OSError",))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="retry_on must be exception types or a predicate"):
        RetryPolicy(retry_on=int)  # type: ignore[arg-type]  # a class, but not an exception


def test_policy_is_immutable() -> None:
    with pytest.raises(AttributeError, match="immutable"):
        RetryPolicy().attempts = 9


@pytest.mark.parametrize("max_elapsed", [None, 0.5])
async def test_sync_and_async_twins_follow_one_schedule(
    clock: FakeClock, max_elapsed: float | None
) -> None:
    """Both paths are driven by one backoff core: same delays, notes and final exception."""
    outcomes = []
    for use_async in (False, True):
        clock.sleeps.clear()
        flaky = Flaky(10)

        async def afn(flaky: Flaky = flaky) -> str:
            return flaky()

        if use_async:
            chosen = policy(clock, max_elapsed=max_elapsed, sleep=clock.async_sleep)
            with pytest.raises(OSError, match="failure") as info:
                await chosen.acall(afn)
        else:
            with pytest.raises(OSError, match="failure") as info:
                policy(clock, max_elapsed=max_elapsed).call(flaky)
        assert info.value.__context__ is None  # earlier failures are not chained on
        outcomes.append((list(clock.sleeps), flaky.calls, str(info.value), info.value.__notes__))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][1] == (4 if max_elapsed is None else 3)
