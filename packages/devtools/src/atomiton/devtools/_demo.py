"""``atomiton demo``: a small but real app composed through the container, exercising every package.

Flow: compose ``Container.from_installed()`` (SQLite in the data directory, process workers sized
from ``capabilities()``, an in-process event bus, the entity client) -> attach DevTools -> persist
this run's tasks -> run CPU-bound jobs in process workers with progress bars, one of which kills its
worker on purpose and is retried on the replaced worker -> derived atoms summarise progress ->
an accidental write is undone through time travel -> a summary table. A second run finds the
first run's tasks in SQLite; ``--reset`` deletes them first; ``--inspect`` serves the live
inspector on the running demo and keeps it open until Ctrl-C. Every run saves its DevTools export
where ``atomiton devtools serve --last`` finds it.
"""

from __future__ import annotations

import argparse
import threading
import time
from collections import Counter
from typing import Any

from rich.console import Console
from rich.table import Table

from atomiton.devtools._bench_table import format_seconds
from atomiton.devtools._console import console, progress
from atomiton.devtools._demo_app import (
    CRASHING_TASK,
    RUNS,
    TASKS,
    DemoState,
    previous_runs,
    reset,
    start_run,
)
from atomiton.devtools._demo_jobs import count_primes
from atomiton.devtools._devtools import DevTools
from atomiton.devtools._errors import CommandError
from atomiton.devtools._last_run import save_export
from atomiton.devtools._serve_options import serve_settings
from atomiton.execution import WorkerCrashedError
from atomiton.platform import Container, capabilities, data_dir


def run_demo(args: argparse.Namespace) -> int:
    """Run the demo; see the module docstring."""
    if getattr(args, "processes", None) is not None:
        from atomiton.devtools._demo_sync import run_processes

        return run_processes(args)
    settings = serve_settings(args) if args.inspect else None  # before any work: a bad token
    out = console()
    started = time.monotonic()
    with Container.from_installed() as container:
        bus = container.resolve("events")
        client = container.resolve("store.client")
        workers = container.resolve("workers")
        with DevTools() as devtools:
            devtools.attach(bus, name="events")
            devtools.attach(client, name="entities")
            devtools.attach(workers, name="workers")
            server = None
            if settings is not None:
                server = devtools.serve(
                    port=settings.port,
                    host=settings.host,
                    token=settings.token,
                    allowed_hosts=settings.allowed_hosts,
                )
                out.print(f"inspector: {server.url}", markup=False)
            _header(out, workers)
            if args.reset:
                out.print(f"reset: removed {reset(client)} saved demo entities")
            _run(out, client, bus, workers, devtools, started)
            saved = save_export(devtools.export())
            out.print(
                f"\n[bold]look at this run in the web inspector[/]: [bold]atomiton devtools serve "
                f"--last[/] (it opens the export saved in {saved}; timeline, diffs, time travel)"
            )
            if server is not None:
                out.print(
                    f"inspector still open at {server.url} — press Ctrl-C to stop", markup=False
                )
                try:
                    while server.is_running:
                        server.wait(0.5)
                except KeyboardInterrupt:
                    out.print("inspector stopped")
    return 0


INTRO = """\
atomiton is a toolkit for Python apps: state in atoms and derived atoms (as in Jotai or Redux),
entity stores persisted to SQLite, PostgreSQL or Redis, an event bus, and jobs on thread, process
or Dask workers, all of which DevTools can watch, time-travel and show in a web inspector.
This demo runs a small app through those parts, step by step:
  [1/4] entities: this run and its tasks are saved in SQLite (run it again: they are still there)
  [2/4] jobs: CPU-bound tasks on process workers with live progress; one worker crash is
        deliberate, to show the pool replacing the worker and the task being retried
  [3/4] atoms: derived atoms summarise the progress; an accidental write is undone by time travel
  [4/4] summary: what ran and what was recorded, saved for the web inspector"""


def _header(out: Console, workers: Any) -> None:
    caps = capabilities()
    size = getattr(workers, "max_workers", None) or caps.cpu_count
    out.print(
        f"[bold]atomiton demo[/] · data in {data_dir()} · {size} process workers "
        f"({caps.cpu_count} CPUs) · SQLite {caps.sqlite_version}"
    )
    out.print(INTRO, markup=False, highlight=False)


