"""The ``atomiton`` command, run as a real process: versions, reports, one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

from atomiton.devtools import __version__
from atomiton.devtools._cli import main


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atomiton.devtools._cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=cwd,
    )


def test_version_prints_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"atomiton {__version__}"


def test_info_json_reports_the_running_python_and_capabilities() -> None:
    result = run("info", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["python"] == ".".join(map(str, sys.version_info[:3]))
    assert report["capabilities"]["cpu_count"] >= 1
    assert report["platform"]["os"] in {"linux", "darwin", "windows"}
    assert report["packages"]["atomiton-devtools"] == __version__


def test_info_table_names_the_capabilities() -> None:
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert "cpu_count" in result.stdout
    assert "sqlite_version" in result.stdout


def test_an_error_is_one_line_and_a_non_zero_exit(tmp_path: Path) -> None:
    result = run("inspect", str(tmp_path / "missing.db"))
    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert result.stderr.startswith("error: no SQLite database at")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "missing.db").exists()


def test_debug_shows_the_traceback(tmp_path: Path) -> None:
    result = run("--debug", "inspect", str(tmp_path / "missing.db"))
    assert result.returncode != 0
    assert "Traceback" in result.stderr
    assert "CommandError" in result.stderr


def test_debug_is_also_accepted_after_the_command(tmp_path: Path) -> None:
    result = run("inspect", str(tmp_path / "missing.db"), "--debug")
    assert result.returncode != 0
    assert "Traceback" in result.stderr


def test_no_command_prints_help_and_exits_2(capsys: object) -> None:
    assert main([]) == 2


def test_unknown_command_is_a_usage_error() -> None:
    result = run("frobnicate")
    assert result.returncode == 2
    assert "invalid choice" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1  # one line, no usage dump


def test_a_bad_option_value_is_a_one_line_usage_error() -> None:
    result = run("devtools", "serve", "--for", "-1")
    assert result.returncode == 2
    assert result.stderr.strip() == (
        "atomiton devtools serve: error: argument --for: must be >= 0, got -1 "
        "(see atomiton devtools serve --help)"
    )


COMMANDS = [["info"], ["demo"], ["devtools"], ["devtools", "serve"], ["inspect"], ["replay"]]
COMMANDS.append(["bench"])


def test_every_command_help_has_a_description() -> None:
    for command in COMMANDS:
        result = run(*command, "--help")
        assert result.returncode == 0, command
        _usage, _, rest = result.stdout.partition("\n\n")
        description = rest.split("\n\n")[0]
        assert not description.lstrip().startswith(("options:", "positional")), command
        assert len(description.split()) >= 5, (command, description)


def test_an_unknown_option_names_the_commands_own_help() -> None:
    for command in (["demo"], ["devtools", "serve"], ["replay", "x.jsonl"]):
        result = run(*command, "--bogus")
        assert result.returncode == 2
        prog = " ".join(c for c in command if c != "x.jsonl")
        assert result.stderr.strip() == (
            f"atomiton {prog}: error: unrecognized arguments: --bogus (see atomiton {prog} --help)"
        )
