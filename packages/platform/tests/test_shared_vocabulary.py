"""The job vocabulary and the EventSink protocol every package shares."""

from __future__ import annotations

from typing import Any

import pytest

from atomiton.platform import EventSink, JobEventKind, JobStatus


def test_statuses_and_kinds_are_the_event_strings() -> None:
    assert [s.value for s in JobStatus] == [
        "pending",
        "running",
        "succeeded",
        "failed",
        "cancelled",
        "timed_out",
    ]
    assert [k.value for k in JobEventKind] == [
        "queued",
        "started",
        "progress",
        "succeeded",
        "failed",
        "cancelled",
        "timed_out",
    ]
    assert JobStatus("running") is JobStatus.RUNNING
    assert JobEventKind.TIMED_OUT.event_type == "execution.job.timed_out"


@pytest.mark.parametrize(
    ("kind", "status"),
    [
        (JobEventKind.QUEUED, JobStatus.PENDING),
        (JobEventKind.STARTED, JobStatus.RUNNING),
        (JobEventKind.PROGRESS, JobStatus.RUNNING),
        (JobEventKind.SUCCEEDED, JobStatus.SUCCEEDED),
        (JobEventKind.FAILED, JobStatus.FAILED),
        (JobEventKind.CANCELLED, JobStatus.CANCELLED),
        (JobEventKind.TIMED_OUT, JobStatus.TIMED_OUT),
    ],
)
def test_each_kind_names_the_status_it_leaves_the_job_in(
    kind: JobEventKind, status: JobStatus
) -> None:
    assert kind.status is status
    assert kind.status.is_final == (kind not in ("queued", "started", "progress"))


def test_event_sink_is_any_object_with_emit() -> None:
    seen: list[tuple[str, Any, str]] = []

    class Sink:
        def emit(self, type: str, data: Any, /, *, source: str) -> None:
            seen.append((type, data, source))

    sink: EventSink = Sink()
    sink.emit("x.y", {"a": 1}, source="t")
    assert seen == [("x.y", {"a": 1}, "t")]
    assert isinstance(Sink(), EventSink)
    assert not isinstance(object(), EventSink)
