"""Jobs for the cross-package event test; a module of its own so worker processes import it."""

from __future__ import annotations

import time

from atomiton.execution import current_job


def report_steps(steps: int) -> int:
    job = current_job()
    for step in range(1, steps + 1):
        job.report_progress(step, steps)
    return steps


def fail(message: str) -> None:
    raise ValueError(message)


def sleep_then_return(seconds: float, value: object = None) -> object:
    time.sleep(seconds)
    return value
