"""``inspect`` and ``replay`` against hostile or huge input: read-only, data not markup, streaming.

The commands run in this process through ``main`` (output captured by pytest), except where the
point is what a real process leaves on disk.
"""

import contextlib
import hashlib
import io
import json
import os
import sqlite3
import stat
import subprocess
import sys
import tracemalloc
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pytest
from rich.console import Console

from atomiton.devtools._cli import main
from atomiton.devtools._cmd_inspect import decode
from atomiton.devtools._console import DelayedProgress
from atomiton.events import EventBus, EventLog
from atomiton.storage import FileStorage, SQLiteStorage

ESC = "\x1b"
CSI = "\x9b"  # the one-byte form of ESC [


def _snapshot(root: Path) -> dict[str, tuple[int, int, str]]:
    """Every file under ``root``: size, mtime and content hash (so any write shows)."""
    files = {}
    for path in sorted(root.rglob("*")):
        if path.is_file():
            info = path.stat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            files[str(path.relative_to(root))] = (info.st_size, info.st_mtime_ns, digest)
    return files


@contextlib.contextmanager
def _read_only(*paths: Path) -> Iterator[None]:
    """chmod ``paths`` read-only for the test (it binds when not run as root), restored after."""
    modes = {path: path.stat().st_mode for path in paths}
    for path in paths:
        path.chmod(stat.S_IMODE(modes[path]) & ~0o222)
    try:
        yield
    finally:
        for path, mode in modes.items():
            path.chmod(stat.S_IMODE(mode))


def _run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atomiton.devtools._cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


# -- inspect never writes -------------------------------------------------------------------------
def test_inspect_of_a_sqlite_file_writes_nothing_and_purges_no_expired_row(tmp_path: Path) -> None:
    folder = tmp_path / "data"
    folder.mkdir()
    db = folder / "app.db"
    with SQLiteStorage(str(db)) as storage:
        storage.write("live", b"1")
        storage.write("old", b"2", ttl=3600)
    with closing(sqlite3.connect(db)) as raw, raw:  # expire "old" without waiting for it
        raw.execute("UPDATE atomiton_kv SET expires = 1.0 WHERE key = 'old'")
    raw.close()
    before = _snapshot(folder)
    assert set(before) == {"app.db"}
    with _read_only(db, folder):
        result = _run_cli("inspect", str(db), "--json")
    assert result.returncode == 0, result.stderr
    assert [row["key"] for row in json.loads(result.stdout)["keys"]] == ["live"]
    assert _snapshot(folder) == before  # no -wal, -shm or journal; the file itself untouched
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as raw, raw:
        kept = raw.execute("SELECT key FROM atomiton_kv ORDER BY key").fetchall()
    raw.close()
    assert kept == [("live",), ("old",)]  # the expired row is still there


