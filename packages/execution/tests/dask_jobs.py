"""Job functions for the DaskWorkers tests: module level, so Dask workers import them by name."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path
from typing import Any

from atomiton.execution import current_job


def fresh_token() -> str:
    return uuid.uuid4().hex


def record_pid_then_sleep(path: str, seconds: float) -> str:
    """Writes this worker's pid to ``path``, then sleeps without checking ``cancelled``."""
    Path(path).write_text(str(os.getpid()))
    time.sleep(seconds)
    return "slept"


def spin_until_cancelled(path: str, limit: float) -> str:
    """Cooperative: runs until ``current_job().cancelled``, then writes 'stopped' to ``path``."""
    job = current_job()
    Path(path).write_text("running")
    end = time.monotonic() + limit
    while time.monotonic() < end:
        if job.cancelled:
            Path(path).write_text(f"stopped {os.getpid()}")
            return "stopped"
        time.sleep(0.005)
    return "never cancelled"


def count_then_exit(path: str) -> None:
    """Appends a line to ``path`` (one per run), then kills its worker process."""
    with open(path, "a") as file:
        file.write("run\n")
    os._exit(7)


def triple(x: int) -> int:
    return 3 * x


def report_forever(path: str) -> None:
    """Reports progress every few ms until cancelled (for progress and cancel together)."""
    job = current_job()
    step = 0
    while not job.cancelled:
        step += 1
        job.report_progress(step)
        time.sleep(0.01)
    Path(path).write_text("stopped")


def kwargs_seen(**kwargs: Any) -> dict[str, Any]:
    return kwargs


def worker_pid() -> int:
    return os.getpid()
