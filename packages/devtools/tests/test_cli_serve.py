"""``atomiton devtools serve``: the inspector over the installed app's persisted entities."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from atomiton.storage import SQLiteStorage
from atomiton.store import create_client

pytestmark = pytest.mark.slow


def _serve(data_dir: Path, *args: str, token_env: str | None = None) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if k != "ATOMITON_DEVTOOLS_TOKEN"}
    env.update({"ATOMITON_DATA_DIR": str(data_dir), "PYTHONUNBUFFERED": "1"})
    if token_env is not None:
        env["ATOMITON_DEVTOOLS_TOKEN"] = token_env
    return subprocess.Popen(
        [sys.executable, "-m", "atomiton.devtools._cli", "devtools", "serve", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )


def _url(proc: subprocess.Popen[str]) -> str:
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.startswith("inspector: "):
            return line.split()[1]
    raise AssertionError("the server never printed its address")


def test_serve_shows_the_entities_persisted_in_the_default_storage(tmp_path: Path) -> None:
    storage = SQLiteStorage(str(tmp_path / "atomiton.db"))
    client = create_client(storage)
    client.stores.Task.add_many([{"title": "a"}, {"title": "b"}, {"title": "c"}])
    client.dispose()
    storage.close()

    export = {
        "format": "atomiton-devtools",
        "version": 1,
        "stores": {
            "saved": {
                "position": 1,
                "history": [
                    {"position": 0, "label": "attach", "timestamp": 1.0, "state": {"n": 0}},
                    {"position": 1, "label": "n", "timestamp": 2.0, "state": {"n": 5}},
                ],
            }
        },
        "timeline": [],
    }
    (tmp_path / "export.json").write_text(json.dumps(export))
    with _serve(tmp_path, "--import", str(tmp_path / "export.json")) as proc:
        try:
            url = _url(proc)
            assert url.startswith("http://127.0.0.1:")
            view = httpx.get(url + "api/state", timeout=10).json()
            assert {s["name"]: s["count"] for s in view["entities"]} == {"Task": 3}
            (saved,) = view["stores"]
            assert saved["atoms"] == {"n": 5}
            assert saved["imported"] is True
            proc.send_signal(signal.SIGINT)
            assert proc.wait(timeout=20) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_serve_stops_by_itself_after_the_given_duration(tmp_path: Path) -> None:
    started = time.monotonic()
    with _serve(tmp_path, "--for", "0.5") as proc:
        _url(proc)
        assert proc.wait(timeout=30) == 0
    assert time.monotonic() - started < 30


def test_serve_refuses_a_public_host_without_a_token(tmp_path: Path) -> None:
    env = dict(os.environ, ATOMITON_DATA_DIR=str(tmp_path))
    result = subprocess.run(
        [sys.executable, "-m", "atomiton.devtools._cli", "devtools", "serve", "--host", "0.0.0.0"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: refusing to serve the inspector on '0.0.0.0'")
    assert "--token-file PATH" in result.stderr
    assert "ATOMITON_DEVTOOLS_TOKEN" in result.stderr
    assert result.stderr.count("\n") == 1


@pytest.mark.parametrize("source", ["file", "env"])
def test_serve_takes_its_token_from_a_file_or_the_environment(tmp_path: Path, source: str) -> None:
    # Neither puts the token on the command line, where every user sees it in /proc/PID/cmdline.
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    args = ("--token-file", str(token_file)) if source == "file" else ()
    with _serve(
        tmp_path, "--for", "30", *args, token_env="s3cret-token" if source == "env" else None
    ) as proc:
        try:
            url = _url(proc)
            assert url.endswith("/?token=s3cret-token")
            base = url.split("/?")[0]
            assert "s3cret-token" not in Path(f"/proc/{proc.pid}/cmdline").read_text()
            assert httpx.get(base + "/api/state", timeout=10).status_code == 401
            bearer = {"Authorization": "Bearer s3cret-token"}
            assert httpx.get(base + "/api/state", headers=bearer, timeout=10).status_code == 200
        finally:
            proc.kill()
            proc.wait()
