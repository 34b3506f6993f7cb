"""What cannot cross the process boundary is a clear error for the caller, never a hung job."""

from __future__ import annotations

import threading

import pytest

from atomiton.execution import NotImportableError, SerializationError

from .execution_jobs import (
    ProcessWorkersFactory,
    UnpicklableError,
    echo,
    raise_error_holding_a_lock,
    raise_unpicklable_error,
    return_a_lock,
    square,
)


def module_level_but_shadowed(x: int) -> int:
    return x


def test_a_lambda_is_refused_at_submit_naming_the_problem(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    with pytest.raises(NotImportableError, match="module-level function"):
        workers.submit(lambda: 1)


def test_a_nested_function_is_refused_in_map_too(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    def nested(x: int) -> int:
        return x

    workers = make_process_workers(max_workers=1)
    with pytest.raises(NotImportableError, match="nested"):
        workers.map(nested, [1, 2])


def test_an_unpicklable_argument_is_refused_at_submit(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    with pytest.raises(SerializationError, match="arguments of job 'echo'"):
        workers.submit(echo, threading.Lock())
    assert workers.submit(square, 2).result(timeout=10) == 4


def test_an_unpicklable_result_fails_the_job_with_serialization_error(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    job = workers.submit(return_a_lock)
    with pytest.raises(SerializationError, match="cannot be pickled back"):
        job.result(timeout=10)
    assert workers.submit(square, 3).result(timeout=10) == 9


def test_an_exception_that_cannot_be_pickled_still_reaches_the_caller(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    with pytest.raises(SerializationError, match="holds a lock"):
        workers.submit(raise_error_holding_a_lock).result(timeout=10)
    assert workers.submit(square, 4).result(timeout=10) == 16


def test_an_exception_that_cannot_be_rebuilt_fails_the_job_not_the_pool(
    make_process_workers: ProcessWorkersFactory,
) -> None:
    workers = make_process_workers(max_workers=1)
    job = workers.submit(raise_unpicklable_error)
    with pytest.raises((SerializationError, UnpicklableError)):
        job.result(timeout=10)
    assert workers.submit(square, 5).result(timeout=10) == 25
