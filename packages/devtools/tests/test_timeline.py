"""The timeline ring, the profiler and event-pattern matching: small pieces, exact behaviour."""

import threading

import pytest

from atomiton.devtools import Timeline, TimelineEntry
from atomiton.devtools._patterns import matches
from atomiton.devtools._profile import Profiler


def test_timeline_keeps_only_the_newest_entries_and_keeps_counting() -> None:
    timeline = Timeline(entry_limit=3)
    for n in range(5):
        timeline.record("event", "bus", f"e{n}")
    assert [e.label for e in timeline] == ["e2", "e3", "e4"]
    assert [e.seq for e in timeline] == [2, 3, 4]
    assert len(timeline) == 3


def test_timeline_rejects_a_size_below_one() -> None:
    with pytest.raises(ValueError, match="entry_limit"):
        Timeline(entry_limit=0)


def test_timeline_filters_by_kind_and_limit() -> None:
    timeline = Timeline()
    timeline.record("atom", "ui", "count")
    timeline.record("job", "workers", "resize running")
    timeline.record("atom", "ui", "name")
    assert [e.label for e in timeline.entries("atom")] == ["count", "name"]
    assert [e.label for e in timeline.entries(limit=1)] == ["name"]


def test_timeline_entries_round_trip_through_dicts() -> None:
    timeline = Timeline()
    entry = timeline.record("atom", "ui", "count", {"value": 3}, position=4)
    assert TimelineEntry.from_dict(entry.to_dict()) == entry


def test_timeline_listener_sees_every_entry_until_removed() -> None:
    timeline = Timeline()
    seen: list[str] = []
    remove = timeline.add_listener(lambda entry: seen.append(entry.label))
    timeline.record("event", "bus", "a")
    remove()
    timeline.record("event", "bus", "b")
    assert seen == ["a"]


def test_timeline_numbers_entries_uniquely_under_threads() -> None:
    timeline = Timeline(entry_limit=10_000)

    def write() -> None:
        for _ in range(500):
            timeline.record("event", "bus", "x")

    threads = [threading.Thread(target=write) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    seqs = [e.seq for e in timeline]
    assert sorted(seqs) == seqs == list(range(4000))


def test_profiler_reports_counts_errors_and_percentiles() -> None:
    profiler = Profiler()
    for n in range(1, 101):
        profiler.record("store.set", n / 1000)
    profiler.record("store.set", None, error=True)
    stats = profiler.stats()["store.set"]
    assert stats.count == 101
    assert stats.errors == 1
    assert stats.p50 == pytest.approx(0.0505)
    assert stats.p90 == pytest.approx(0.0901)
    assert stats.p99 == pytest.approx(0.09901)
    assert stats.max == pytest.approx(0.1)
    assert stats.samples == 100  # the untimed error is counted, not sampled


def test_profiler_with_one_sample_reports_it_everywhere() -> None:
    profiler = Profiler()
    profiler.record("job.resize", 0.25)
    stats = profiler.stats()["job.resize"]
    assert (stats.p50, stats.p99, stats.max, stats.mean) == (0.25, 0.25, 0.25, 0.25)
    assert stats.samples == 1


def test_profiler_marks_counted_only_operations_with_zero_samples() -> None:
    profiler = Profiler()
    profiler.record("entities.add", None)
    profiler.record("entities.add", None)
    stats = profiler.stats()["entities.add"]
    assert (stats.count, stats.samples) == (2, 0)
    assert stats.to_dict()["samples"] == 0


@pytest.mark.parametrize(
    ("pattern", "event_type", "expected"),
    [
        ("job.done", "job.done", True),
        ("job.done", "job.failed", False),
        ("job.*", "job.done", True),
        ("job.*", "job", False),
        ("job.*", "job.a.b", False),
        ("job.**", "job", True),
        ("job.**", "job.a.b", True),
        ("**", "anything.at.all", True),
        ("", "x", True),
        ("*.job.*", "execution.job.started", True),
        ("**.started", "execution.job.started", True),
        ("**.started", "execution.job.failed", False),
        ("a.**.z", "a.z", True),
        ("a.**.z", "a.b.c.z", True),
        ("a.**.z", "a.b.c", False),
    ],
)
def test_patterns_match_like_the_event_bus(pattern: str, event_type: str, expected: bool) -> None:
    assert matches(pattern, event_type) is expected


def test_profiler_folds_new_operations_into_other_beyond_its_limit() -> None:
    profiler = Profiler(max_operations=3)
    for n in range(10):
        profiler.record(f"job.unique-{n}", 0.001)
    stats = profiler.stats()
    assert len(stats) == 3
    assert stats["(other)"].count == 8


def test_a_page_counts_from_the_newest_and_filters_by_kind_source_origin_and_text() -> None:
    timeline = Timeline(entry_limit=50)
    for n in range(30):
        timeline.record("atom", "ui", "count", {"count": n})
    timeline.record("event", "auth", "user.login", {"name": "Ada"}, origin="worker-2")
    entries, matched = timeline.page(limit=10)
    assert matched == 31
    assert [e.seq for e in entries] == list(range(21, 31))  # the newest page, oldest first
    entries, _ = timeline.page(offset=25, limit=10)
    assert [e.seq for e in entries] == [0, 1, 2, 3, 4, 5]
    # ``before`` holds a page still while new entries arrive
    timeline.record("atom", "ui", "count", {"count": 99})
    assert [e.seq for e in timeline.page(before=31, limit=3)[0]] == [28, 29, 30]
    assert timeline.page(kind="event")[1] == 1
    assert timeline.page(source="ui")[1] == 31
    assert [e.label for e in timeline.page(origin="worker-2")[0]] == ["user.login"]
    assert timeline.page(origin="")[1] == 31
    assert [e.data for e in timeline.page(text="ADA")[0]] == [{"name": "Ada"}]
    assert timeline.page(text='"count": 7')[1] == 1
    assert timeline.facets() == {"sources": ["auth", "ui"], "origins": ["", "worker-2"]}


def test_an_entry_keeps_origin_and_before_through_to_dict() -> None:
    timeline = Timeline()
    entry = timeline.record("atom", "ui", "n", {"n": 2}, position=1, origin="p2", before={"n": 1})
    again = TimelineEntry.from_dict(entry.to_dict())
    assert (again.origin, again.before) == ("p2", {"n": 1})
    assert again == entry
