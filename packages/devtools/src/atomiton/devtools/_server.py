"""The live web inspector: a Starlette app served by uvicorn in a background thread.

The page (``_static/inspector.html``, plain HTML and JavaScript, no build step) reads one JSON view
of everything DevTools knows and follows it live through server-sent events. Buttons and timeline
clicks post small JSON commands back (jump, undo, redo). Starlette and uvicorn are the small,
well-kept ASGI stack the issue asks for; SSE needs nothing beyond a streaming response.

Safety: the server binds 127.0.0.1 unless told otherwise, and refuses any other host unless a token
is given; with a token every request must carry it (``?token=`` or ``Authorization: Bearer``).
Every request's ``Host`` must name this server (DNS rebinding), and ``/api/command`` accepts only a
bounded JSON POST from the page's own origin (CSRF): see ``_http_guard``.
"""

from __future__ import annotations

import asyncio
import hmac
import ipaddress
import json
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterable, Mapping
from importlib import resources
from typing import Any, Protocol

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import ASGIApp

from atomiton.devtools._errors import DevToolsError, InspectorError
from atomiton.devtools._http_guard import (
    DEFAULT_MAX_BODY_BYTES,
    HostGuard,
    Refused,
    parse_command,
    read_body,
    refuse_cross_site,
    require_json,
)

logger = logging.getLogger(__name__)

_POLL_SECONDS = 0.1
_PAGE_LIMIT = 1000
# The page's icon: an atom (nucleus and one orbit), so the browser's /favicon.ico request is no 404.
FAVICON = (
    '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32">'
    '<ellipse cx="16" cy="16" rx="14" ry="6" fill="none" stroke="#3257d6" stroke-width="2.5"'
    ' transform="rotate(-30 16 16)"/><circle cx="16" cy="16" r="4.5" fill="#3257d6"/></svg>'
)
_HEARTBEAT_SECONDS = 10.0


class InspectorModel(Protocol):
    """What the inspector needs from its data source (``DevTools`` implements it)."""

    @property
    def revision(self) -> int:
        """A counter that grows whenever anything shown may have changed."""
        ...

    def view(self) -> dict[str, Any]:
        """Return the JSON-safe view the page renders."""
        ...

    def undo(self, name: str) -> bool:
        """Undo the last write of store ``name``."""
        ...

    def redo(self, name: str) -> bool:
        """Redo the next write of store ``name``."""
        ...

    def jump_to(self, name: str, index: int) -> bool:
        """Restore store ``name`` to position ``index`` of its history."""
        ...

    def set_value(self, name: str, atom: str, value: Any) -> None:
        """Write ``value`` into atom ``atom`` of store ``name`` (through ``store.set``)."""
        ...

    def pause(self) -> bool:
        """Stop recording."""
        ...

    def resume(self) -> bool:
        """Record again."""
        ...

    def export(self) -> dict[str, Any]:
        """The whole recording as JSON-safe data."""
        ...

    def import_(self, data: Mapping[str, Any]) -> None:
        """Load an ``export()``."""
        ...

    def timeline_page(
        self,
        *,
        offset: int = 0,
        limit: int = 100,
        before: int | None = None,
        kind: str | None = None,
        source: str | None = None,
        origin: str | None = None,
        text: str | None = None,
    ) -> dict[str, Any]:
        """One filtered page of the timeline, counted from the newest entry."""
        ...


