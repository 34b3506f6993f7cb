"""``atomiton info [--json]``: what this machine and interpreter offer atomiton."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rich.table import Table

import atomiton.platform as platform_pkg
from atomiton.devtools._console import console
from atomiton.devtools._jsonable import jsonable
from atomiton.devtools._version import __version__

_PLATFORM_FIELDS = (
    "os",
    "os_version",
    "arch",
    "implementation",
    "python_version",
    "free_threaded",
    "environment",
)
_CAPABILITY_FIELDS = (
    "cpu_count",
    "memory_total",
    "memory_available",
    "start_methods",
    "default_start_method",
    "sqlite_version",
    "sqlite_wal",
    "sqlite_json",
    "sqlite_fts5",
    "data_dir_writable",
)


def _fields(obj: Any, names: tuple[str, ...]) -> dict[str, Any]:
    data = jsonable(obj)
    if not isinstance(data, dict):
        data = {}
    for name in names:
        if name not in data and hasattr(obj, name):
            data[name] = jsonable(getattr(obj, name))
    return data


def info_report() -> dict[str, Any]:
    """Return the platform and capability report as JSON-safe data."""
    from importlib.metadata import PackageNotFoundError, version

    packages: dict[str, str | None] = {}
    for dist in ("platform", "events", "storage", "execution", "store", "devtools"):
        try:
            packages[f"atomiton-{dist}"] = version(f"atomiton-{dist}")
        except PackageNotFoundError:
            packages[f"atomiton-{dist}"] = None
    info = _fields(platform_pkg.detect(), _PLATFORM_FIELDS)
    if isinstance(info.get("python_version"), list):
        info["python_version"] = ".".join(map(str, info["python_version"]))
    return {
        "atomiton": __version__,
        "python": info.get("python_version"),
        "packages": packages,
        "platform": info,
        "capabilities": _fields(platform_pkg.capabilities(), _CAPABILITY_FIELDS),
        "data_dir": str(platform_pkg.data_dir()),
    }


def _size(value: Any) -> str:
    if isinstance(value, int) and not isinstance(value, bool) and value > 1 << 20:
        return f"{value / (1 << 30):.1f} GiB"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value)


def run_info(args: argparse.Namespace) -> int:
    """Print the report as a table (or JSON with ``--json``)."""
    report = info_report()
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
        return 0
    out = console()
    table = Table(title=f"atomiton {report['atomiton']}", show_header=False, title_justify="left")
    table.add_column("section", style="dim")
    table.add_column("name")
    table.add_column("value")
    for section in ("platform", "capabilities"):
        for name, value in report[section].items():
            table.add_row(section, name, _size(value))
    table.add_row("paths", "data_dir", report["data_dir"])
    for name, value in report["packages"].items():
        table.add_row("packages", name, value or "not installed")
    out.print(table)
    return 0
