"""The inspector against hostile pages: CSRF, DNS rebinding, huge bodies and malformed commands.

Each test talks to a real server on 127.0.0.1 (or to the ASGI app itself where the point is how
much of a body is read) and checks both the answer and that the model was not touched.
"""

import asyncio
import socket
from collections.abc import Iterator, MutableMapping
from typing import Any

import httpx
import pytest

from atomiton.devtools import DevTools, InspectorError, InspectorServer
from atomiton.devtools._http_guard import HostGuard, host_name
from atomiton.devtools._server import create_app
from atomiton.store import atom, create_store

from ._fake_model import FakeModel


@pytest.fixture(scope="module")
def shared_model() -> FakeModel:
    return FakeModel(("secret-state",))


@pytest.fixture
def model(shared_model: FakeModel) -> FakeModel:
    shared_model.calls.clear()
    return shared_model


@pytest.fixture(scope="module")
def server(shared_model: FakeModel) -> Iterator[InspectorServer]:
    # One server for the module (stopping uvicorn costs ~0.2 s); ``model`` clears its calls.
    with InspectorServer(shared_model, "127.0.0.1", 0, None) as running:
        yield running


@pytest.fixture(scope="module")
def small_server(shared_model: FakeModel) -> Iterator[InspectorServer]:
    with InspectorServer(shared_model, "127.0.0.1", 0, None, max_body_bytes=4096) as running:
        yield running


def _base(server: InspectorServer) -> str:
    return f"http://127.0.0.1:{server.port}"


UNDO = b'{"action": "undo", "store": "entities"}'


# -- CSRF -----------------------------------------------------------------------------------------
def test_a_cross_site_text_plain_form_post_is_refused_and_changes_nothing(
    server: InspectorServer, model: FakeModel
) -> None:
    # Exactly what a hostile page's <form enctype="text/plain" method="post"> makes Chromium send.
    headers = {
        "Content-Type": "text/plain",
        "Origin": "http://evil.example",
        "Sec-Fetch-Site": "cross-site",
        "Sec-Fetch-Mode": "navigate",
    }
    answer = httpx.post(_base(server) + "/api/command", content=UNDO, headers=headers, timeout=5)
    assert answer.status_code == 403
    assert "cross-site" in answer.json()["error"]
    assert model.calls == []


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},  # an older browser: Origin but no Sec-Fetch-Site
        {"Origin": "null"},  # a sandboxed iframe or a file:// page
        {"Origin": "http://localhost:1"},  # another local dev server: same site, other origin
        {"Sec-Fetch-Site": "same-site"},
        {"Sec-Fetch-Site": "cross-site"},
    ],
)
def test_a_json_command_from_another_origin_is_refused(
    server: InspectorServer, model: FakeModel, headers: dict[str, str]
) -> None:
    headers = {"Content-Type": "application/json", **headers}
    answer = httpx.post(_base(server) + "/api/command", content=UNDO, headers=headers, timeout=5)
    assert answer.status_code == 403, answer.text
    assert model.calls == []


def test_the_pages_own_origin_and_non_browser_clients_may_send_commands(
    server: InspectorServer, model: FakeModel
) -> None:
    base = _base(server)
    same_origin = {
        "Content-Type": "application/json; charset=utf-8",
        "Origin": base,
        "Sec-Fetch-Site": "same-origin",
    }
    answer = httpx.post(base + "/api/command", content=UNDO, headers=same_origin, timeout=5)
    assert answer.json() == {"ok": True, "changed": True}
    scripted = httpx.post(base + "/api/command", json={"action": "redo", "store": "ui"}, timeout=5)
    assert scripted.status_code == 200
    assert model.calls == [("undo", "entities", None), ("redo", "ui", None)]


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data", ""]
)
def test_a_command_that_is_not_declared_json_is_refused(
    server: InspectorServer, model: FakeModel, content_type: str
) -> None:
    answer = httpx.post(
        _base(server) + "/api/command",
        content=UNDO,
        headers={"Content-Type": content_type},
        timeout=5,
    )
    assert answer.status_code == 415
    assert "application/json" in answer.json()["error"]
    assert model.calls == []


def test_a_command_is_never_accepted_by_get(server: InspectorServer, model: FakeModel) -> None:
    answer = httpx.get(
        _base(server) + "/api/command", params={"action": "undo", "store": "ui"}, timeout=5
    )
    assert answer.status_code == 405
    assert model.calls == []


