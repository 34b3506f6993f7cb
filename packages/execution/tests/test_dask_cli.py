"""DaskWorkers joined to a cluster started from the command line (dask scheduler, dask worker)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("distributed", reason="DaskWorkers needs atomiton-execution[dask]")

from atomiton.execution import (
    DaskWorkers,
    JobStatus,
    JobTimeoutError,
    Progress,
    WorkerCrashedError,
)

from .conftest import ROOT
from .dask_jobs import count_then_exit, record_pid_then_sleep, triple
from .execution_jobs import report_steps
from .test_dask import alive, wait_for


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def children_of(pid: int) -> set[int]:
    """Live (non-zombie) processes whose parent is ``pid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if int(fields[1]) == pid and fields[0] != "Z":
            found.add(int(entry.name))
    return found


@pytest.fixture
def cli_cluster(tmp_path: Path) -> Iterator[tuple[str, list[subprocess.Popen[bytes]]]]:
    """A scheduler and two nanny-managed workers, each started as its own command."""
    address = f"tcp://127.0.0.1:{free_port()}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([ROOT, os.environ.get("PYTHONPATH", "")])}

    def start(*command: str) -> subprocess.Popen[bytes]:
        return subprocess.Popen(
            [sys.executable, "-m", *command],
            env=env,
            cwd=tmp_path,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    port = address.rsplit(":", 1)[1]
    processes = [start("distributed.cli.dask_scheduler", "--host", "127.0.0.1", "--port", port)]
    processes += [
        start(
            "distributed.cli.dask_worker",
            address,
            "--nthreads",
            "1",
            "--host",
            "127.0.0.1",
            "--no-dashboard",
            "--local-directory",
            str(tmp_path / f"worker-{n}"),
        )
        for n in range(2)
    ]
    try:
        yield address, processes
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


@pytest.mark.slow
def test_a_command_line_cluster_runs_jobs_and_outlives_the_pool(
    cli_cluster: tuple[str, list[subprocess.Popen[bytes]]], tmp_path: Path
) -> None:
    from distributed import Client

    address, processes = cli_cluster
    ours_before = children_of(os.getpid())
    assert {p.pid for p in processes} <= ours_before
    workers = DaskWorkers(address=address, kill_grace=0.3, connect_timeout=60)
    try:
        workers.client.wait_for_workers(2, timeout=60)
        # Progress from a worker process on another "machine" reaches the caller.
        seen: list[Progress] = []
        job = workers.submit(report_steps, 3)
        job.add_progress_callback(seen.append)
        assert job.result(timeout=30) == 3
        assert wait_for(lambda: bool(seen) and seen[-1].current == 3)

        # A running job that ignores its flag is cancelled: its worker process is restarted.
        pid_file = tmp_path / "cancelled.pid"
        sleeper = workers.submit(record_pid_then_sleep, str(pid_file), 120)
        assert wait_for(lambda: sleeper.running() and pid_file.exists() and pid_file.read_text())
        assert sleeper.cancel()
        assert sleeper.status is JobStatus.CANCELLED
        assert wait_for(lambda: not alive(int(pid_file.read_text())), 60)

        # An overrunning job times out the same way.
        pid_file = tmp_path / "timed-out.pid"
        slow = workers.schedule(record_pid_then_sleep, args=(str(pid_file), 120), timeout=0.5)
        with pytest.raises(JobTimeoutError):
            slow.result(timeout=60)
        assert wait_for(lambda: not alive(int(pid_file.read_text())), 60)

        # A job that kills its worker fails once; Dask does not run it again elsewhere.
        runs = tmp_path / "runs"
        crasher = workers.submit(count_then_exit, str(runs))
        assert isinstance(crasher.exception(timeout=60), WorkerCrashedError)
        assert runs.read_text() == "run\n"
        assert list(workers.map(triple, range(100))) == [3 * n for n in range(100)]
        assert workers.stats().crashed == 1
    finally:
        workers.close()

    # The user's cluster still runs, with both workers (the nannies restarted the processes).
    assert all(process.poll() is None for process in processes)
    with Client(address, set_as_default=False, timeout=60) as client:  # type: ignore[no-untyped-call]
        client.wait_for_workers(2, timeout=60)
        assert client.submit(triple, 5, pure=False).result(timeout=30) == 15
    # Nothing of ours is left: no process beyond the cluster's, no atomiton thread.
    assert children_of(os.getpid()) == ours_before
    assert not [t.name for t in threading.enumerate() if t.name.startswith("atomiton-dask")]
