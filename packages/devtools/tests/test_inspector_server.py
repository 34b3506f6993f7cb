"""The inspector server: loopback by default, tokens off loopback, live SSE views, commands."""

from typing import Any

import httpx
import pytest

from atomiton.devtools import InspectorError, InspectorServer
from atomiton.devtools._server import is_loopback


class FakeModel:
    def __init__(self) -> None:
        self.revision = 1
        self.calls: list[tuple[str, str, int | None]] = []

    def view(self) -> dict[str, Any]:
        return {"revision": self.revision, "stores": []}

    def undo(self, name: str) -> bool:
        self.calls.append(("undo", name, None))
        return True

    def redo(self, name: str) -> bool:
        self.calls.append(("redo", name, None))
        return False

    def jump_to(self, name: str, index: int) -> bool:
        self.calls.append(("jump", name, index))
        return True


@pytest.fixture
def model() -> FakeModel:
    return FakeModel()


def test_server_binds_loopback_by_default_and_serves_the_page(model: FakeModel) -> None:
    with InspectorServer(model, "127.0.0.1", 0, None) as server:
        assert server.url.startswith("http://127.0.0.1:")
        page = httpx.get(server.url, timeout=5)
        assert page.status_code == 200
        assert "atomiton inspector" in page.text
        assert httpx.get(server.url + "api/state", timeout=5).json() == model.view()
    assert not server.is_running


def test_non_loopback_host_without_token_is_refused(model: FakeModel) -> None:
    with pytest.raises(InspectorError, match=r"0\.0\.0\.0.*token"):
        InspectorServer(model, "0.0.0.0", 0, None)


def test_with_a_token_every_request_must_carry_it(model: FakeModel) -> None:
    with InspectorServer(model, "127.0.0.1", 0, "s3cret") as server:
        base = f"http://127.0.0.1:{server.port}"
        assert httpx.get(base + "/api/state", timeout=5).status_code == 401
        assert httpx.get(base + "/api/state?token=wrong", timeout=5).status_code == 401
        assert httpx.get(base + "/api/state?token=s3cret", timeout=5).status_code == 200
        bearer = {"Authorization": "Bearer s3cret"}
        assert httpx.get(base + "/api/state", headers=bearer, timeout=5).status_code == 200
        assert server.url.endswith("/?token=s3cret")


def test_stream_sends_a_view_and_another_after_a_change(model: FakeModel) -> None:
    with (
        InspectorServer(model, "127.0.0.1", 0, None) as server,
        httpx.stream("GET", server.url + "api/stream", timeout=5) as response,
    ):
        assert response.headers["content-type"].startswith("text/event-stream")
        frames = []
        for line in response.iter_lines():
            if line.startswith("data: "):
                frames.append(line)
                if len(frames) == 1:
                    model.revision = 2
                else:
                    break
        assert '"revision": 1' in frames[0]
        assert '"revision": 2' in frames[1]


def test_commands_reach_the_model_and_bad_ones_are_400(model: FakeModel) -> None:
    with InspectorServer(model, "127.0.0.1", 0, None) as server:
        post = server.url + "api/command"
        assert httpx.post(post, json={"action": "jump", "store": "ui", "index": 2}).json() == {
            "ok": True,
            "changed": True,
        }
        assert httpx.post(post, json={"action": "undo", "store": "ui"}).status_code == 200
        bad = httpx.post(post, json={"action": "explode", "store": "ui"})
        assert bad.status_code == 400
        assert "unknown action" in bad.json()["error"]
    assert model.calls == [("jump", "ui", 2), ("undo", "ui", None)]


@pytest.mark.parametrize(
    ("host", "expected"),
    [
        ("127.0.0.1", True),
        ("127.1.2.3", True),
        ("::1", True),
        ("localhost", True),
        ("0.0.0.0", False),
        ("192.168.1.4", False),
        ("example.com", False),
    ],
)
def test_loopback_detection(host: str, expected: bool) -> None:
    assert is_loopback(host) is expected


def test_a_busy_port_is_one_clear_error(model: FakeModel) -> None:
    with InspectorServer(model, "127.0.0.1", 0, None) as first:
        with pytest.raises(InspectorError, match=rf"cannot listen on 127\.0\.0\.1:{first.port}"):
            InspectorServer(model, "127.0.0.1", first.port, None)
        assert httpx.get(first.url, timeout=5).status_code == 200


@pytest.mark.parametrize("port", [70000, -1, 65536])
def test_a_port_out_of_range_is_refused_not_wrapped(model: FakeModel, port: int) -> None:
    with pytest.raises(InspectorError, match=rf"port must be an integer in 0\.\.65535.*{port}"):
        InspectorServer(model, "127.0.0.1", port, None)
