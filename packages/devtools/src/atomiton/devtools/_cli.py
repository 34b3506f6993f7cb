"""The ``atomiton`` command: one entry point, one sub-command per job.

Errors are one clear line on stderr and a non-zero exit; ``--debug`` shows the traceback.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
from collections.abc import Sequence

from atomiton.devtools._version import __version__


def _info(args: argparse.Namespace) -> int:
    report = {
        "atomiton-devtools": __version__,
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "os": sys.platform,
        "arch": platform.machine(),
    }
    if args.json:
        print(json.dumps(report, indent=2, sort_keys=True))
    else:
        width = max(len(k) for k in report)
        for key, value in report.items():
            print(f"{key:<{width}}  {value}")
    return 0


def _demo(args: argparse.Namespace) -> int:
    print(
        "atomiton demo will compose a small task-tracking app through the container: tasks "
        "persisted in SQLite, CPU-bound jobs in process workers with progress bars, derived "
        "atoms, events, a recovered worker crash, an undo, and a summary table.",
    )
    print("error: the demo is not built yet (see the devtools issue)", file=sys.stderr)
    return 2


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for the ``atomiton`` command."""
    parser = argparse.ArgumentParser(prog="atomiton", description="The atomiton command.")
    parser.add_argument("--version", action="version", version=f"atomiton {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    info = commands.add_parser("info", help="platform and capability report")
    info.add_argument("--json", action="store_true", help="print the report as JSON")
    info.set_defaults(handler=_info)
    demo = commands.add_parser("demo", help="run the demo application")
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``atomiton`` command and return its exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        status: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        if args.debug:
            raise
        print(f"error: {error}", file=sys.stderr)
        return 1
    return status


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