def test_a_real_undo_through_the_inspector_still_works_from_its_page() -> None:
    count = atom(0, name="count")
    store = create_store()
    with DevTools() as dt:
        dt.attach(store, name="ui")
        store.set(count, 5)
        server = dt.serve(port=0)
        base = f"http://127.0.0.1:{server.port}"
        headers = {"Origin": base, "Sec-Fetch-Site": "same-origin"}
        refused = httpx.post(
            base + "/api/command",
            content=b'{"action":"undo","store":"ui"}',
            headers={**headers, "Content-Type": "text/plain", "Origin": "http://evil.example"},
            timeout=5,
        )
        assert refused.status_code == 403
        assert store.get(count) == 5
        done = httpx.post(
            base + "/api/command", json={"action": "undo", "store": "ui"}, headers=headers
        )
        assert done.json() == {"ok": True, "changed": True}
        assert store.get(count) == 0


# -- DNS rebinding --------------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/", "/api/state", "/api/stream", "/api/command"])
def test_a_request_for_another_host_name_gets_403_and_no_state(
    server: InspectorServer, model: FakeModel, path: str
) -> None:
    answer = httpx.request(
        "POST" if path == "/api/command" else "GET",
        _base(server) + path,
        headers={"Host": f"evil.example:{server.port}", "Content-Type": "application/json"},
        content=UNDO if path == "/api/command" else None,
        timeout=5,
    )
    assert answer.status_code == 403
    assert "secret-state" not in answer.text
    assert "DNS rebinding" in answer.json()["error"]
    assert model.calls == []


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "LOCALHOST.", "[::1]", "127.0.0.2"])
def test_loopback_names_are_this_servers_address(server: InspectorServer, host: str) -> None:
    answer = httpx.get(
        _base(server) + "/api/state", headers={"Host": f"{host}:{server.port}"}, timeout=5
    )
    assert answer.status_code == 200
    assert answer.json()["revision"] == 1


def test_names_the_user_allowed_are_accepted(model: FakeModel) -> None:
    with InspectorServer(model, "127.0.0.1", 0, None, allowed_hosts=["inspector.lan"]) as server:
        base = _base(server)
        allowed = httpx.get(base + "/api/state", headers={"Host": "inspector.lan"}, timeout=5)
        assert allowed.status_code == 200
        other = httpx.get(base + "/api/state", headers={"Host": "evil.example"}, timeout=5)
        assert other.status_code == 403


def test_host_guard_rules_for_wildcard_binds_and_malformed_headers() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None:  # pragma: no cover - not called
        raise AssertionError

    wildcard = HostGuard(app, "0.0.0.0")
    assert wildcard.allows("192.168.1.5:8765")  # an IP literal cannot be rebound
    assert not wildcard.allows("evil.example:8765")
    named = HostGuard(app, "devbox.lan", ["proxy.example"])
    assert named.allows("devbox.lan:8765")
    assert named.allows("proxy.example")
    assert not named.allows("192.168.1.5:8765")
    assert [named.allows(h) for h in (None, "", "a:b:c")] == [False, False, False]
    assert HostGuard(app, "127.0.0.1", ["*"]).allows("anything.example")
    assert [host_name(h) for h in ("[::1]:80", "[::1", "x:80x", "Name.Example.:80")] == [
        "::1",
        None,
        None,
        "name.example",
    ]


@pytest.mark.parametrize(
    ("options", "match"),
    [
        ({"allowed_hosts": "inspector.lan"}, "allowed_hosts must be a list"),
        ({"allowed_hosts": [""]}, "allowed_hosts must be a list"),
        ({"allowed_hosts": 3}, "allowed_hosts must be a list"),
        ({"max_body_bytes": 0}, "max_body_bytes must be at least 1"),
        ({"max_body_bytes": True}, "max_body_bytes must be an integer"),
        ({"max_body_bytes": 1.5}, "max_body_bytes must be an integer"),
    ],
)
def test_bad_guard_options_are_refused(
    model: FakeModel, options: dict[str, Any], match: str
) -> None:
    with pytest.raises(InspectorError, match=match):
        InspectorServer(model, "127.0.0.1", 0, None, **options)


# -- bodies ---------------------------------------------------------------------------------------
def test_a_body_declared_larger_than_the_limit_is_refused_with_413(
    small_server: InspectorServer, model: FakeModel
) -> None:
    server = small_server
    body = b'{"action": "undo", "store": "' + b"x" * 8000 + b'"}'
    answer = httpx.post(
        _base(server) + "/api/command",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=5,
    )
    assert answer.status_code == 413
    assert "4096 bytes" in answer.json()["error"]
    assert model.calls == []