def test_inspect_of_a_folder_creates_no_lock_file(tmp_path: Path) -> None:
    root = tmp_path / "files"
    with FileStorage(str(root)) as storage:
        storage.write("a/b", b"[1, 2]")
    (root / "~lock").unlink()  # as if no writer had opened it yet; a plain folder works the same
    before = _snapshot(root)
    with _read_only(root):
        result = _run_cli("inspect", f"file://{root}", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["keys"][0]["value"] == [1, 2]
    assert _snapshot(root) == before
    assert not (root / "~lock").exists()


def test_inspect_of_a_plain_folder_leaves_it_as_it_was(tmp_path: Path) -> None:
    folder = tmp_path / "etc"
    folder.mkdir()
    (folder / "hosts").write_text("127.0.0.1 localhost\n")
    before = _snapshot(folder)
    result = _run_cli("inspect", str(folder))
    assert _snapshot(folder) == before, result.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["hosts"]


# -- data, not markup or terminal control ---------------------------------------------------------
def test_replay_prints_markup_and_control_characters_as_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        bus = EventBus(log=log)
        bus.emit("[/]", {"note": "[bold]not bold[/bold]"}, source="[red]")
        bus.emit(f"evil{ESC}]0;pwned{ESC}\\", {"v": f"{ESC}[2J{CSI}31m\u202eabc"}, source="app")
    assert main(["replay", str(path)]) == 0
    out = capsys.readouterr().out
    assert "[/]" in out
    assert "[bold]not bold[/bold]" in out
    assert "[red]" in out
    assert ESC not in out
    assert CSI not in out
    assert "\u202e" not in out
    assert "evil\\x1b]0;pwned\\x1b\\" in out
    assert "\\u001b[2J\\x9b31m\\u202eabc" in out  # json.dumps escapes C0; C1 and bidi by us
    assert "2 event(s) replayed" in out


def test_inspect_prints_markup_and_control_characters_as_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    with SQLiteStorage(str(db)) as storage:
        storage.write("[/]", f"text{ESC}[31m red{CSI}".encode())
        storage.write("k[bold]", b'{"a": "[/]"}')
    assert main(["inspect", str(db)]) == 0
    out = capsys.readouterr().out
    assert ESC not in out
    assert CSI not in out
    assert "[/]" in out
    assert "k[bold]" in out
    assert "text\\x1b[31m red\\x9b" in out


def test_replay_of_deeply_nested_json_is_one_clear_error_naming_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "events.jsonl"
    good = '{"id":1,"type":"ok","data":null,"source":null,"timestamp":1.0}'
    deep = '{"id":2,"type":"x","data":' + "[" * 100_000 + "]" * 100_000 + ',"source":null'
    path.write_text(good + "\n" + deep + ',"timestamp":1.0}\n')
    assert main(["replay", str(path)]) == 1
    captured = capsys.readouterr()
    assert (
        captured.err == f"error: {path}, line 2: the record's JSON is nested too deeply to read\n"
    )
    assert "ok" in captured.out  # the event before it was replayed and printed


@pytest.mark.parametrize(
    ("line", "message"),
    [(b"\xff\xfe\n", "line 1: not UTF-8 text"), (b'{"id": 1}\n', "line 1: not an event record")],
)
def test_replay_of_a_bad_line_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], line: bytes, message: str
) -> None:
    path = tmp_path / "events.jsonl"
    path.write_bytes(line)
    assert main(["replay", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: {path}, {message}")
    assert err.count("\n") == 1


def test_inspect_shows_deeply_nested_json_as_text() -> None:
    deep = b"[" * 100_000 + b"]" * 100_000
    assert decode(deep) == ("text", deep.decode())
    assert decode(b"[" * 101 + b"]" * 101)[0] == "text"
    assert decode(b"[" * 100 + b"]" * 100)[0] == "json"


def test_inspect_of_a_deeply_nested_value_prints_it_as_text(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    db = tmp_path / "app.db"
    with SQLiteStorage(str(db)) as storage:
        storage.write("deep", b"[" * 100_000 + b"]" * 100_000)
    assert main(["inspect", str(db), "--json"]) == 0
    (row,) = json.loads(capsys.readouterr().out)["keys"]
    assert row["encoding"] == "text"


# -- replay streams -------------------------------------------------------------------------------
def test_replay_of_a_large_log_streams_in_bounded_memory(tmp_path: Path) -> None:
    path = tmp_path / "big.jsonl"
    payload = {"user": "ada", "items": list(range(20)), "note": "x" * 80}
    with path.open("w") as file:
        for n in range(16_000):
            record = {"id": n, "type": f"app.e{n % 7}", "data": payload, "source": "t"}
            file.write(json.dumps({**record, "timestamp": 1.0}) + "\n")
    size = path.stat().st_size
    assert size > 4_000_000
    small = tmp_path / "small.jsonl"
    with path.open() as source:
        small.write_text("".join(next(source) for _ in range(10)))
    with open(os.devnull, "w") as sink, contextlib.redirect_stdout(sink):
        assert main(["replay", str(small)]) == 0  # imports and caches: not the log's memory
        with DelayedProgress(Console(file=io.StringIO()), "warm up", 1, delay=0) as bar:
            bar.advance()  # the bar a slow run shows imports rich's emoji table (1.4 MB)
        tracemalloc.start()
        try:
            status = main(["replay", str(path), "--pattern", "app.e1"])
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert status == 0
    # Before, every event stayed in the timeline until the end: a peak of several times the file.
    assert peak < size / 8, f"peak {peak} bytes for a {size}-byte log"


def test_an_error_quoting_control_characters_reaches_stderr_escaped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / f"log{ESC}[2J.jsonl"
    assert main(["replay", str(missing)]) == 1
    err = capsys.readouterr().err
    assert ESC not in err
    assert err == f"error: no event log at {tmp_path}/log\\x1b[2J.jsonl\n"


def test_serve_import_of_deeply_nested_json_is_one_clear_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "export.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    assert main(["devtools", "serve", "--port", "0", "--import", str(path)]) == 1
    assert capsys.readouterr().err == f"error: {path}: its JSON is nested too deeply to read\n"
