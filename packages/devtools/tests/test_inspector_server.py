"""The inspector server: loopback by default, tokens off loopback, live SSE views, commands."""

import httpx
import pytest

from atomiton.devtools import InspectorError, InspectorServer
from atomiton.devtools._server import is_loopback

from ._fake_model import FakeModel


@pytest.fixture
def model() -> FakeModel:
    return FakeModel(redo_result=False)


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


def test_edit_pause_resume_and_import_commands_reach_the_model(model: FakeModel) -> None:
    with InspectorServer(model, "127.0.0.1", 0, None) as server:
        post = server.url + "api/command"
        edit = {"action": "set", "store": "ui", "atom": "count", "value": {"n": [1]}}
        assert httpx.post(post, json=edit).json() == {"ok": True, "changed": True}
        assert httpx.post(post, json={"action": "pause"}).status_code == 200
        assert httpx.post(post, json={"action": "resume"}).status_code == 200
        export = {"format": "atomiton-devtools"}
        assert httpx.post(post, json={"action": "import", "data": export}).status_code == 200
    assert model.calls == [
        ("set", "ui", {"n": [1]}),
        ("pause", "", None),
        ("resume", "", None),
        ("import", "atomiton-devtools", None),
    ]


def test_timeline_route_passes_filters_and_refuses_bad_numbers(model: FakeModel) -> None:
    with InspectorServer(model, "127.0.0.1", 0, None) as server:
        url = server.url + "api/timeline"
        query = {"offset": "100", "limit": "5000", "kind": "atom", "origin": "", "text": "x"}
        assert httpx.get(url, params=query).json() == {"entries": [], "matched": 0}
        bad = httpx.get(url, params={"offset": "-1"})
        assert bad.status_code == 400
        assert "'offset' must be an integer >= 0" in bad.json()["error"]
        assert httpx.get(url, params={"before": "x"}).status_code == 400
        export = httpx.get(server.url + "api/export")
        assert export.headers["content-disposition"].startswith("attachment;")
        assert export.json()["format"] == "atomiton-devtools"
    (call,) = model.calls
    # the page size is capped at 1000; an empty origin is a real filter ("this process")
    assert call[1] == repr(
        sorted(
            {
                "offset": 100,
                "limit": 1000,
                "before": None,
                "kind": "atom",
                "source": None,
                "origin": "",
                "text": "x",
            }.items()
        )
    )