def test_a_chunked_body_past_the_limit_is_refused_on_a_raw_connection(
    small_server: InspectorServer, model: FakeModel
) -> None:
    server = small_server
    chunk = b"x" * 1000
    request = (
        f"POST /api/command HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n"
        "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    ).encode() + (b"3e8\r\n" + chunk + b"\r\n") * 8
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(request)  # no final chunk: the server must answer without waiting for it
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 413 ")
    assert model.calls == []


def test_reading_stops_at_the_limit_of_an_endless_body(model: FakeModel) -> None:
    app = create_app(model, max_body_bytes=10_000)
    pulled = 0
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        nonlocal pulled
        pulled += 1
        assert pulled < 1000, "the server kept reading past its limit"
        return {"type": "http.request", "body": b"[" * 1024, "more_body": True}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def call() -> None:
        await app(scope, receive, send)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/api/command",
        "raw_path": b"/api/command",
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"127.0.0.1:1"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 1),
    }
    asyncio.run(call())
    assert sent[0]["status"] == 413
    assert pulled == 10  # 10 KiB read: the 10th chunk passes the limit, nothing after it
    assert model.calls == []


# -- malformed commands ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
        (b'{"action": "jump", "store": "ui", "index": Infinity}', "Infinity is not a JSON number"),
        (b'{"action": "jump", "store": "ui", "index": NaN}', "NaN is not a JSON number"),
        (b'{"action": "jump", "store": "ui", "index": true}', "'index' must be an integer"),
        (b'{"action": "jump", "store": "ui", "index": 1.0}', "'index' must be an integer"),
        (b'{"action": "jump", "store": "ui", "index": "2"}', "'index' must be an integer"),
        (b'{"action": "jump", "store": "ui"}', "'index' must be an integer"),
        (b'{"action": "undo", "store": 3}', "'store' must be a string"),
        (b'{"action": "undo"}', "'store' must be a string"),
        (b'{"action": ["undo"], "store": "ui"}', "unknown action"),
        (b'["undo", "ui"]', "a command is a JSON object"),
        (b"not json", "not valid JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"", "not valid JSON"),
    ],
)
def test_malformed_commands_get_400_with_a_clear_message(
    server: InspectorServer, model: FakeModel, body: bytes, message: str
) -> None:
    answer = httpx.post(
        _base(server) + "/api/command",
        content=body,
        headers={"Content-Type": "application/json"},
        timeout=10,
    )
    assert answer.status_code == 400, answer.text
    assert message in answer.json()["error"]
    assert model.calls == []


# -- the state-changing commands of issue 21 pass the same guard -------------------------------
NEW_COMMANDS = [
    b'{"action": "set", "store": "app", "atom": "count", "value": 5}',
    b'{"action": "pause"}',
    b'{"action": "resume"}',
    b'{"action": "import", "data": {"format": "atomiton-devtools"}}',
]


@pytest.mark.parametrize("body", NEW_COMMANDS)
def test_edit_pause_and_import_from_another_origin_are_refused(
    server: InspectorServer, model: FakeModel, body: bytes
) -> None:
    for headers in (
        {"Content-Type": "application/json", "Origin": "http://evil.example"},
        {"Content-Type": "application/json", "Sec-Fetch-Site": "cross-site"},
        {"Content-Type": "text/plain"},
    ):
        answer = httpx.post(_base(server) + "/api/command", content=body, headers=headers)
        assert answer.status_code in (403, 415), answer.text
    assert model.calls == []


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b'{"action": "set", "store": "app", "value": 1}', "'atom' must be a string"),
        (b'{"action": "set", "store": "app", "atom": "count"}', "'value' is missing"),
        (b'{"action": "set", "atom": "count", "value": 1}', "'store' must be a string"),
        (b'{"action": "import", "data": [1]}', "'data' must be an export"),
        (b'{"action": "import"}', "'data' must be an export"),
    ],
)
def test_malformed_edit_and_import_commands_are_400(
    server: InspectorServer, model: FakeModel, body: bytes, message: str
) -> None:
    answer = httpx.post(
        _base(server) + "/api/command",
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert answer.status_code == 400
    assert message in answer.json()["error"]
    assert model.calls == []


@pytest.mark.parametrize("path", ["/api/timeline", "/api/export"])
def test_reading_routes_need_the_token_and_this_host(model: FakeModel, path: str) -> None:
    with InspectorServer(model, "127.0.0.1", 0, "s3cret") as server:
        base = _base(server)
        assert httpx.get(base + path).status_code == 401
        assert httpx.get(base + path + "?token=s3cret").status_code == 200
        evil = httpx.get(base + path + "?token=s3cret", headers={"Host": "evil.example"})
        assert evil.status_code == 403
        # The icon alone needs no token: it tells nothing about the app.
        assert httpx.get(base + "/favicon.ico").status_code == 200
