"""``atomiton demo``, the real command in a real process: persistence, --inspect, --reset.

ATOMITON_DATA_DIR points at a temporary folder, so the demo's SQLite database is private to the
test and the user's own data directory is never touched.
"""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

pytestmark = pytest.mark.slow


def _command() -> list[str]:
    script = Path(sys.executable).with_name("atomiton")
    return [str(script)] if script.exists() else [sys.executable, "-m", "atomiton.devtools._cli"]


def _env(data_dir: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ATOMITON_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1", "COLUMNS": "160"})
    return env


def demo(data_dir: Path, *args: str) -> subprocess.CompletedProcess[str]:
    started = time.monotonic()
    result = subprocess.run(
        [*_command(), "demo", *args],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        env=_env(data_dir),
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert time.monotonic() - started < 30  # the bound (a run takes ~2 s here)
    return result


def test_demo_persists_across_runs_and_reset_starts_clean(tmp_path: Path) -> None:
    first = demo(tmp_path).stdout
    assert "run #1" in first
    assert (tmp_path / "atomiton.db").is_file()
    assert "worker crashed" in first
    assert "8/8 done, 0 failed, 100% of work" in first
    assert "undo restored it to 100%" in first
    assert "8 tasks from 1 run are persisted in SQLite" in first
    assert "primes below 300k" in first
    assert "25997" in first  # the workers really computed: pi(300000) = 25997

    second = demo(tmp_path).stdout
    assert "found 1 earlier run(s) and 8 task(s) persisted in SQLite" in second
    assert "run #2" in second
    assert "8 tasks (persisted earlier)" in second
    assert "16 tasks from 2 runs are persisted in SQLite" in second

    third = demo(tmp_path, "--reset").stdout
    assert "reset: removed 18 saved demo entities" in third
    assert "run #1" in third
    assert "8 tasks from 1 run are persisted in SQLite" in third


def test_demo_explains_itself_in_words_and_serve_last_opens_its_run(tmp_path: Path) -> None:
    out = demo(tmp_path).stdout
    intro = out[: out.index("[1/4] entities\n")]
    assert "atomiton is a toolkit for Python apps" in intro
    for step in ("[1/4] entities:", "[2/4] jobs:", "[3/4] atoms:", "[4/4] summary:"):
        assert step in intro  # what each step shows, before it runs
    for heading in ("[1/4] entities\n", "[2/4] jobs", "[3/4] atoms\n", "[4/4] summary\n"):
        assert heading in out
    assert "one worker crash is\n        deliberate" in intro
    assert "worker crashed while running 'primes below 240k' — deliberately" in out
    assert "{'" not in out  # the summary is words, not a raw dict
    assert "Jobs: 8 jobs succeeded, 1 job failed (the deliberate crash, retried)." in out
    saved = tmp_path / "devtools" / "last-demo.json"
    assert f"atomiton devtools serve --last (it opens the export saved in {saved}" in " ".join(
        out.split()
    ).replace(f"{saved} ", f"{saved}")
    export = json.loads(saved.read_text())
    assert export["format"] == "atomiton-devtools"
    assert len(export["timeline"]) > 500  # the whole run: the ring is larger than 300 now

    with subprocess.Popen(
        [*_command(), "devtools", "serve", "--last", "--port", "0", "--for", "60"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_env(tmp_path),
    ) as proc:
        try:
            assert proc.stdout is not None
            lines = []
            for line in proc.stdout:
                lines.append(line)
                if line.startswith("inspector: "):
                    break
            assert lines[0].strip() == f"loaded {saved}"
            url = lines[-1].split("inspector: ", 1)[1].split()[0]
            view = httpx.get(url.rstrip("/") + "/api/state", timeout=10).json()
            (ui,) = [store for store in view["stores"] if store["name"] == "ui"]
            assert ui["imported"] is True
            assert ui["atoms"]["crashes"] == 1
            page = httpx.get(url.rstrip("/") + "/api/timeline", timeout=10).json()
            assert page["kept"] == len(export["timeline"])
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_serve_last_without_a_demo_run_says_what_to_do(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_command(), "devtools", "serve", "--last", "--port", "0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        f"error: no saved demo run at {tmp_path / 'devtools' / 'last-demo.json'}: "
        "run 'atomiton demo' first (it saves one there)"
    )


def test_demo_inspect_keeps_the_inspector_open_on_the_running_demo(tmp_path: Path) -> None:
    with subprocess.Popen(
        [*_command(), "demo", "--inspect", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path),
    ) as proc:
        try:
            assert proc.stdout is not None
            url = None
            deadline = time.monotonic() + 90
            for line in proc.stdout:
                assert time.monotonic() < deadline, "the demo never said the inspector is open"
                if "inspector still open at " in line:
                    url = line.split("inspector still open at ", 1)[1].split()[0]
                    break
            assert url is not None
            assert url.startswith("http://127.0.0.1:")
            view = httpx.get(url.rstrip("/") + "/api/state", timeout=10).json()
            (ui,) = [store for store in view["stores"] if store["name"] == "ui"]
            assert sorted(ui["atoms"]) == ["crashes", "fraction", "overview", "progress", "status"]
            assert ui["derived"] == ["fraction", "overview"]  # shown read-only
            assert ui["atoms"]["fraction"] == 1.0
            assert ui["atoms"]["overview"]["done"] == 8
            assert set(ui["atoms"]["status"].values()) == {"done"}
            counts = {store["name"]: store["count"] for store in view["entities"]}
            assert counts["Task"] == 8
            assert any(job["status"] == "failed" for job in view["jobs"])  # the crashed attempt
            assert any(entry["kind"] == "event" for entry in view["timeline"])
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_demo_processes_3_converges_and_inspect_shows_one_timeline(tmp_path: Path) -> None:
    out = demo(tmp_path, "--processes", "3").stdout
    assert "the same app in 3 processes, kept in sync over the embedded SQLite transport" in out
    views = [line for line in out.splitlines() if line.startswith("process ")]
    assert [line.split(":")[0] for line in views] == ["process 1", "process 2", "process 3"]
    assert all("sees 9/9 tasks" in line for line in views)
    messages = {line.split("message ")[1].split(" (")[0] for line in views}
    assert len(messages) == 1  # the same last write everywhere
    assert f"converged: all 3 processes see the same 9 tasks and the message {messages.pop()}" in (
        out
    )

    with subprocess.Popen(
        [*_command(), "demo", "--processes", "3", "--inspect", "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=_env(tmp_path),
    ) as proc:
        try:
            assert proc.stdout is not None
            url = None
            for line in proc.stdout:
                if "inspector still open at " in line:
                    url = line.split("inspector still open at ", 1)[1].split()[0]
                    break
            assert url is not None
            page = httpx.get(url.rstrip("/") + "/api/timeline?limit=1000", timeout=10).json()
            assert len(page["origins"]) == 3  # this process ("") and its two children
            for origin in page["origins"]:
                kinds = {e["kind"] for e in page["entries"] if e["origin"] == origin}
                assert {"atom", "entity"} <= kinds, origin
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_demo_processes_out_of_range_is_one_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [*_command(), "demo", "--processes", "1"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=_env(tmp_path),
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "error: --processes must be 2..8, got 1"
