"""The loop a worker process runs: read a batch of jobs from its pipe, run each, answer each.

Wire format (pickle over the worker's own local pipe, never to disk or network):

- parent -> worker: ``[(job_id, name, payload), ...]`` where ``payload`` is the pickled
  ``(fn, args, kwargs)``; ``(SKIP, job_id)`` for a job cancelled while it waits in the worker's
  queue; or ``None`` to stop.
- worker -> parent: ``(OK, job_id, result)``, ``(ERROR, job_id, exception, traceback_text)``,
  ``(SKIPPED, job_id)`` or ``(PROGRESS, job_id, current, total)``.

Between jobs the worker takes in every message already waiting (a non-blocking poll), so a job
sent ahead and then cancelled is skipped, never run.

Results go back one per job, in order, as soon as each job ends, so the first unanswered job of a
worker is always the one it runs: that is how a crash is pinned on the right job.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import pickle
import signal
import sys
import threading
import traceback
from collections import deque
from multiprocessing.connection import Connection
from typing import Any

from atomiton.execution._context import process_context, set_running
from atomiton.execution._errors import NotImportableError, SerializationError

__all__ = ["ERROR", "OK", "PROGRESS", "SKIP", "SKIPPED", "run_chunk", "worker_main"]

OK, ERROR, PROGRESS, SKIPPED, SKIP = 0, 1, 2, 3, 4
_dumps = pickle.dumps
_loads = pickle.loads
_PROTOCOL = pickle.HIGHEST_PROTOCOL


def run_chunk(fn: Any, chunk: list[Any], star: bool) -> list[Any]:
    """Run ``fn`` over a chunk of items (what ``map`` sends as one job).

    With one iterable the chunk holds the items themselves (``star`` False): smaller to pickle
    and ``map`` runs them without building an argument tuple per item.
    """
    return list(itertools.starmap(fn, chunk) if star else map(fn, chunk))


def _error_message(job_id: str, exc: BaseException) -> bytes:
    text = "".join(traceback.format_exception(exc))
    try:
        return _dumps((ERROR, job_id, exc, text), _PROTOCOL)
    except Exception as pickling_error:
        replacement = SerializationError(
            f"the job raised {type(exc).__name__}: {exc}, which cannot be pickled back "
            f"({pickling_error})"
        )
        return _dumps((ERROR, job_id, replacement, text), _PROTOCOL)


def worker_main(conn: Connection, close_fds: list[int], sys_path: list[str]) -> None:
    """Serve jobs from ``conn`` until the parent says stop or goes away."""
    # The parent's import path when the worker started: a forkserver child would otherwise
    # keep the path of whoever started the fork server, and miss the caller's modules.
    sys.path[:] = sys_path
    # Ctrl-C reaches the whole process group; the parent decides what happens to its workers.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    for fd in close_fds:  # other workers' pipe ends inherited through fork
        with contextlib.suppress(OSError):
            os.close(fd)
    send_lock = threading.Lock()
    send_bytes = conn.send_bytes
    job_id = ""

    def send_progress(current: float, total: float | None) -> None:
        data = _dumps((PROGRESS, job_id, current, total), _PROTOCOL)
        with send_lock:
            send_bytes(data)

    recv_bytes = conn.recv_bytes
    poll = conn.poll
    queued: deque[tuple[str, str, bytes]] = deque()
    skipped: set[str] = set()

    def take_in(data: bytes) -> bool:
        """Add a batch to the local queue or note a skip; False when told to stop."""
        message = _loads(data)
        if message is None:
            return False
        if type(message) is list:
            queued.extend(message)
        else:  # (SKIP, job_id): cancelled while it waited here
            skipped.add(message[1])
        return True

    while True:
        try:
            if not queued:
                if not take_in(recv_bytes()):
                    return
                continue
            # Between jobs, take in what else arrived (more jobs, skips) without blocking.
            while poll():
                if not take_in(recv_bytes()):
                    return
        except (EOFError, OSError):
            return  # the parent is gone
        job_id, name, payload = queued.popleft()
        if skipped and job_id in skipped:
            skipped.discard(job_id)
            data = _dumps((SKIPPED, job_id), _PROTOCOL)
        else:
            set_running(process_context(job_id, name, send_progress))
            try:
                data = _run_job(job_id, name, payload)
            finally:
                set_running(None)
        del payload  # nothing of a finished job stays in the worker while it waits
        with send_lock:
            send_bytes(data)


def _run_job(job_id: str, name: str, payload: bytes) -> bytes:
    """Run one pickled call and return the pickled answer.

    A function of its own so the callable, its arguments and its result die with its frame:
    the worker keeps nothing of a finished job while it waits for the next.
    """
    try:
        fn, args, kwargs = _loads(payload)
    except BaseException as exc:
        error = NotImportableError(
            f"the worker process cannot load job {name!r}: {type(exc).__name__}: {exc}. "
            "Process workers import the callable by name: define it at module level in "
            "a module the worker can import (not in __main__ under spawn/forkserver)"
        )
        return _error_message(job_id, error)
    try:
        result = fn(*args, **kwargs)
    except BaseException as exc:
        return _error_message(job_id, exc)
    try:
        return _dumps((OK, job_id, result), _PROTOCOL)
    except Exception as exc:
        return _error_message(
            job_id,
            SerializationError(
                f"the result of job {name!r} ({type(result).__name__}) cannot "
                f"be pickled back to the caller: {exc}"
            ),
        )
