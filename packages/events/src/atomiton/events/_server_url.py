"""Server URLs of the NATS and Redis transports: options from the query, a redacted name for logs.

A transport URL carries its options in the query (``nats://host:4222?storage=memory``). Each
transport declares the options it knows with a parser per option; an unknown option or a value
that does not parse is a :class:`BusConfigError` naming it, so a typo never silently falls back
to a default. ``stream`` is always accepted and ignored: the bridge resolves it.

Credentials (``user:password@``) stay in the URL handed to the driver but never appear in an
error or a log line: :func:`redact` is what messages use.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from atomiton.events._errors import BusConfigError

__all__ = ["missing_extra", "parse_server_url", "positive_float", "positive_int", "redact"]


def redact(url: str) -> str:
    """``scheme://host:port/path`` of ``url``, without credentials or query (for messages)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = host if parts.port is None else f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def parse_server_url(
    url: str, options: Mapping[str, Callable[[str], Any]]
) -> tuple[str, dict[str, Any]]:
    """Split ``url`` into the driver's URL (no query) and its parsed options.

    Args:
        url: The transport URL as the user gave it.
        options: Known option names, each with a parser that raises ValueError on a bad value.

    Returns:
        The URL without its query, and the options present (parsed).

    Raises:
        BusConfigError: An option is unknown, repeated or has a value its parser refuses.
    """
    parts = urlsplit(url)
    found: dict[str, Any] = {}
    for name, text in parse_qsl(parts.query, keep_blank_values=True, strict_parsing=False):
        if name == "stream":
            continue
        if name not in options:
            known = ", ".join(sorted(options)) or "none"
            raise BusConfigError(
                f"{redact(url)}: unknown option {name!r} in the URL (known: {known}, and stream)"
            )
        if name in found:
            raise BusConfigError(f"{redact(url)}: option {name!r} is given twice")
        try:
            found[name] = options[name](text)
        except ValueError as error:
            raise BusConfigError(f"{redact(url)}: option {name}={text!r}: {error}") from None
    return urlunsplit((parts.scheme, parts.netloc, parts.path, "", "")), found


def positive_int(text: str) -> int:
    """Parse an int > 0 (``"1000"``), else raise ValueError."""
    value = int(text)
    if value <= 0:
        raise ValueError("must be an integer > 0")
    return value


def positive_float(text: str) -> float:
    """Parse a finite number > 0 (``"2.5"``), else raise ValueError."""
    value = float(text)
    if not 0 < value < float("inf"):
        raise ValueError("must be a number > 0")
    return value


def missing_extra(scheme: str, module: str, extra: str) -> BusConfigError:
    """The error for a transport whose driver is not installed, naming the extra to install."""
    return BusConfigError(
        f"the {scheme}:// transport needs the {module} driver, which is not installed: "
        f"pip install 'atomiton-events[{extra}]'"
    )
