"""The inspector options shared by ``atomiton devtools serve`` and ``atomiton demo --inspect``.

The token can come from ``--token-file PATH`` or the ``ATOMITON_DEVTOOLS_TOKEN`` environment
variable, which no other user can read, as well as from ``--token`` (visible to every user of the
machine in ``ps`` and ``/proc/PID/cmdline``).
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass
from pathlib import Path

from atomiton.devtools._errors import CommandError

TOKEN_ENV = "ATOMITON_DEVTOOLS_TOKEN"


@dataclass(frozen=True)
class ServeSettings:
    """Where and how to serve the inspector, as the command line asked."""

    host: str
    port: int
    token: str | None
    allowed_hosts: tuple[str, ...]


def add_serve_options(parser: argparse.ArgumentParser) -> None:
    """Add ``--host``, ``--port``, the token options and ``--allowed-host`` to ``parser``."""
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765, help="port (0 picks a free one)")
    parser.add_argument(
        "--token-file",
        metavar="PATH",
        help=f"read the access token from this file (or set {TOKEN_ENV}); mandatory off loopback",
    )
    parser.add_argument(
        "--token", help="the access token (visible in the process list: prefer --token-file)"
    )
    parser.add_argument(
        "--allowed-host",
        dest="allowed_hosts",
        action="append",
        default=[],
        metavar="NAME",
        help="another name the Host header may carry (repeatable; '*' for any)",
    )


def _read_token_file(path: Path) -> str:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise CommandError(f"no token file at {path}") from None
    except (OSError, UnicodeDecodeError) as error:
        reason = error.strerror if isinstance(error, OSError) and error.strerror else error
        raise CommandError(f"cannot read the token file {path}: {reason}") from None
    token = text.strip()
    if not token:
        raise CommandError(f"the token file {path} is empty")
    if any(ch.isspace() for ch in token):
        raise CommandError(f"the token in {path} must be one line without spaces")
    return token


def resolve_token(args: argparse.Namespace, environ: dict[str, str] | None = None) -> str | None:
    """The token from ``--token``, ``--token-file`` or ``ATOMITON_DEVTOOLS_TOKEN``, in that order.

    Raises:
        CommandError: both ``--token`` and ``--token-file`` are given, or the file cannot be used.
    """
    environ = dict(os.environ) if environ is None else environ
    if args.token is not None and args.token_file is not None:
        raise CommandError("give the token once: --token or --token-file, not both")
    if args.token is not None:
        if not args.token:
            raise CommandError("--token is empty")
        return str(args.token)
    if args.token_file is not None:
        return _read_token_file(Path(args.token_file).expanduser())
    return environ.get(TOKEN_ENV) or None


def serve_settings(
    args: argparse.Namespace, environ: dict[str, str] | None = None
) -> ServeSettings:
    """Resolve the inspector options, refusing a public host without a token by naming the flags.

    Raises:
        CommandError: a non-loopback ``--host`` without a token, or a bad token option.
    """
    from atomiton.devtools._server import is_loopback  # not at import: ``--version`` stays instant

    token = resolve_token(args, environ)
    host = str(args.host)
    if not is_loopback(host) and not token:
        raise CommandError(
            f"refusing to serve the inspector on {host!r} without a token: anyone on the network "
            f"could read and change your app's state; pass --token-file PATH (or set {TOKEN_ENV}, "
            "or --token TOKEN), or use --host 127.0.0.1"
        )
    return ServeSettings(host, int(args.port), token, tuple(args.allowed_hosts))