def _run(
    out: Console, client: Any, bus: Any, workers: Any, devtools: DevTools, started: float
) -> None:
    earlier = previous_runs(client)
    saved_tasks = client.stores(TASKS).get_all()
    number = (earlier[-1]["number"] + 1) if earlier else 1
    out.print("\n[bold][1/4] entities[/]")
    if earlier:
        out.print(
            f"found {len(earlier)} earlier run(s) and {len(saved_tasks)} task(s) persisted in "
            f"SQLite — this is run #{number}"
        )
    else:
        out.print("no earlier run found: starting from an empty database (run #1)")

    events = Counter[str]()
    stop_counting = bus.on("**", lambda event: events.update([event.type]))
    run, tasks = start_run(client, number)
    state = DemoState({task["id"]: task["title"] for task in tasks})
    # The derived summaries are shown (read-only) beside the primitive atoms in the inspector.
    devtools.attach(state.store, name="ui", atoms=[state.fraction, state.overview])
    out.print(f"saved run #{number} and its {len(tasks)} tasks as entities")
    out.print("\n[bold][2/4] jobs[/] on process workers (progress bars are live job progress)")
    _work(out, client, workers, state, tasks)
    overview = state.view()
    out.print("\n[bold][3/4] atoms[/]")
    out.print(f"derived summary (computed from the progress atoms): {overview.text}")

    # Time travel: an accidental write wipes the progress; undo restores it through DevTools.
    state.store.set(state.progress, {})
    wiped = state.view().fraction
    devtools.undo("ui")
    restored = state.view().fraction
    if restored != overview.fraction:
        raise CommandError(f"time travel failed: progress {restored:.0%} after undo")
    out.print(
        f"time travel: an accidental write set progress to {wiped:.0%}; "
        f"undo restored it to {restored:.0%}"
    )
    client.stores(RUNS).update_one(
        run["id"], {"finished_at": time.time(), "done": overview.done, "failed": overview.failed}
    )
    stop_counting()
    out.print("\n[bold][4/4] summary[/]")
    _summary(out, client, number, events, devtools, time.monotonic() - started)


def _work(out: Console, client: Any, workers: Any, state: DemoState, tasks: list[Any]) -> None:
    task_store = client.stores(TASKS)
    bars = progress(out)
    rows = {task["id"]: bars.add_task(task["title"], total=1.0) for task in tasks}
    overall = bars.add_task("[bold]overall (derived atom)", total=1.0)
    unsubscribe = state.store.subscribe(
        state.fraction, lambda fraction: bars.update(overall, completed=fraction)
    )
    lock = threading.Lock()
    pending: dict[Any, dict[str, Any]] = {}

    def submit(task: dict[str, Any], crash: bool) -> None:
        job = workers.schedule(
            count_primes, args=(task["limit"],), kwargs={"crash": crash}, name=task["title"]
        )
        task_id = task["id"]
        row = rows[task_id]

        def on_progress(p: Any) -> None:  # runs in the pool's thread: both targets are thread-safe
            fraction = (p.current or 0) / (p.total or 1)
            state.set_progress(task_id, fraction)
            bars.update(row, completed=fraction)

        job.add_progress_callback(on_progress)
        state.set_status(task_id, "running")
        # A function receives the current entity and returns the new one (it replaces it).
        task_store.update_one(
            task_id, lambda t: {**t, "attempts": t["attempts"] + 1, "status": "running"}
        )
        with lock:
            pending[job] = task

    with bars:
        for index, task in enumerate(tasks):
            submit(task, crash=index == CRASHING_TASK)
        while pending:
            with lock:
                finished = [job for job in pending if job.done()]
            if not finished:
                time.sleep(0.02)
                continue
            for job in finished:
                with lock:
                    task = pending.pop(job)
                _settle(out, job, task, task_store, state, submit)
                bars.update(rows[task["id"]], completed=state.store.get(state.progress)[task["id"]])
                if job.exception() is not None:
                    bars.update(rows[task["id"]], description=f"{task['title']} (retry)")
    unsubscribe()


