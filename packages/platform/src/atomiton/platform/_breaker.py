"""CircuitBreaker: stop calling something that keeps failing, and try it again later.

States: ``"closed"`` (calls pass; consecutive failures are counted), ``"open"`` (calls are refused
with CircuitOpenError until ``reset_timeout`` has passed), ``"half_open"`` (calls pass as trials:
``half_open_successes`` successes close the circuit, any failure opens it again).

The closed-state success path reads one attribute before and one after the call, and takes no
lock; state changes (the rare path) happen under a lock, and listeners run outside it. Written
here rather than using pybreaker for the async support, the injectable clock and the cheaper
success path (see benchmarks/test_platform_resilience.py).
"""

from __future__ import annotations

import _thread
import time
from types import CoroutineType

from atomiton.platform._errors import CircuitOpenError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from typing import Any, Literal, ParamSpec, TypeVar

    P = ParamSpec("P")
    R = TypeVar("R")
    State = Literal["closed", "open", "half_open"]
    StateListener = Callable[["CircuitBreaker", State, State], object]
    FailureOn = tuple[type[BaseException], ...] | Callable[[BaseException], bool]

_CLOSED: Literal["closed"] = "closed"
_OPEN: Literal["open"] = "open"
_HALF_OPEN: Literal["half_open"] = "half_open"


