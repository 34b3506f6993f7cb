"""The ``atomiton`` command, run as a real process through its console script."""

import json
import subprocess
import sys

from atomiton.devtools import __version__


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "atomiton.devtools._cli", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_version_prints_the_package_version() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.strip() == f"atomiton {__version__}"


def test_info_json_reports_the_running_python() -> None:
    result = run("info", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["python"] == ".".join(map(str, sys.version_info[:3]))
