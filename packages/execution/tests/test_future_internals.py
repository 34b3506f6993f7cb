"""Job reuses a few private Future internals; if a CPython release changes them, fail loudly."""

from __future__ import annotations

from concurrent.futures import Future
from concurrent.futures import _base as futures_base

from atomiton.execution import ThreadWorkers


def test_the_future_internals_job_relies_on_are_present() -> None:
    future: Future[int] = Future()
    assert set(vars(future)) == {
        "_condition",
        "_state",
        "_result",
        "_exception",
        "_waiters",
        "_done_callbacks",
    }
    assert callable(future._invoke_callbacks)  # type: ignore[attr-defined]
    for state in ("PENDING", "RUNNING", "CANCELLED", "CANCELLED_AND_NOTIFIED", "FINISHED"):
        assert getattr(futures_base, state) == state


def test_a_job_carries_every_field_a_future_has() -> None:
    with ThreadWorkers(1) as workers:
        job = workers.submit(abs, -1)
        assert job.result(timeout=10) == 1
    future: Future[int] = Future()
    # The condition and the two lists are made on first use, so read them rather than vars().
    for field in vars(future):
        assert hasattr(job, field), field
    assert isinstance(job._condition, type(future._condition))
    assert job._waiters == []
    assert job._done_callbacks == []