class CircuitBreaker:
    """Refuses calls for a while after ``failure_threshold`` consecutive failures.

    Example::

        breaker = CircuitBreaker(failure_threshold=5, reset_timeout=30.0, name="payments")

        @breaker
        def charge(order): ...

        breaker.call(charge, order)          # raises CircuitOpenError while open
        await breaker.call(async_charge, order)

    Args:
        failure_threshold: Consecutive failures that open the circuit (>= 1).
        reset_timeout: Seconds the circuit stays open before a trial call is let through (>= 0).
        half_open_successes: Successful trials needed to close it again (>= 1).
        clock: Monotonic seconds (inject a fake in tests).
        name: Shown in CircuitOpenError messages.
        failure_on: Exception types (or a predicate) that count as failures; other exceptions
            pass through without touching the state. Defaults to ``(Exception,)``.

    Raises:
        ValueError: An argument is out of range; the message names it.
    """

    __slots__ = (
        "_dirty",
        "_failure_on",
        "_failures",
        "_listeners",
        "_lock",
        "_opened_at",
        "_state",
        "_trial_successes",
        "clock",
        "failure_threshold",
        "half_open_successes",
        "name",
        "reset_timeout",
    )

    def __init__(
        self,
        *,
        failure_threshold: int = 5,
        reset_timeout: float = 30.0,
        half_open_successes: int = 1,
        clock: Callable[[], float] = time.monotonic,
        name: str = "circuit",
        failure_on: FailureOn = (Exception,),
    ) -> None:
        if not isinstance(failure_threshold, int) or failure_threshold < 1:
            raise ValueError(
                f"CircuitBreaker failure_threshold must be an int >= 1, got {failure_threshold!r}"
            )
        if reset_timeout < 0:
            raise ValueError(
                f"CircuitBreaker reset_timeout must be >= 0 seconds, got {reset_timeout!r}"
            )
        if not isinstance(half_open_successes, int) or half_open_successes < 1:
            raise ValueError(
                "CircuitBreaker half_open_successes must be an int >= 1, "
                f"got {half_open_successes!r}"
            )
        if not (isinstance(failure_on, tuple) or callable(failure_on)):
            raise TypeError(
                "CircuitBreaker failure_on must be exception types or a predicate, "
                f"got {failure_on!r}"
            )
        self.failure_threshold = failure_threshold
        self.reset_timeout = float(reset_timeout)
        self.half_open_successes = half_open_successes
        self.clock = clock
        self.name = name
        self._failure_on = failure_on
        self._state: State = _CLOSED
        # True whenever the state is not closed or failures have been counted: the success path
        # checks only this one attribute.
        self._dirty = False
        self._failures = 0
        self._trial_successes = 0
        self._opened_at = 0.0
        self._listeners: list[StateListener] = []
        self._lock = _thread.allocate_lock()

    def __repr__(self) -> str:
        return (
            f"CircuitBreaker(name={self.name!r}, state={self.state!r}, "
            f"failures={self._failures}/{self.failure_threshold})"
        )

    # ----------------------------------------------------------------- state

    @property
    def state(self) -> State:
        """The current state: ``"closed"``, ``"open"`` or ``"half_open"``.

        An open circuit whose reset timeout has passed reads as half-open.
        """
        if self._state == _OPEN and self.clock() >= self._opened_at + self.reset_timeout:
            return _HALF_OPEN
        return self._state

    @property
    def failure_count(self) -> int:
        """Consecutive failures counted so far."""
        return self._failures

    @property
    def retry_at(self) -> float | None:
        """The clock value at which an open circuit lets a trial through, or None if not open."""
        return self._opened_at + self.reset_timeout if self._state == _OPEN else None

    def add_listener(self, listener: StateListener) -> Callable[[], None]:
        """Call ``listener(breaker, old_state, new_state)`` on every state change.

        Returns:
            A function that removes the listener.
        """
        self._listeners.append(listener)

        def remove() -> None:
            if listener in self._listeners:
                self._listeners.remove(listener)

        return remove

    def reset(self) -> None:
        """Close the circuit and forget counted failures."""
        self._transition(_CLOSED)

    def _transition(self, new: State) -> None:
        with self._lock:
            old = self._set_state(new)
        self._notify(old, new)

    def _set_state(self, new: State) -> State:
        """Switch to ``new``; the caller holds the lock. Returns the previous state."""
        old = self._state
        self._state = new
        self._trial_successes = 0
        if new == _CLOSED:
            self._failures = 0
            self._dirty = False
        else:
            self._dirty = True
            if new == _OPEN:
                self._opened_at = self.clock()
        return old

    def _notify(self, old: State, new: State) -> None:
        if old != new:
            for listener in tuple(self._listeners):
                listener(self, old, new)

    # ----------------------------------------------------------------- slow paths

    def _before_call(self) -> None:
        if self._state == _OPEN:
            now = self.clock()
            retry_at = self._opened_at + self.reset_timeout
            if now < retry_at:
                raise CircuitOpenError(self.name, retry_at, retry_at - now, self._failures)
            with self._lock:
                moved = self._state == _OPEN
                old = self._set_state(_HALF_OPEN) if moved else _HALF_OPEN
            if moved:
                self._notify(old, _HALF_OPEN)

    def _on_success(self) -> None:
        if self._state == _HALF_OPEN:
            with self._lock:
                self._trial_successes += 1
                done = self._state == _HALF_OPEN and (
                    self._trial_successes >= self.half_open_successes
                )
                old = self._set_state(_CLOSED) if done else _CLOSED
            if done:
                self._notify(old, _CLOSED)
        elif self._state == _CLOSED:
            with self._lock:
                self._failures = 0
                self._dirty = False

    def _counts(self, exc: BaseException) -> bool:
        failure_on = self._failure_on
        if isinstance(failure_on, tuple):
            return isinstance(exc, failure_on)
        return bool(failure_on(exc))

    def _on_failure(self, exc: BaseException) -> None:
        if not self._counts(exc):
            return
        with self._lock:
            self._failures += 1
            self._dirty = True
            trip = self._state == _HALF_OPEN or (
                self._state == _CLOSED and self._failures >= self.failure_threshold
            )
            old = self._set_state(_OPEN) if trip else _OPEN
        if trip:
            self._notify(old, _OPEN)

    # ----------------------------------------------------------------- public faces

    def call(self, fn: Callable[P, R], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Call ``fn(*args, **kwargs)`` through the breaker.

        A coroutine function's coroutine is wrapped so the outcome is recorded when it is awaited.

        Raises:
            CircuitOpenError: The circuit is open; ``fn`` was not called.
        """
        if self._dirty:
            self._before_call()
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:
            self._on_failure(exc)
            raise
        if result.__class__ is CoroutineType:
            return self._await(result)  # type: ignore[arg-type, return-value]
        if self._dirty:
            self._on_success()
        return result

    async def acall(self, fn: Callable[P, Awaitable[R]], /, *args: P.args, **kwargs: P.kwargs) -> R:
        """Await ``fn(*args, **kwargs)`` through the breaker (async twin of ``call``)."""
        if self._dirty:
            self._before_call()
        try:
            awaitable = fn(*args, **kwargs)
        except BaseException as exc:
            self._on_failure(exc)
            raise
        return await self._await(awaitable)

    async def _await(self, awaitable: Awaitable[R]) -> R:
        try:
            result = await awaitable
        except BaseException as exc:
            self._on_failure(exc)
            raise
        if self._dirty:
            self._on_success()
        return result

    def __call__(self, fn: Callable[P, R]) -> Callable[P, R]:
        """Decorate ``fn`` (sync or ``async def``) so every call goes through the breaker."""
        import functools
        import inspect

        if inspect.iscoroutinefunction(fn):
            acall = self.acall

            @functools.wraps(fn)
            async def async_wrapper(*args: Any, **kwargs: Any) -> Any:
                return await acall(fn, *args, **kwargs)

            return async_wrapper  # type: ignore[return-value]

        breaker = self

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if breaker._dirty:
                breaker._before_call()
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                breaker._on_failure(exc)
                raise
            if breaker._dirty:
                breaker._on_success()
            return result

        return wrapper
