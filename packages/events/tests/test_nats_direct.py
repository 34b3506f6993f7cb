"""The NATS transport's direct fast path (``_nats_direct``) against the real server.

The emitting thread writes a single event's ``HPUB`` on a plain socket of its own and the
sender thread reads the ack there; whatever goes wrong on that connection sends the event again
through nats-py, stored once (JetStream drops the copy by its ``Nats-Msg-Id``).
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from atomiton.events import _nats_direct
from atomiton.events._errors import TransportError
from atomiton.events._nats_direct import direct_address
from atomiton.events._nats_transport import NatsTransport
from atomiton.events._transport import WireEvent

pytestmark = pytest.mark.services

WAIT = 20.0


def wire(n: int) -> WireEvent:
    return WireEvent(
        id=f"test/1/a:{n}",
        type="order.created",
        data=b'{"n":%d}' % n,
        source=None,
        timestamp=1_700_000_000.0 + n,
        origin="test/1/a",
    )


def begin_and_finish(transport: NatsTransport, event: WireEvent) -> None:
    done = threading.Event()
    finish = transport.begin_publish([event], done.set)
    assert finish is not None
    assert done.wait(WAIT)
    finish()


def test_only_a_plain_nats_url_without_credentials_takes_the_direct_path() -> None:
    assert direct_address("nats://127.0.0.1:4222") == ("127.0.0.1", 4222)
    assert direct_address("nats://localhost") == ("localhost", 4222)
    assert direct_address("nats://127.0.0.1:4223, nats://127.0.0.1:4224") == ("127.0.0.1", 4223)
    assert direct_address("nats://user:secret@127.0.0.1:4222") is None
    assert direct_address("nats://token@127.0.0.1:4222") is None
    assert direct_address("tls://127.0.0.1:4222") is None


def test_single_events_go_direct_and_are_stored_in_order(nats_url: str, nats_stream: str) -> None:
    errors: list[Exception] = []
    transport = NatsTransport(nats_url, stream=nats_stream, on_error=errors.append)
    try:
        direct: Any = transport._direct
        assert direct is not None
        assert direct._sock is not None
        for n in range(1, 4):
            begin_and_finish(transport, wire(n))
        transport.publish([wire(4)])
        assert direct._count == 3  # three went through the direct connection
        assert [e.id for e in transport.history(["**"])] == [f"test/1/a:{n}" for n in range(1, 5)]
        assert errors == []
    finally:
        transport.close()


def test_a_direct_publish_whose_ack_never_comes_is_sent_again_and_stored_once(
    nats_url: str, nats_stream: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_nats_direct, "_RETRY_EVERY", 0.0)
    errors: list[Exception] = []
    transport = NatsTransport(f"{nats_url}?timeout=1", stream=nats_stream, on_error=errors.append)
    try:
        direct: Any = transport._direct
        first_socket = direct._sock
        finish = transport.begin_publish([wire(1)], lambda: None)
        assert finish is not None
        assert direct._count == 1
        direct._inbox = "_INBOX.elsewhere."  # the real ack is then not recognised: no ack
        finish()  # no ack within 1 s: published again through nats-py, no error
        assert direct._sock is not None  # reopened once nats-py's publish got its ack
        assert direct._sock is not first_socket
        begin_and_finish(transport, wire(2))
        assert direct._count == 2  # direct again
        direct._drop()  # without a direct connection, single events go through nats-py
        begin_and_finish(transport, wire(3))
        assert direct._count == 2
        transport.publish([wire(4)])  # and it reopens after the next acknowledged publish
        assert direct._sock is not None
        stored = [e.id for e in transport.history(["**"])]
        assert stored == [f"test/1/a:{n}" for n in range(1, 5)]  # wire(1) once, not twice
        assert errors == []
    finally:
        transport.close()


def test_a_refused_direct_publish_is_retried_through_nats_py_and_reported(
    nats_url: str, nats_stream: str
) -> None:
    transport = NatsTransport(nats_url, stream=nats_stream, on_error=lambda _: None)
    try:
        publisher: Any = transport._publisher
        publisher._root = "atomiton-nowhere"  # no stream captures it: 503, no responders
        done = threading.Event()
        finish = transport.begin_publish([wire(1)], done.set)
        assert finish is not None
        direct: Any = transport._direct
        assert direct._count == 1
        assert done.wait(WAIT)
        with pytest.raises(TransportError, match="publish 1 event"):
            finish()
    finally:
        transport.close()


def test_an_event_over_64_kib_goes_through_nats_py_and_keeps_its_place(
    nats_url: str, nats_stream: str
) -> None:
    transport = NatsTransport(nats_url, stream=nats_stream, on_error=lambda _: None)
    try:
        direct: Any = transport._direct
        big = WireEvent(
            id="test/1/a:2",
            type="order.created",
            data=b'"' + b"x" * 70_000 + b'"',
            source=None,
            timestamp=1_700_000_002.0,
            origin="test/1/a",
        )
        begin_and_finish(transport, wire(1))
        begin_and_finish(transport, big)
        begin_and_finish(transport, wire(3))
        assert direct._count == 2  # the big one was not written on the direct connection
        stored = transport.history(["**"])
        assert [e.id for e in stored] == ["test/1/a:1", "test/1/a:2", "test/1/a:3"]
        assert stored[1].data == big.data
    finally:
        transport.close()
