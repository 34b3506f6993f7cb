"""The ``atomiton`` command's argument parser.

Imported only when a command other than ``atomiton --version`` runs: argparse, with its
gettext/re/shutil imports, costs ~15 ms of the 100 ms budget of ``--version`` (issue 19).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import NoReturn

from atomiton.devtools._serve_options import add_serve_options
from atomiton.devtools._version import __version__

__all__ = ["build_parser"]


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage error is one line too (naming ``--help``), exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _at_least_zero(kind: type[int] | type[float]) -> Callable[[str], float]:
    """An argparse type: a number of ``kind`` that is not negative (one-line usage error)."""

    def parse(text: str) -> float:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
        return value

    return parse


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for the ``atomiton`` command."""
    parser = _Parser(
        prog="atomiton",
        description="The atomiton command: platform report, demo, inspector, storage and events "
        "tools, benchmarks.",
    )
    parser.add_argument("--version", action="version", version=f"atomiton {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    # --debug is accepted after the command too (atomiton demo --debug); SUPPRESS keeps a
    # top-level --debug from being reset by the sub-command's default.
    common = _Parser(add_help=False)
    common.add_argument(
        "--debug", action="store_true", default=argparse.SUPPRESS, help="show tracebacks"
    )

    info = commands.add_parser(
        "info",
        parents=[common],
        help="platform and capability report",
        description="Report this machine and what atomiton can use on it: OS and Python, CPUs "
        "and memory, process start methods, SQLite features, the data folder and the installed "
        "atomiton packages.",
    )
    info.add_argument("--json", action="store_true", help="print the report as JSON")

    demo = commands.add_parser(
        "demo",
        parents=[common],
        help="run the demo application (the place to start)",
        description="Run a small atomiton app end to end in under 30 seconds: atoms and derived "
        "atoms, persisted entities, events, jobs on worker processes (one crash is deliberate) "
        "and time travel. The run is saved as a DevTools export; "
        "'atomiton devtools serve --last' opens it in the web inspector.",
    )
    demo.add_argument("--reset", action="store_true", help="delete the demo's saved data first")
    demo.add_argument(
        "--inspect", action="store_true", help="keep the web inspector open on the running demo"
    )
    demo.add_argument(
        "--processes",
        type=int,
        metavar="N",
        help="run the app in N processes (2..8) kept in sync over the embedded SQLite transport "
        "and show each one's view converge; with --inspect, one timeline for all of them",
    )
    add_serve_options(demo)

    devtools = commands.add_parser(
        "devtools",
        parents=[common],
        help="developer tools (the web inspector)",
        description="Developer tools. 'atomiton devtools serve' serves the web inspector.",
    )
    tools = devtools.add_subparsers(dest="tool", metavar="TOOL", required=True)
    serve = tools.add_parser(
        "serve",
        parents=[common],
        help="serve the web inspector over the installed app's data (Ctrl-C stops)",
        description="Serve the web inspector (timeline, time travel, diffs, entity stores, jobs, "
        "events) over the installed app's event bus and entity client, optionally with a saved "
        "DevTools export loaded: --import FILE, or --last for the last 'atomiton demo' run. "
        "Ctrl-C stops it.",
    )
    add_serve_options(serve)
    source = serve.add_mutually_exclusive_group()
    source.add_argument("--import", dest="import_path", help="load a DevTools export (JSON) first")
    source.add_argument(
        "--last", action="store_true", help="load the export the last 'atomiton demo' saved"
    )
    serve.add_argument(
        "--for", dest="duration", type=_at_least_zero(float), help="stop after this many seconds"
    )

    inspect = commands.add_parser(
        "inspect",
        parents=[common],
        help="list keys, sizes and decoded values of a storage",
        description="List the keys of a storage with their sizes and decoded values, read-only "
        "(nothing is created, purged or locked in the inspected folder).",
    )
    inspect.add_argument("url", help="sqlite:///path/app.db, file:///dir or a path to a .db file")
    inspect.add_argument("--prefix", default="", help="only keys starting with this")
    inspect.add_argument(
        "--limit", type=_at_least_zero(int), default=200, help="show at most this many keys"
    )
    inspect.add_argument("--json", action="store_true", help="print JSON instead of a table")

    replay = commands.add_parser(
        "replay",
        parents=[common],
        help="re-emit an event log and print its timeline",
        description="Re-emit every event of an EventLog file (JSON lines) on a fresh event bus "
        "watched by DevTools and print each one; --pattern shows only the matching ones and "
        "the last line counts both.",
    )
    replay.add_argument("log", help="an EventLog file (JSON lines)")
    replay.add_argument("--pattern", default="**", help="only events matching this pattern")

    bench = commands.add_parser(
        "bench",
        parents=[common],
        help="run the benchmark suites and print the ratios",
        description="Run the pytest-benchmark suites (from the workspace root, or --path) and "
        "print atomiton's time beside the fastest peer's (every peer with --compare) and the "
        "ratio peer / atomiton: above 1 means atomiton is faster.",
    )
    bench.add_argument("--compare", action="store_true", help="show every peer beside atomiton")
    bench.add_argument(
        "-k", dest="keyword", help="only benchmarks matching this pytest -k expression"
    )
    bench.add_argument("--path", default="benchmarks", help="folder of the benchmark suites")
    bench.add_argument("--json", dest="json_path", help="also keep pytest-benchmark's JSON here")
    for sub in (info, demo, devtools, serve, inspect, replay, bench):
        sub.set_defaults(command_parser=sub)
    return parser
