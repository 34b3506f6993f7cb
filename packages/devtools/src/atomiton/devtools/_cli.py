"""The ``atomiton`` command: one entry point, one sub-command per job.

Errors are one clear line on stderr and a non-zero exit (1, or 2 for usage errors); ``--debug``
shows the traceback instead. Sub-command modules are imported only when their command runs, so
``atomiton --version`` stays instant.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Callable, Sequence
from typing import NoReturn

from atomiton.devtools._errors import DevToolsError
from atomiton.devtools._serve_options import add_serve_options
from atomiton.devtools._version import __version__

# command -> (module, function) run with the parsed arguments; each returns an exit status.
_HANDLERS = {
    "info": ("atomiton.devtools._cmd_info", "run_info"),
    "demo": ("atomiton.devtools._demo", "run_demo"),
    "devtools serve": ("atomiton.devtools._cmd_serve", "run_serve"),
    "inspect": ("atomiton.devtools._cmd_inspect", "run_inspect"),
    "replay": ("atomiton.devtools._cmd_replay", "run_replay"),
    "bench": ("atomiton.devtools._cmd_bench", "run_bench"),
}


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


def _one_line(error: BaseException) -> str:
    from atomiton.devtools._safe_text import printable  # an error may quote hostile data

    text = str(error).strip().splitlines()
    message = printable(text[0]) if text else ""
    if isinstance(error, DevToolsError) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``atomiton`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    logging.basicConfig(
        level=logging.DEBUG if args.debug else logging.WARNING,
        format="%(levelname)s %(name)s: %(message)s",
    )
    key = "devtools serve" if args.command == "devtools" else args.command
    module_name, function = _HANDLERS[key]
    try:
        handler = getattr(importlib.import_module(module_name), function)
        status: int = handler(args)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {_one_line(error)}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
