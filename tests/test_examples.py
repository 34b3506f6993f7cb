"""The examples/ apps, each run as its own real process(es), the way their docstrings say.

- ``todo_web.py``: two server processes on one data folder; a todo posted to one reaches a page
  following the other's live list over server-sent events.
- ``job_runner.py``: the same jobs on ProcessWorkers and, by one setting, on a local Dask cluster.
- ``notes_cli.py``: atoms persisted with ``atom_with_storage`` survive from one command to the next.
"""

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from atomiton.platform.testing import free_port

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytestmark = pytest.mark.slow


def run(script: str, *args: str) -> str:
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / script), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_notes_cli_keeps_its_atoms_from_one_process_to_the_next(tmp_path: Path) -> None:
    db = str(tmp_path / "notes.db")
    assert run("notes_cli.py", "--db", db, "add", "buy milk").splitlines() == [
        "1. [ ] buy milk",
        "1 left to do",
    ]
    run("notes_cli.py", "--db", db, "add", "call Ada")
    assert run("notes_cli.py", "--db", db, "done", "1").splitlines() == [
        "1. [x] buy milk",
        "2. [ ] call Ada",
        "1 left to do",
    ]
    assert run("notes_cli.py", "--db", db, "list").splitlines()[-1] == "1 left to do"
    assert run("notes_cli.py", "--db", db, "clear").splitlines() == ["0 left to do"]
    assert run("notes_cli.py", "--db", db, "list").splitlines() == ["0 left to do"]


@pytest.mark.parametrize(
    ("backend", "pool"), [("processes", "ProcessWorkers"), ("dask", "DaskWorkers")]
)
def test_job_runner_moves_to_dask_by_one_setting(backend: str, pool: str) -> None:
    out = run("job_runner.py", "--backend", backend, "--jobs", "3")
    assert out.splitlines()[0] == f"backend: {pool} ({backend})"
    assert "sum of squares below  100000: 333328333350000" in out  # sum(n*n for n < 100000)
    assert "3 jobs in" in out


class Server:
    def __init__(self, data: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        command = [sys.executable, str(EXAMPLES / "todo_web.py"), "--port", str(self.port)]
        self.process = subprocess.Popen(
            [*command, "--data", str(data)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 30
        while True:
            assert self.process.poll() is None, self.process.communicate()[1]
            try:
                if httpx.get(self.url + "/todos", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the todo server did not start"
            time.sleep(0.1)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.process.stderr is not None:
            self.process.stderr.close()


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[tuple[Server, Server]]:
    first = Server(tmp_path)
    try:
        second = Server(tmp_path)
        try:
            yield first, second
        finally:
            second.stop()
    finally:
        first.stop()


def test_todo_web_keeps_the_live_list_current_across_two_server_processes(
    servers: tuple[Server, Server],
) -> None:
    first, second = servers
    with httpx.stream("GET", second.url + "/events", timeout=20) as stream:
        lines = stream.iter_lines()
        frames = (json.loads(line[6:]) for line in lines if line.startswith("data: "))
        assert next(frames) == []  # the live list, at once
        added = httpx.post(first.url + "/todos", json={"title": "buy milk"}, timeout=10)
        assert added.status_code == 201
        assert [todo["title"] for todo in next(frames)] == ["buy milk"]  # from the other process
        httpx.post(second.url + "/todos", json={"title": "call Ada"}, timeout=10)
        assert [todo["title"] for todo in next(frames)] == ["buy milk", "call Ada"]
    titles = [todo["title"] for todo in httpx.get(first.url + "/todos", timeout=10).json()]
    assert titles == ["buy milk", "call Ada"]
    refused = httpx.post(first.url + "/todos", json={"title": "  "}, timeout=10)
    assert refused.status_code == 400
