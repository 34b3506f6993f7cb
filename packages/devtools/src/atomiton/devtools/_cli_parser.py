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

    info = commands.add_parser("info", parents=[common], help="platform and capability report")
    info.add_argument("--json", action="store_true", help="print the report as JSON")

    demo = commands.add_parser(
        "demo", parents=[common], help="run the demo application (the place to start)"
    )
    demo.add_argument("--reset", action="store_true", help="delete the demo's saved data first")
    demo.add_argument(
        "--inspect", action="store_true", help="keep the web inspector open on the running demo"
    )
    add_serve_options(demo)

    devtools = commands.add_parser("devtools", parents=[common], help="developer tools")
    tools = devtools.add_subparsers(dest="tool", metavar="TOOL", required=True)
    serve = tools.add_parser(
        "serve",
        parents=[common],
        help="serve the web inspector over the installed app's data (Ctrl-C stops)",
    )
    add_serve_options(serve)
    serve.add_argument("--import", dest="import_path", help="load a DevTools export (JSON) first")
    serve.add_argument(
        "--for", dest="duration", type=_at_least_zero(float), help="stop after this many seconds"
    )

    inspect = commands.add_parser(
        "inspect", parents=[common], help="list keys, sizes and decoded values of a storage"
    )
    inspect.add_argument("url", help="sqlite:///path/app.db, file:///dir or a path to a .db file")
    inspect.add_argument("--prefix", default="", help="only keys starting with this")
    inspect.add_argument(
        "--limit", type=_at_least_zero(int), default=200, help="show at most this many keys"
    )
    inspect.add_argument("--json", action="store_true", help="print JSON instead of a table")

    replay = commands.add_parser(
        "replay", parents=[common], help="re-emit an event log and print its timeline"
    )
    replay.add_argument("log", help="an EventLog file (JSON lines)")
    replay.add_argument("--pattern", default="**", help="only events matching this pattern")

    bench = commands.add_parser(
        "bench", parents=[common], help="run the benchmark suites and print the ratios"
    )
    bench.add_argument("--compare", action="store_true", help="show every peer beside atomiton")
    bench.add_argument(
        "-k", dest="keyword", help="only benchmarks matching this pytest -k expression"
    )
    bench.add_argument("--path", default="benchmarks", help="folder of the benchmark suites")
    bench.add_argument("--json", dest="json_path", help="also keep pytest-benchmark's JSON here")
    return parser