def is_loopback(host: str) -> bool:
    """Tell whether ``host`` names only this machine (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _bind(host: str, port: int) -> socket.socket:
    # getaddrinfo wraps an out-of-range port silently (70000 -> 4464): refuse it by name.
    if isinstance(port, bool) or not isinstance(port, int) or not 0 <= port <= 65535:
        raise InspectorError(
            f"port must be an integer in 0..65535 (0 picks a free one), got {port!r}"
        )
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(family, kind, proto)
    except OSError as error:
        raise InspectorError(f"cannot serve the inspector on {host!r}: {error}") from error
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as error:
        sock.close()
        reason = error.strerror or str(error)
        raise InspectorError(
            f"cannot listen on {host}:{port}: {reason.lower()} "
            "(pass another port, or 0 for a free one)"
        ) from error
    return sock


def _host_names(allowed_hosts: Iterable[str]) -> tuple[str, ...]:
    names = None if isinstance(allowed_hosts, (str, bytes)) else _tuple(allowed_hosts)
    if names is None or not all(isinstance(name, str) and name.strip() for name in names):
        raise InspectorError(
            "allowed_hosts must be a list of host names (or '*' for any), "
            f"got {allowed_hosts!r:.80}"
        )
    return tuple(name.strip() for name in names)


def _tuple(values: Any) -> tuple[Any, ...] | None:
    try:
        return tuple(values)
    except TypeError:
        return None


def _int_param(query: Mapping[str, str], name: str, default: int | None) -> Any:
    raw = query.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ValueError(f"{name!r} must be an integer >= 0, got {raw!r:.40}") from None
    if value < 0:
        raise ValueError(f"{name!r} must be an integer >= 0, got {value}")
    return value


def _page() -> str:
    return (
        resources.files("atomiton.devtools").joinpath("_static/inspector.html").read_text("utf-8")
    )


def create_app(
    model: InspectorModel,
    token: str | None = None,
    *,
    host: str = "127.0.0.1",
    allowed_hosts: Iterable[str] = (),
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    stopping: threading.Event | None = None,
) -> ASGIApp:
    """Build the inspector's ASGI app over ``model``; with ``token`` every request must carry it.

    ``host`` is the address the server binds: requests whose ``Host`` header names neither it, a
    loopback address, ``localhost`` nor one of ``allowed_hosts`` are refused (403). Setting
    ``stopping`` ends the live streams.
    """
    page = _page()
    stopping = stopping if stopping is not None else threading.Event()

    def authorised(request: Request) -> bool:
        if token is None:
            return True
        given = request.query_params.get("token") or ""
        header = request.headers.get("authorization", "")
        if header.lower().startswith("bearer "):
            given = header[7:].strip()
        return hmac.compare_digest(given.encode(), token.encode())

    def denied() -> Response:
        return JSONResponse({"error": "a valid token is required"}, status_code=401)

    async def index(request: Request) -> Response:
        return HTMLResponse(page) if authorised(request) else denied()

    async def state(request: Request) -> Response:
        return JSONResponse(model.view()) if authorised(request) else denied()

    async def favicon(request: Request) -> Response:
        # No token needed: the icon tells nothing about the app, and browsers fetch it bare.
        headers = {"Cache-Control": "max-age=86400"}
        return Response(FAVICON, media_type="image/svg+xml", headers=headers)

    async def timeline(request: Request) -> Response:
        if not authorised(request):
            return denied()
        query = request.query_params
        try:
            offset = _int_param(query, "offset", 0)
            limit = min(_int_param(query, "limit", 100), _PAGE_LIMIT)
            before = _int_param(query, "before", None)
        except ValueError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        page = model.timeline_page(
            offset=offset,
            limit=limit,
            before=before,
            kind=query.get("kind") or None,
            source=query.get("source") or None,
            origin=query.get("origin"),  # "" is this process: a real filter value
            text=query.get("text") or None,
        )
        return JSONResponse(page)

    async def export(request: Request) -> Response:
        if not authorised(request):
            return denied()
        stamp = time.strftime("%Y%m%d-%H%M%S")
        headers = {"Content-Disposition": f'attachment; filename="atomiton-{stamp}.json"'}
        return JSONResponse(model.export(), headers=headers)

    async def stream(request: Request) -> Response:
        if not authorised(request):
            return denied()

        async def frames() -> AsyncIterator[str]:
            seen = -1
            last_sent = time.monotonic()
            while not stopping.is_set():
                revision = model.revision
                if revision != seen:
                    seen = revision
                    last_sent = time.monotonic()
                    yield f"event: view\ndata: {json.dumps(model.view())}\n\n"
                elif time.monotonic() - last_sent > _HEARTBEAT_SECONDS:
                    last_sent = time.monotonic()
                    yield ": heartbeat\n\n"
                await asyncio.sleep(_POLL_SECONDS)
                if await request.is_disconnected():
                    return

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)

    async def command(request: Request) -> Response:
        if not authorised(request):
            return denied()
        try:
            refuse_cross_site(request)
            require_json(request)
            command = parse_command(await read_body(request, max_body_bytes))
            changed: bool
            if command.action == "undo":
                changed = model.undo(command.store)
            elif command.action == "redo":
                changed = model.redo(command.store)
            elif command.action == "set":
                assert command.atom is not None
                model.set_value(command.store, command.atom, command.value)
                changed = True
            elif command.action == "pause":
                changed = model.pause()
            elif command.action == "resume":
                changed = model.resume()
            elif command.action == "import":
                assert command.data is not None
                model.import_(command.data)
                changed = True
            else:
                assert command.index is not None
                changed = model.jump_to(command.store, command.index)
        except Refused as refused:
            return refused.response()
        except DevToolsError as error:
            return JSONResponse({"error": str(error)}, status_code=400)
        return JSONResponse({"ok": True, "changed": changed})

    app = Starlette(
        routes=[
            Route("/", index),
            Route("/favicon.ico", favicon),
            Route("/api/state", state),
            Route("/api/timeline", timeline),
            Route("/api/export", export),
            Route("/api/stream", stream),
            Route("/api/command", command, methods=["POST"]),
        ]
    )
    return HostGuard(app, host, allowed_hosts)


class InspectorServer:
    """A running inspector; ``url`` to open it, ``close()`` (or ``with``) to shut it down."""

    def __init__(
        self,
        model: InspectorModel,
        host: str,
        port: int,
        token: str | None,
        *,
        allowed_hosts: Iterable[str] = (),
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    ) -> None:
        if not is_loopback(host) and not token:
            raise InspectorError(
                f"refusing to serve the inspector on {host!r} without a token: anyone on the "
                "network could read and change your app's state; pass token=... or use 127.0.0.1"
            )
        names = _host_names(allowed_hosts)
        if isinstance(max_body_bytes, bool) or not isinstance(max_body_bytes, int):
            raise InspectorError(f"max_body_bytes must be an integer, got {max_body_bytes!r:.40}")
        if max_body_bytes < 1:
            raise InspectorError(f"max_body_bytes must be at least 1, got {max_body_bytes}")
        self.host = host
        self.token = token
        self.allowed_hosts: tuple[str, ...] = names
        self.max_body_bytes = max_body_bytes
        self._stopping = threading.Event()
        self._app = create_app(
            model,
            token,
            host=host,
            allowed_hosts=self.allowed_hosts,
            max_body_bytes=max_body_bytes,
            stopping=self._stopping,
        )
        config = uvicorn.Config(
            self._app,
            host=host,
            port=port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        # Bind here, not in uvicorn's thread: a busy port becomes one clear error for the caller
        # (instead of a log line and a silently dead thread), and port 0 is known at once.
        self._socket = _bind(host, port)
        self.port: int = self._socket.getsockname()[1]
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name="atomiton-inspector",
            daemon=True,
        )
        self._thread.start()
        deadline = time.monotonic() + 10.0
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self._socket.close()
                raise InspectorError(f"the inspector could not start on {host}:{self.port}")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        """The page's address (with the token when one is required)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = f"/?token={self.token}" if self.token else "/"
        return f"http://{host}:{self.port}{suffix}"

    @property
    def is_running(self) -> bool:
        """Whether the server thread is still serving."""
        return self._thread.is_alive()

    def wait(self, timeout: float | None = None) -> None:
        """Block until the server stops (Ctrl-C in the CLI) or ``timeout`` passes."""
        self._thread.join(timeout)

    def close(self) -> None:
        """Stop serving and wait for the thread to finish; idempotent."""
        self._stopping.set()
        self._server.should_exit = True
        self._thread.join(timeout=10.0)
        self._socket.close()

    def __enter__(self) -> InspectorServer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"InspectorServer({self.url!r}, running={self.is_running})"
