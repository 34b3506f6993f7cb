"""Parse and check a storage server URL (``postgresql://``, ``redis://``), never leaking a password.

Every message built here quotes the URL with its password replaced by ``***``.
"""

from __future__ import annotations

import math
from collections.abc import Collection
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, unquote, urlsplit

from atomiton.storage._errors import StorageURLError


def redact_url(url: str) -> str:
    """Return ``url`` with the password of its ``user:password@`` part replaced by ``***``.

    Everything between the first ``:`` after ``//`` and the last ``@`` counts as the password,
    so a password holding a raw ``@`` or ``/`` (an invalid URL) is hidden whole too; at worst
    more than the password is hidden, never less.
    """
    head, slashes, rest = url.partition("//")
    at = rest.rfind("@")
    if not slashes or at < 0:
        return url
    user, colon, _ = rest[:at].partition(":")
    if not colon:
        return url
    return f"{head}//{user}:***{rest[at:]}"


@dataclass(frozen=True)
class ServerURL:
    """The parts of a server URL, decoded; ``repr`` and ``redacted`` never show the password.

    Attributes:
        scheme: Lowercase scheme (``postgresql``, ``rediss``...).
        host: Host name or address (IPv6 without brackets), or ``None``.
        port: TCP port, or ``None`` for the driver's default.
        username: Decoded user name, or ``None``.
        password: Decoded password, or ``None`` (kept out of ``repr``).
        path: The decoded path without its leading ``/`` (the database).
        options: The query options, each given at most once.
        redacted: The URL as given, with the password replaced by ``***``.
    """

    scheme: str
    host: str | None
    port: int | None
    username: str | None
    password: str | None = field(repr=False)
    path: str
    options: dict[str, str]
    redacted: str


def parse_server_url(url: str, schemes: Collection[str], known: Collection[str]) -> ServerURL:
    """Split ``url`` into its parts and check its query options against ``known``.

    Raises:
        StorageURLError: Not a string, another scheme, a bad port, a fragment, an unknown or
            repeated option (the message names it; the password never appears).
    """
    if not isinstance(url, str):
        raise StorageURLError(f"a storage URL must be a str, not {type(url).__name__}")
    shown = redact_url(url)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        # Not the parser's message: it may quote part of a password that broke the URL.
        raise StorageURLError(
            f"{shown!r}: malformed host or port (a port is 0-65535; escape '@', '/', ':' in a "
            "password as %40, %2F, %3A)"
        ) from None
    scheme = parts.scheme.lower()
    if scheme not in schemes:
        raise StorageURLError(f"{shown!r}: the scheme must be one of {', '.join(sorted(schemes))}")
    if parts.fragment:
        raise StorageURLError(f"{shown!r}: a storage URL takes no '#fragment'")
    options: dict[str, str] = {}
    for name, value in parse_qsl(parts.query, keep_blank_values=True):
        if name in options:
            raise StorageURLError(f"{shown!r}: option {name!r} is given more than once")
        if name not in known:
            raise StorageURLError(
                f"{shown!r}: unknown {scheme} option {name!r} (known: {', '.join(sorted(known))})"
            )
        options[name] = value
    return ServerURL(
        scheme=scheme,
        host=parts.hostname,
        port=port,
        username=None if parts.username is None else unquote(parts.username),
        password=None if parts.password is None else unquote(parts.password),
        path=unquote(parts.path[1:] if parts.path.startswith("/") else parts.path),
        options=options,
        redacted=shown,
    )


def seconds_option(shown: str, name: str, value: str) -> float:
    """Return a query value as a positive finite number of seconds.

    Raises:
        StorageURLError: The value is not one.
    """
    try:
        seconds = float(value)
    except ValueError:
        seconds = math.nan
    if not (seconds > 0 and math.isfinite(seconds)):
        raise StorageURLError(f"{shown!r}: {name}={value!r} is not a positive number of seconds")
    return seconds


def int_option(shown: str, name: str, value: str, minimum: int) -> int:
    """Return a query value as an integer ``>= minimum``.

    Raises:
        StorageURLError: The value is not one.
    """
    try:
        number = int(value)
    except ValueError:
        number = minimum - 1
    if number < minimum:
        raise StorageURLError(f"{shown!r}: {name}={value!r} is not an integer >= {minimum}")
    return number


def read_only_option(shown: str, value: str) -> bool:
    """``mode=ro`` (read-only) or ``mode=rw`` (the default).

    Raises:
        StorageURLError: Any other value.
    """
    if value not in ("ro", "rw"):
        raise StorageURLError(f"{shown!r}: mode={value!r} is not a mode (use ro or rw)")
    return value == "ro"
