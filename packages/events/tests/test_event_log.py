"""EventLog: JSON lines (or any LogSink), replayed in order; bad data refused at emit time."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from atomiton.events import (
    BusConfigError,
    Event,
    EventBus,
    EventEncodingError,
    EventLog,
    EventLogError,
    JsonLinesFile,
    LogSink,
)


def test_logged_bus_writes_one_json_line_per_event(tmp_path: Path) -> None:
    path = tmp_path / "logs" / "events.jsonl"
    bus = EventBus(log=EventLog(path), clock=lambda: 5.0)
    bus.emit("job.done", {"id": 7, "tags": ["a"]}, source="execution")
    bus.emit("job.done", None)
    bus.close()
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in lines] == [
        {
            "id": 1,
            "type": "job.done",
            "data": {"id": 7, "tags": ["a"]},
            "source": "execution",
            "timestamp": 5.0,
        },
        {"id": 2, "type": "job.done", "data": None, "source": None, "timestamp": 5.0},
    ]


def test_replay_re_emits_logged_events_in_order(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        bus = EventBus(log=log)
        for number in range(5):
            bus.emit(f"step.{number % 2}", {"n": number}, source="test")
    target = EventBus()
    seen: list[tuple[str, object, str | None]] = []
    target.on("**", lambda e: seen.append((e.type, e.data, e.source)))
    assert EventLog.replay(path, target) == 5
    assert seen == [(f"step.{n % 2}", {"n": n}, "test") for n in range(5)]


def test_logged_events_read_back_with_their_original_ids(tmp_path: Path) -> None:
    log = EventLog(tmp_path / "e.jsonl")
    bus = EventBus(log=log)
    originals = [bus.emit("a", number) for number in range(3)]
    log.close()
    assert list(EventLog(tmp_path / "e.jsonl").events()) == originals


def test_logged_bus_refuses_data_json_cannot_encode_at_emit_time(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    bus = EventBus(log=EventLog(path))
    seen: list[Event] = []
    bus.on("**", seen.append)
    with pytest.raises(EventEncodingError) as caught:
        bus.emit("job.done", {"rows": [1, 2, datetime(2026, 1, 1)]})
    message = str(caught.value)
    assert "'job.done'" in message
    assert "data['rows'][2]" in message
    assert "datetime" in message
    assert seen == []  # refused events are neither delivered nor recorded
    assert bus.history() == []
    assert isinstance(caught.value, TypeError)
    bus.emit("job.done", {"rows": [1, 2]})
    bus.close()
    assert len(path.read_text().splitlines()) == 1


def test_unlogged_bus_accepts_any_data() -> None:
    bus = EventBus()
    assert bus.emit("a", {"when": datetime(2026, 1, 1)}).data["when"].year == 2026


def test_circular_data_is_refused_with_a_clear_error(tmp_path: Path) -> None:
    bus = EventBus(log=EventLog(tmp_path / "e.jsonl"))
    data: dict[str, object] = {}
    data["self"] = data
    with pytest.raises(EventEncodingError, match="not JSON"):
        bus.emit("a", data)


class ListSink:
    """A storage that satisfies the LogSink protocol."""

    def __init__(self) -> None:
        self.stored: list[str] = []

    def append(self, record: str) -> None:
        self.stored.append(record)

    def records(self) -> list[str]:
        return list(self.stored)


def test_any_storage_satisfying_the_protocol_can_hold_the_log() -> None:
    sink = ListSink()
    assert isinstance(sink, LogSink)
    bus = EventBus(log=EventLog(sink))
    bus.emit("a", [1])
    bus.emit("b", "x")
    replayed = EventBus()
    seen: list[str] = []
    replayed.on("**", lambda e: seen.append(e.type))
    assert EventLog.replay(EventLog(sink), replayed) == 2
    assert seen == ["a", "b"]
    bus.close()  # a sink without close() is fine


def test_a_corrupt_record_names_the_line() -> None:
    sink = ListSink()
    sink.append('{"id": 1, "type": "a"')
    with pytest.raises(EventLogError, match="not an event record"):
        EventLog.replay(sink, EventBus())


def test_replaying_a_missing_file_emits_nothing(tmp_path: Path) -> None:
    assert EventLog.replay(tmp_path / "absent.jsonl", EventBus()) == 0


def test_json_lines_file_reopens_after_close(tmp_path: Path) -> None:
    sink = JsonLinesFile(tmp_path / "e.jsonl")
    sink.append("{}")
    sink.close()
    sink.append("[]")
    sink.close()
    assert list(sink.records()) == ["{}", "[]"]


def test_replaying_onto_a_bus_that_logs_to_the_same_file_terminates(tmp_path: Path) -> None:
    path = tmp_path / "events.jsonl"
    with EventLog(path) as log:
        first = EventBus(log=log)
        first.emit("a", 1)
        first.emit("b", 2)
    with EventLog(path) as log:
        assert EventLog.replay(path, EventBus(log=log)) == 2
    assert [(e.type, e.data) for e in EventLog(path).events()] == [
        ("a", 1),
        ("b", 2),
        ("a", 1),
        ("b", 2),
    ]


def test_replaying_onto_a_bus_that_logs_to_the_same_sink_terminates() -> None:
    sink = ListSink()
    EventBus(log=EventLog(sink)).emit("a")
    assert EventLog.replay(sink, EventBus(log=EventLog(sink))) == 1
    assert len(sink.stored) == 2


def test_a_corrupt_record_stops_the_replay_before_anything_is_emitted() -> None:
    sink = ListSink()
    EventBus(log=EventLog(sink)).emit("a")
    sink.append("not json")
    target = EventBus()
    with pytest.raises(EventLogError):
        EventLog.replay(sink, target)
    assert target.history() == []


@pytest.mark.parametrize(
    ("data", "path"),
    [
        (float("nan"), "data is a float"),
        ({"rate": [1.0, float("inf")]}, "data['rate'][1] is a float"),
        ({float("-inf"): 1}, "data key -inf"),
    ],
)
def test_nan_and_infinity_are_refused_at_emit_time(tmp_path: Path, data: object, path: str) -> None:
    bus = EventBus(log=EventLog(tmp_path / "e.jsonl"))
    with pytest.raises(EventEncodingError) as caught:
        bus.emit("a", data)
    assert path in str(caught.value)
    assert bus.history() == []
    bus.close()


def test_an_unencodable_source_is_named_as_the_source(tmp_path: Path) -> None:
    bus = EventBus(log=EventLog(tmp_path / "e.jsonl"))
    with pytest.raises(EventEncodingError, match="source is a object"):
        bus.emit("a", {"ok": 1}, source=object())  # type: ignore[arg-type]
    bus.close()


def test_a_target_that_is_neither_path_nor_sink_is_refused() -> None:
    with pytest.raises(BusConfigError, match="EventLog target must be a file path or a LogSink"):
        EventLog(5)  # type: ignore[arg-type]
