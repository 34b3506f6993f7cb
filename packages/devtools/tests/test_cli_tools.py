"""``atomiton inspect``, ``replay`` and the benchmark table, run against real files."""

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from atomiton.devtools._bench_table import format_seconds, rows_from_report
from atomiton.devtools._cmd_bench import render
from atomiton.devtools._cmd_inspect import decode, storage_url
from atomiton.devtools._console import DelayedProgress
from atomiton.devtools._errors import CommandError
from atomiton.events import EventBus, EventLog
from atomiton.storage import FileStorage, SQLiteStorage


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atomiton.devtools._cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )


def test_inspect_lists_keys_sizes_and_decoded_values_under_a_prefix(tmp_path: Path) -> None:
    db = tmp_path / "app.db"
    with SQLiteStorage(str(db)) as storage:
        storage.write("todos/1", json.dumps({"title": "docs"}).encode())
        storage.write("todos/2", b"plain text")
        storage.write("blobs/1", b"\xff\x00\x01")
    result = run("inspect", f"sqlite:///{db}", "--prefix", "todos/", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["total"] == 2
    assert report["keys"] == [
        {"key": "todos/1", "size": 17, "encoding": "json", "value": {"title": "docs"}},
        {"key": "todos/2", "size": 10, "encoding": "text", "value": "plain text"},
    ]
    table = run("inspect", str(db))
    assert table.returncode == 0, table.stderr
    assert "3 key(s)" in table.stdout
    assert "blobs/1" in table.stdout
    assert "ff0001" in table.stdout


def test_inspect_reads_a_file_storage_folder(tmp_path: Path) -> None:
    root = tmp_path / "files"
    with FileStorage(str(root)) as storage:
        storage.write("a/b", b"[1, 2]")
    result = run("inspect", f"file://{root}", "--json")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["keys"][0]["value"] == [1, 2]


def test_storage_url_refuses_what_it_would_have_to_create(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="no SQLite database"):
        storage_url(f"sqlite:///{tmp_path}/nope.db")
    with pytest.raises(CommandError, match="no storage folder"):
        storage_url(f"file://{tmp_path}/nope")
    with pytest.raises(CommandError, match="memory"):
        storage_url("memory://")
    assert storage_url(str(tmp_path)) == f"file://{tmp_path}"
    with pytest.raises(CommandError, match=r"cannot inspect redis:// storage"):
        storage_url("redis://localhost/0")


def test_decode_prefers_json_then_text_then_hex() -> None:
    assert decode(b'{"a": 1}') == ("json", {"a": 1})
    assert decode(b"hello") == ("text", "hello")
    assert decode(b"\xff") == ("bytes", "ff")


def test_replay_prints_the_logged_events_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        bus = EventBus(log=log)
        bus.emit("job.started", {"id": 1}, source="execution")
        bus.emit("job.done", {"id": 1}, source="execution")
        bus.emit("user.login", {"name": "ada"}, source="app")
    result = run("replay", str(path))
    assert result.returncode == 0, result.stderr
    assert "3 event(s) replayed" in result.stdout
    out = result.stdout
    assert out.index("job.started") < out.index("job.done") < out.index("user.login")
    filtered = run("replay", str(path), "--pattern", "job.*")
    assert "user.login" not in filtered.stdout
    assert "job.done" in filtered.stdout
    assert "3 event(s) replayed, 2 shown (pattern 'job.*')" in filtered.stdout
    everything = run("replay", str(path), "--pattern", "*.*")
    assert "3 event(s) replayed, 3 shown (pattern '*.*')" in everything.stdout


def test_replay_of_a_missing_log_is_one_clear_error(tmp_path: Path) -> None:
    result = run("replay", str(tmp_path / "none.jsonl"))
    assert result.returncode == 1
    assert result.stderr.strip() == f"error: no event log at {tmp_path / 'none.jsonl'}"


def _bench(group: str, impl: str, mean: float, target: float | None = None) -> dict[str, object]:
    extra: dict[str, object] = {"impl": impl}
    if target is not None:
        extra["target_s"] = target
    return {
        "group": group,
        "name": f"t_{impl}",
        "extra_info": extra,
        "stats": {"mean": mean, "rounds": 5},
    }


def test_bench_rows_put_every_peer_beside_atomiton_with_the_ratio() -> None:
    report = {
        "benchmarks": [
            _bench("store: get", "atomiton", 2e-7, target=2.5e-7),
            _bench("store: get", "reaktiv", 6e-7),
            _bench("store: get", "solara", 1e-6),
            _bench("events: emit", "atomiton", 1e-6),
            _bench("events: emit", "blinker", 5e-7),
            _bench("events: only-peer", "pyee", 1e-6),
        ]
    }
    rows = rows_from_report(report, compare=True)
    assert [(r.group, r.peer) for r in rows] == [
        ("events: emit", "blinker"),
        ("store: get", "reaktiv"),
        ("store: get", "solara"),
    ]
    assert rows[0].ratio == pytest.approx(0.5)
    assert rows[1].ratio == pytest.approx(3.0)
    assert rows[1].meets_target is True
    assert rows[1].package == "store"
    fastest = rows_from_report(report, compare=False)
    assert [(r.group, r.peer) for r in fastest] == [
        ("events: emit", "blinker"),
        ("store: get", "reaktiv"),
    ]


def test_format_seconds_picks_readable_units() -> None:
    assert [format_seconds(s) for s in (2.0, 0.0031, 4.2e-6, 3e-8)] == [
        "2 s",
        "3.1 ms",
        "4.2 µs",
        "30 ns",
    ]


BENCH_SUITE = """
import pytest


@pytest.mark.benchmark(group="demo: sum")
def test_sum_atomiton(benchmark):
    benchmark.extra_info["impl"] = "atomiton"
    benchmark.extra_info["target_s"] = 1.0
    benchmark.pedantic(sum, args=(range(10),), rounds=3, iterations=1)


@pytest.mark.benchmark(group="demo: sum")
def test_sum_loop(benchmark):
    benchmark.extra_info["impl"] = "python-loop"

    def loop():
        total = 0
        for n in range(1000):
            total += n
        return total

    benchmark.pedantic(loop, rounds=3, iterations=1)
"""


@pytest.mark.slow
def test_bench_runs_the_suites_and_prints_the_side_by_side_table(tmp_path: Path) -> None:
    suite = tmp_path / "benchmarks"
    suite.mkdir()
    (suite / "test_demo_bench.py").write_text(BENCH_SUITE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "atomiton.devtools._cli",
            "bench",
            "--compare",
            "--path",
            str(suite),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    line = next(line for line in result.stdout.splitlines() if "demo: sum" in line)
    assert "python-loop" in line
    assert "ok 1 s" in line
    assert line.rstrip(" │|").endswith("x")


def test_bench_without_a_benchmark_folder_is_a_clear_error(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "atomiton.devtools._cli", "bench", "--path", str(tmp_path / "no")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error: no benchmark folder at")


def test_bench_k_matching_nothing_says_so(tmp_path: Path) -> None:
    suite = tmp_path / "benchmarks"
    suite.mkdir()
    (suite / "test_demo_bench.py").write_text(BENCH_SUITE)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "atomiton.devtools._cli",
            "bench",
            "--path",
            str(suite),
            "-k",
            "no_such_case",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=tmp_path,
    )
    assert result.returncode == 1
    assert result.stderr.startswith(
        f"error: no benchmark under {str(suite)!r} matched -k 'no_such_case': nothing ran"
    )


def test_bench_table_folds_long_case_names_instead_of_cutting_them() -> None:
    names = [f"store: entity query by indexed field with sort, variant {n}" for n in (1, 2)]
    rows = rows_from_report({"benchmarks": [_bench(name, "atomiton", 1e-6) for name in names]})
    text = io.StringIO()
    Console(file=text, width=70).print(render(rows, compare=False))
    # the case column, line by line: a name may fold over lines but never loses text
    column = "".join(
        line.split("│")[1].strip() for line in text.getvalue().splitlines() if "│" in line
    )
    for name in names:
        assert "".join(name.split()) in "".join(column.split())
    assert "…" not in text.getvalue()


def test_delayed_progress_stays_quiet_for_quick_work_and_shows_slow_work() -> None:
    quiet = io.StringIO()
    with DelayedProgress(Console(file=quiet, width=100), "quick", total=3, delay=60) as bar:
        for _ in range(3):
            bar.advance()
    assert quiet.getvalue() == ""

    shown = io.StringIO()
    with DelayedProgress(Console(file=shown, width=100), "slow", total=2, delay=0) as bar:
        bar.advance()
        bar.advance()
    assert "slow" in shown.getvalue()
    assert "2/2" in shown.getvalue()
