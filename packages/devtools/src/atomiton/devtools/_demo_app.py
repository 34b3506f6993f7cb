"""The demo application's state: task entities persisted in storage and atoms summarising progress.

Everything here is ordinary atomiton code an app would write; ``_demo.py`` drives it and prints.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from atomiton.store import atom, computed, create_store

TASKS = "Task"
RUNS = "DemoRun"
# (title, limit): CPU-bound prime counting, sized so two workers finish in a few seconds.
WORK = (
    ("primes below 200k", 200_000),
    ("primes below 280k", 280_000),
    ("primes below 240k", 240_000),
    ("primes below 160k", 160_000),
    ("primes below 300k", 300_000),
    ("primes below 180k", 180_000),
    ("primes below 260k", 260_000),
    ("primes below 220k", 220_000),
)
CRASHING_TASK = 2  # the third task's first attempt kills its worker


@dataclass(frozen=True, slots=True)
class ProgressView:
    """What the derived ``overview`` atom holds: one consistent summary of the run."""

    done: int
    failed: int
    total: int
    fraction: float

    @property
    def text(self) -> str:
        """A one-line summary for the terminal."""
        return f"{self.done}/{self.total} done, {self.failed} failed, {self.fraction:.0%} of work"


class DemoState:
    """The demo's atoms in one isolated store: per-task progress and results, derived summaries."""

    def __init__(self, titles: Mapping[str, str]) -> None:
        self.store = create_store()
        self.titles = dict(titles)
        # task id -> fraction done (0..1); task id -> "done" | "failed" | "running" | "queued"
        self.progress: Any = atom({}, name="progress")
        self.status: Any = atom({}, name="status")
        self.crashes = atom(0, name="crashes")
        self.fraction = computed(
            lambda get: sum(get(self.progress).values()) / max(1, len(get(self.progress))),
            name="fraction",
        )
        self.overview = computed(
            lambda get: ProgressView(
                done=sum(1 for s in get(self.status).values() if s == "done"),
                failed=sum(1 for s in get(self.status).values() if s == "failed"),
                total=len(get(self.status)),
                fraction=get(self.fraction),
            ),
            name="overview",
        )
        with self.store.batch():
            self.store.set(self.progress, dict.fromkeys(titles, 0.0))
            self.store.set(self.status, dict.fromkeys(titles, "queued"))

    def set_progress(self, task_id: str, fraction: float) -> None:
        """Record how far one task is (from the job listener's thread)."""
        self.store.update(self.progress, lambda old: {**old, task_id: min(1.0, fraction)})

    def set_status(self, task_id: str, status: str) -> None:
        """Record one task's status."""
        self.store.update(self.status, lambda old: {**old, task_id: status})

    def view(self) -> ProgressView:
        """The current derived summary."""
        value: ProgressView = self.store.get(self.overview)
        return value


def previous_runs(client: Any) -> list[dict[str, Any]]:
    """The demo runs persisted by earlier invocations, oldest first."""
    runs: list[dict[str, Any]] = client.stores(RUNS).get_all()
    return sorted(runs, key=lambda run: run.get("number", 0))


def reset(client: Any) -> int:
    """Remove every persisted demo task and run for good; return how many entities went."""
    removed = 0
    for name in (TASKS, RUNS):
        store = client.stores(name)
        ids = [entity["id"] for entity in store.get_all(include_deleted=True)]
        if ids:
            removed += store.delete_many(ids, force=True)
    return removed


def start_run(client: Any, number: int) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """Persist this run and its tasks (status ``queued``); return them."""
    run = client.stores(RUNS).add_one({"number": number, "started_at": time.time()})
    tasks = client.stores(TASKS).add_many(
        {"title": title, "limit": limit, "run": number, "status": "queued", "attempts": 0}
        for title, limit in WORK
    )
    return run, tasks
