"""A job runner that moves from process workers to a Dask cluster by one setting.

    uv run examples/job_runner.py                      # ProcessWorkers on this machine
    uv run examples/job_runner.py --backend dask       # a local Dask cluster (DaskWorkers)
    ATOMITON_WORKERS=dask uv run examples/job_runner.py  # the same, from the environment

The code that schedules jobs does not change: it asks the container for "workers" and gets
whichever pool the setting "workers.backend" (or $ATOMITON_WORKERS) names. Pass
--address tcp://host:8786 with --backend dask to use a running cluster instead of a local one.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from atomiton.execution import current_job
from atomiton.platform import Container


def sum_of_squares(limit: int) -> int:
    """Some CPU work that reports its progress ten times."""
    job = current_job()
    total = 0
    step = max(1, limit // 10)
    for start in range(0, limit, step):
        total += sum(n * n for n in range(start, min(start + step, limit)))
        job.report_progress(min(start + step, limit), limit)
    return total


def run(settings: dict[str, Any], jobs: int) -> dict[int, int]:
    """Schedule ``jobs`` jobs on the container's workers; return limit -> result."""
    with Container.from_installed(settings) as container:
        workers = container.resolve("workers")
        print(f"backend: {type(workers).__name__} ({settings.get('workers.backend', 'default')})")
        started = time.monotonic()
        limits = [100_000 + 50_000 * n for n in range(jobs)]
        scheduled = [
            (limit, workers.schedule(sum_of_squares, args=(limit,), name=f"squares<{limit}"))
            for limit in limits
        ]
        results = {limit: job.result(timeout=120) for limit, job in scheduled}
        for limit, result in results.items():
            print(f"  sum of squares below {limit:>7}: {result}")
        print(f"{jobs} jobs in {time.monotonic() - started:.2f} s")
        return results


def main() -> None:
    """Parse the options and run the jobs."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--backend", choices=["threads", "processes", "dask"], default=None)
    parser.add_argument("--address", help="a running Dask scheduler (with --backend dask)")
    parser.add_argument("--jobs", type=int, default=4)
    args = parser.parse_args()
    settings: dict[str, Any] = {"workers.max_workers": 2}
    if args.backend:
        settings["workers.backend"] = args.backend
    if args.address:
        settings["workers.address"] = args.address
    run(settings, args.jobs)


if __name__ == "__main__":
    main()
