"""The ``atomiton`` command: one entry point, one sub-command per job.

Errors are one clear line on stderr and a non-zero exit (1, or 2 for usage errors); ``--debug``
shows the traceback instead. Sub-command modules are imported only when their command runs, and
this module imports nothing heavy at all (the parser lives in ``_cli_parser``; logging and the
errors load in ``main``), so ``atomiton --version`` answers without argparse or logging: it runs
in < 100 ms as a whole process (issue 19).
"""

from __future__ import annotations

import sys

from atomiton.devtools._version import __version__

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence

# command -> (module, function) run with the parsed arguments; each returns an exit status.
_HANDLERS = {
    "info": ("atomiton.devtools._cmd_info", "run_info"),
    "demo": ("atomiton.devtools._demo", "run_demo"),
    "devtools serve": ("atomiton.devtools._cmd_serve", "run_serve"),
    "inspect": ("atomiton.devtools._cmd_inspect", "run_inspect"),
    "replay": ("atomiton.devtools._cmd_replay", "run_replay"),
    "bench": ("atomiton.devtools._cmd_bench", "run_bench"),
}


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser for the ``atomiton`` command."""
    from atomiton.devtools._cli_parser import build_parser as build

    return build()


def _one_line(error: BaseException) -> str:
    from atomiton.devtools._errors import DevToolsError
    from atomiton.devtools._safe_text import printable  # an error may quote hostile data

    text = str(error).strip().splitlines()
    message = printable(text[0]) if text else ""
    if isinstance(error, DevToolsError) and message:
        return message
    return f"{type(error).__name__}: {message}" if message else type(error).__name__


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``atomiton`` command and return its exit status."""
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        print(f"atomiton {__version__}")  # the fast path: no parser, no logging
        return 0
    import importlib
    import logging

    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # Name the command's own --help ('atomiton demo --help'), not the top level's.
        owner = getattr(args, "command_parser", None) or parser
        owner.error(f"unrecognized arguments: {' '.join(unknown)}")
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
