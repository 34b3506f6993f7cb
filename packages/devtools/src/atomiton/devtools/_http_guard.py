"""What the inspector checks before it answers: Host, origin, body size and the command itself.

Every check answers with one JSON ``{"error": ...}`` and a 4xx status naming what was wrong:

- ``HostGuard`` (ASGI middleware, every route): the ``Host`` header must name this server — a
  loopback address, ``localhost``, the bound host, any IP literal when bound to a wildcard address
  (an IP literal cannot be rebound), or a name in ``allowed_hosts`` — else 403. That is the defence
  against DNS rebinding, where a hostile page's own name is made to resolve to 127.0.0.1.
- ``refuse_cross_site`` (mutating routes): a browser request from another origin is 403, by
  ``Sec-Fetch-Site`` (only ``same-origin`` and ``none`` pass) and by ``Origin`` (must be this very
  host). Clients that send neither (curl, scripts) are not browsers and cannot be driven by a page.
- ``require_json``: a mutating request must say ``Content-Type: application/json`` (415): a plain
  HTML form can only send form encodings or ``text/plain``, and a cross-origin ``fetch`` with JSON
  needs a CORS preflight this server never grants.
- ``read_body``: the body is read as it arrives and reading stops at ``max_body_bytes`` (413);
  a ``Content-Length`` above the limit is refused before reading anything.
- ``parse_command``: strict JSON (no ``NaN``/``Infinity``, no nesting past the parser's limit), an
  object with a known ``action``; ``undo``/``redo``/``jump``/``set`` need a string ``store``,
  ``jump`` an integer ``index`` (``true`` is not an integer here), ``set`` a string ``atom`` and
  a ``value``, ``import`` an object ``data``; ``pause``/``resume`` need nothing more; else 400.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, NoReturn

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Receive, Scope, Send

DEFAULT_MAX_BODY_BYTES = 1024 * 1024
ACTIONS = ("undo", "redo", "jump", "set", "pause", "resume", "import")


class Refused(Exception):
    """A request the inspector answers with ``status`` and ``message`` instead of acting on it."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message

    def response(self) -> Response:
        """The JSON error response (connection closed when the body may be unread)."""
        headers = {"Connection": "close"} if self.status == 413 else None
        return JSONResponse({"error": self.message}, status_code=self.status, headers=headers)


@dataclass(frozen=True)
class Command:
    """One validated inspector command."""

    action: str
    store: str = ""
    index: int | None = None
    atom: str | None = None
    value: Any = None
    data: dict[str, Any] | None = None


def host_name(host_header: str) -> str | None:
    """The lower-case host name of a ``Host`` header (brackets of IPv6 removed), or None if bad."""
    value = host_header.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest.startswith(":") and rest[1:].isdigit())):
            return None
        return name
    name, colon, port = value.partition(":")
    if colon and not port.isdigit():
        return None
    return name.rstrip(".") or None


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


class HostGuard:
    """ASGI middleware: refuse (403) any HTTP request whose ``Host`` does not name this server."""

    def __init__(self, app: ASGIApp, bound_host: str, allowed_hosts: Iterable[str] = ()) -> None:
        self.app = app
        bound = bound_host.strip("[]").lower()
        self._allowed = {"localhost", bound} | {h.strip("[]").lower() for h in allowed_hosts}
        self._any = "*" in self._allowed
        bound_ip = _ip(bound)
        self._wildcard = bound_ip is not None and bound_ip.is_unspecified

    def allows(self, host_header: str | None) -> bool:
        """Tell whether a request with this ``Host`` header may be answered."""
        if self._any:
            return True
        name = host_name(host_header or "")
        if name is None:
            return False
        if name in self._allowed:
            return True
        ip = _ip(name)
        return ip is not None and (ip.is_loopback or self._wildcard)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not self.allows(Headers(scope=scope).get("host")):
            host = Headers(scope=scope).get("host")
            response = Refused(
                403,
                f"Host {host!r} is not this inspector's address (DNS rebinding protection); "
                "open it by its address, or allow the name with allowed_hosts / --allowed-host",
            ).response()
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def refuse_cross_site(request: Request) -> None:
    """Raise ``Refused(403)`` unless the request comes from the page itself or from no browser."""
    site = request.headers.get("sec-fetch-site")
    if site is not None and site.lower() not in ("same-origin", "none"):
        raise Refused(403, f"cross-site request refused (Sec-Fetch-Site: {site})")
    origin = request.headers.get("origin")
    if origin is None:
        return
    scheme, sep, netloc = origin.lower().partition("://")
    host = (request.headers.get("host") or "").lower()
    if not sep or scheme not in ("http", "https") or netloc != host:
        raise Refused(403, f"cross-origin request refused (Origin: {origin})")


def require_json(request: Request) -> None:
    """Raise ``Refused(415)`` unless the request declares a JSON body."""
    content_type = request.headers.get("content-type", "")
    if content_type.split(";", 1)[0].strip().lower() != "application/json":
        raise Refused(
            415, f"commands must be sent as Content-Type: application/json, not {content_type!r}"
        )


async def read_body(request: Request, limit: int) -> bytes:
    """Read the body as it arrives, refusing (413) as soon as it passes ``limit`` bytes."""
    too_large = Refused(413, f"request body larger than the limit of {limit} bytes")
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.strip().isdigit():
            raise Refused(400, f"bad Content-Length {declared!r}")
        if int(declared) > limit:
            raise too_large
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large
        chunks.append(chunk)
    return b"".join(chunks)


def _no_constants(name: str) -> NoReturn:
    raise ValueError(f"{name} is not a JSON number")


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def parse_command(body: bytes) -> Command:
    """Validate a command body; ``Refused(400)`` names what is wrong."""
    try:
        data = json.loads(body.decode("utf-8"), parse_constant=_no_constants)
    except UnicodeDecodeError:
        raise Refused(400, "the command is not UTF-8 text") from None
    except RecursionError:
        raise Refused(400, "the command is not valid: JSON nested too deeply") from None
    except ValueError as error:
        raise Refused(400, f"the command is not valid JSON: {error}") from None
    if not isinstance(data, dict):
        raise Refused(
            400,
            f'a command is a JSON object like {{"action": "undo", "store": "ui"}}, '
            f"got {_kind(data)}",
        )
    action = data.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        raise Refused(400, f"unknown action {action!r:.40}; use {', '.join(ACTIONS)}")
    if action in ("pause", "resume"):
        return Command(action)
    if action == "import":
        export = data.get("data")
        if not isinstance(export, dict):
            raise Refused(400, f"'data' must be an export (a JSON object), got {_kind(export)}")
        return Command(action, data=export)
    store = data.get("store")
    if not isinstance(store, str):
        raise Refused(400, f"'store' must be a string (a store's name), got {_kind(store)}")
    if action == "set":
        atom = data.get("atom")
        if not isinstance(atom, str):
            raise Refused(400, f"'atom' must be a string (an atom's name), got {_kind(atom)}")
        if "value" not in data:
            raise Refused(400, "'value' is missing: the new value of the atom")
        return Command(action, store, atom=atom, value=data["value"])
    if action != "jump":
        return Command(action, store)
    index = data.get("index")
    if isinstance(index, bool) or not isinstance(index, int):
        raise Refused(400, f"'index' must be an integer history position, got {_kind(index)}")
    return Command(action, store, index)
