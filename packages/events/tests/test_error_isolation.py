"""A raising handler never stops the others and never raises out of emit."""

from __future__ import annotations

import logging

import pytest

from atomiton.events import Event, EventBus


def failing_handler(event: Event) -> None:
    raise RuntimeError(f"boom on {event.type}")


def test_raising_handler_among_others_does_not_stop_them_or_the_emitter() -> None:
    errors: list[tuple[Exception, Event]] = []
    bus = EventBus(on_error=lambda error, event: errors.append((error, event)))
    seen: list[str] = []
    bus.on("a", lambda e: seen.append("before"))
    bus.on("a", failing_handler)
    bus.on("a", lambda e: seen.append("after"))
    bus.on("a", failing_handler)
    event = bus.emit("a")
    assert seen == ["before", "after"]
    assert [(str(error), ev) for error, ev in errors] == [("boom on a", event)] * 2


def test_default_on_error_logs_with_the_handlers_name(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    bus.on("job.done", failing_handler)
    with caplog.at_level(logging.ERROR, logger="atomiton.events"):
        bus.emit("job.done")
    (record,) = caplog.records
    assert "failing_handler" in record.getMessage()
    assert "'job.done'" in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)


def test_once_handler_name_is_the_wrapped_handler(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    bus.once("a", failing_handler)
    with caplog.at_level(logging.ERROR, logger="atomiton.events"):
        bus.emit("a")
    assert "failing_handler" in caplog.records[0].getMessage()


def test_a_raising_on_error_is_logged_and_still_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def bad_on_error(error: Exception, event: Event) -> None:
        raise ValueError("on_error itself failed")

    bus = EventBus(on_error=bad_on_error)
    seen: list[int] = []
    bus.on("a", failing_handler)
    bus.on("a", lambda e: seen.append(e.id))
    with caplog.at_level(logging.ERROR, logger="atomiton.events"):
        bus.emit("a")
    assert seen == [1]
    messages = [record.getMessage() for record in caplog.records]
    assert any("on_error raised" in message for message in messages)
    assert any("failing_handler" in message for message in messages)


def test_base_exceptions_are_not_swallowed() -> None:
    bus = EventBus()

    def interrupt(event: Event) -> None:
        raise KeyboardInterrupt

    bus.on("a", interrupt)
    with pytest.raises(KeyboardInterrupt):
        bus.emit("a")