def _settle(
    out: Console, job: Any, task: dict[str, Any], task_store: Any, state: DemoState, submit: Any
) -> None:
    task_id = task["id"]
    error = job.exception()
    if isinstance(error, WorkerCrashedError):
        state.store.update(state.crashes, lambda n: n + 1)
        out.print(
            f"[yellow]worker crashed[/] while running {task['title']!r} — deliberately: this "
            "task's first attempt ends its worker process, as a segfault would; the pool "
            "replaced the worker and the task is retried",
            highlight=False,
        )
        state.set_progress(task_id, 0.0)
        submit(task, crash=False)
        return
    if error is not None:
        state.set_status(task_id, "failed")
        task_store.update_one(task_id, {"status": "failed", "error": str(error)})
        return
    seconds = time.monotonic() - (job.started_at or time.monotonic())  # started_at is monotonic
    state.set_progress(task_id, 1.0)
    state.set_status(task_id, "done")
    task_store.update_one(
        task_id, {"status": "done", "primes": job.result(), "seconds": round(seconds, 3)}
    )


def _plural(count: int, one: str, many: str | None = None) -> str:
    return f"{count} {one if count == 1 else (many or one + 's')}"


def _summary_words(
    tasks: int, runs: int, jobs: Counter[str], events: Counter[str], dt: DevTools
) -> str:
    """The run in words: what is persisted, how the jobs ended, what DevTools recorded."""
    ended = [
        _plural(count, "job") + f" {status.replace('_', ' ')}"
        for status, count in sorted(jobs.items(), key=lambda item: -item[1])
    ]
    crashed = jobs.get("failed", 0)
    if crashed:
        ended[-1 if len(ended) > 1 else 0] += " (the deliberate crash, retried)"
    job_events = sum(n for t, n in events.items() if t.startswith("execution.job."))
    return (
        f"{_plural(tasks, 'task')} from {_plural(runs, 'run')} are persisted in SQLite. "
        f"Jobs: {', '.join(ended) or 'none'}. "
        f"The event bus carried {_plural(sum(events.values()), 'event')} "
        f"({job_events} about jobs, {events['store.changed']} entity changes); "
        f"the DevTools timeline holds {_plural(len(dt.timeline), 'entry', 'entries')}."
    )


def _summary(
    out: Console, client: Any, number: int, events: Counter[str], dt: DevTools, elapsed: float
) -> None:
    tasks = client.stores(TASKS).get_all()
    table = Table(title=f"atomiton demo — run #{number} summary", title_justify="left")
    for column in ("run", "task", "status", "attempts", "primes", "seconds"):
        table.add_column(column, justify="left" if column == "task" else "right")
    earlier: dict[int, list[dict[str, Any]]] = {}
    for task in tasks:
        if task.get("run") != number:
            earlier.setdefault(int(task.get("run", 0)), []).append(task)
    for run_number, run_tasks in sorted(earlier.items()):
        done = sum(1 for t in run_tasks if t.get("status") == "done")
        table.add_row(
            str(run_number),
            f"{len(run_tasks)} tasks (persisted earlier)",
            f"{done} done",
            str(sum(int(t.get("attempts", 0)) for t in run_tasks)),
            str(sum(int(t.get("primes", 0)) for t in run_tasks)),
            f"{sum(float(t.get('seconds', 0.0)) for t in run_tasks):.3f}",
        )
    this_run = sorted((t for t in tasks if t.get("run") == number), key=lambda t: t["limit"])
    for task in this_run:
        table.add_row(
            str(number),
            task.get("title", ""),
            task.get("status", ""),
            str(task.get("attempts", "")),
            str(task.get("primes", "-")),
            f"{float(task.get('seconds', 0.0)):.3f}",
        )
    out.print(table)
    runs = len(previous_runs(client))
    out.print(
        _summary_words(len(tasks), runs, Counter(job["status"] for job in dt.jobs()), events, dt),
        highlight=False,
    )
    profile = Table(title="profile (from DevTools)", title_justify="left")
    for column in ("operation", "count", "errors", "p50", "p99"):
        profile.add_column(column, justify="left" if column == "operation" else "right")
    for stats in dt.profile().values():
        profile.add_row(
            stats.operation,
            str(stats.count),
            str(stats.errors),
            format_seconds(stats.p50) if stats.samples else "-",  # "-": counted, not timed
            format_seconds(stats.p99) if stats.samples else "-",
        )
    out.print(profile)
    out.print(
        f"done in {elapsed:.1f} s — run again to see the tasks persist, --reset to start clean"
    )
