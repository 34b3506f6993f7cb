"""The local Dask cluster a DaskWorkers owns, and how it grows and shrinks with the work.

An owned cluster is a ``distributed.LocalCluster`` of worker processes (each behind a nanny,
which restarts a worker that dies and lets DaskWorkers restart one that must be stopped), with
its scheduler in this process, listening on 127.0.0.1 only and without a dashboard. It keeps
between ``min_workers`` and ``max_workers`` workers: a submit that finds more unfinished jobs
than workers asks for more (up to ``max_workers``), and a worker that ran none of this pool's
jobs for ``idle_timeout`` seconds is closed (down to ``min_workers``).
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

__all__ = ["Scaler", "start_local_cluster"]

logger = logging.getLogger(__name__)


def start_local_cluster(n_workers: int, threads_per_worker: int) -> Any:
    """Start a LocalCluster of ``n_workers`` nanny-managed worker processes on 127.0.0.1."""
    from distributed import LocalCluster
    from distributed.deploy.cluster import Cluster

    class OwnedCluster(LocalCluster):
        """A LocalCluster that never closes a nanny because its worker was briefly missing.

        SpecCluster answers each worker removal with a timer (``lost-worker-timeout``, 15 s):
        if no worker of that name is registered when it fires, it closes the worker's nanny
        for good. A timer left by one restart (a crash, a hard cancel) fires during the gap of
        a later restart of the same nanny just as well, and the cluster silently loses that
        worker with the job it was running (seen in CI). Every worker here has a nanny that
        restarts it itself, so the timer can only do harm: removals update the worker list
        (``Cluster``'s bookkeeping) and nothing more. Overriding this private hook is pinned
        by a test that crashes a worker with the timer at 0.2 s.
        """

        def _update_worker_status(self, op: str, msg: Any) -> None:
            Cluster._update_worker_status(self, op, msg)  # type: ignore[no-untyped-call]

    return OwnedCluster(  # type: ignore[no-untyped-call]
        n_workers=n_workers,
        threads_per_worker=threads_per_worker,
        processes=True,
        host="127.0.0.1",
        scheduler_port=0,
        dashboard_address=None,
        # No dashboard, and its HTTP server (health, metrics) on a free port: the default 8787
        # may be taken, and Dask warns when it has to move.
        scheduler_kwargs={"dashboard": False, "dashboard_address": "127.0.0.1:0"},
        silence_logs=logging.CRITICAL,
    )


class Scaler:
    """Sizes an owned cluster between ``minimum`` and ``maximum`` workers.

    ``demand(n)`` is called on submit with the number of unfinished jobs; ``touch(address)`` when
    one of the pool's jobs starts or ends on a worker; ``check(busy)`` periodically with the
    addresses that run a job now, to close workers idle for longer than ``idle_timeout``.
    """

    def __init__(
        self, cluster: Any, minimum: int, maximum: int, idle_timeout: float | None
    ) -> None:
        self._cluster = cluster
        self._min = minimum
        self._max = maximum
        self.idle_timeout = idle_timeout
        self._target = minimum
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    @property
    def fixed(self) -> bool:
        """True when the cluster never changes size."""
        return self._min == self._max

    def demand(self, unfinished: int) -> None:
        """Grow toward ``unfinished`` workers (never past the maximum)."""
        want = min(self._max, unfinished)
        with self._lock:
            if want <= self._target:
                return
            self._target = want
        self._cluster.scale(want)

    def touch(self, address: str) -> None:
        """Record activity of the pool on ``address`` now."""
        self._last[address] = time.monotonic()

    def check(self, workers: dict[str, Any], busy: set[str]) -> None:
        """Close workers idle for ``idle_timeout`` seconds, keeping at least the minimum."""
        if self.idle_timeout is None or self.fixed:
            return
        now = time.monotonic()
        for address in workers:
            self._last.setdefault(address, now)
        for gone in set(self._last) - set(workers):
            del self._last[gone]
        idle = sorted(
            (self._last[a], a)
            for a in workers
            if a not in busy and now - self._last[a] >= self.idle_timeout
        )
        with self._lock:
            spare = len(workers) - max(self._min, 0)
            closing = [a for _, a in idle][: max(0, spare)]
            if not closing:
                return
            self._target = max(self._min, len(workers) - len(closing))
        names = [workers[a].get("name", a) for a in closing]
        for address in closing:
            self._last.pop(address, None)
        self._cluster.loop.add_callback(self._cluster.scale_down, names)
