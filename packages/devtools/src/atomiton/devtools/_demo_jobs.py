"""The demo's CPU-bound work, run in process workers (module-level, so workers can import it).

Kept free of heavy imports: a worker started with ``spawn`` imports this module by name.
"""

from __future__ import annotations

import os

from atomiton.execution import current_job

_STEPS = 25


def count_primes(limit: int, crash: bool = False) -> int:
    """Count the primes below ``limit`` by trial division, reporting progress 25 times.

    Args:
        limit: upper bound (exclusive).
        crash: end the worker process abruptly first (``os._exit``), as a segfault or an
            out-of-memory kill would; the demo uses it to show crash recovery.

    Returns:
        How many primes are below ``limit``.
    """
    if crash:
        os._exit(70)
    job = current_job()
    count = 1 if limit > 2 else 0
    step = max(1, limit // _STEPS)
    for start in range(3, limit, step):
        for n in range(start | 1, min(start + step, limit), 2):
            divisor = 3
            while divisor * divisor <= n:
                if n % divisor == 0:
                    break
                divisor += 2
            else:
                count += 1
        job.report_progress(min(limit, start + step), limit)
    return count
