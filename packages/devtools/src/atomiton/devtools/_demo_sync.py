"""``atomiton demo --processes N``: the same small app in N processes, kept in sync.

Every process (this one and N - 1 children started with ``python -m
atomiton.devtools._demo_sync``) bridges an event bus to one embedded SQLite stream
(``connect_bus``), opens an entity client on one shared SQLite file with ``sync=bus`` and keeps
the atom ``message`` equal everywhere with ``sync_atoms``. Once all are connected, each writes
``message`` ("hello from process k": concurrent writes, the last by Lamport clock wins) and adds
its own tasks, then waits until it sees every process's tasks, and reports its view as one JSON
line. This process prints each view as it comes and says whether they converged. With
``--inspect`` every process also shares its DevTools timeline over the bus (``DevTools.share``)
and this one serves the inspector: one timeline for all of them, filterable by origin.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from atomiton.devtools._console import console
from atomiton.devtools._devtools import DevTools
from atomiton.devtools._errors import CommandError
from atomiton.devtools._serve_options import serve_settings
from atomiton.events import EventBus, connect_bus
from atomiton.platform import data_dir
from atomiton.storage import open_storage
from atomiton.store import atom, create_client, create_store, sync_atoms

TASKS_EACH = 3
_WAIT_SECONDS = 20.0
_MAX_PROCESSES = 8


def _folder() -> Path:
    return data_dir() / "demo-sync"


def member(
    folder: Path,
    index: int,
    count: int,
    *,
    go: Any,
    report: Any,
    devtools: DevTools | None = None,
) -> dict[str, Any]:
    """Run process ``index`` of ``count``: connect, wait for ``go()``, write, converge, report.

    Returns the view reported: index, tasks seen, the message, seconds to converge.
    """
    bus = EventBus()
    storage = open_storage(f"sqlite://{folder / 'app.db'}")
    message = atom("", name="message")
    store = create_store()
    with connect_bus(bus, f"sqlite://{folder / 'events.db'}") as bridge:
        client = create_client(storage, sync=bus, flush_interval=None)
        try:
            with sync_atoms(store, bus, [message], channel="demo") as atom_sync:
                if devtools is not None:
                    devtools.attach(store, name=f"process-{index}")
                    devtools.attach(client, name=f"entities-{index}")
                    devtools.attach(bus, name=f"events-{index}")
                    devtools.share(bus)
                tasks = client.stores.Task
                tasks.get_all()  # hydrate now: later changes arrive through the sync
                go()
                started = time.monotonic()
                store.set(message, f"hello from process {index}")
                # sync_atoms sends from a thread of its own: hand the message to the bus before
                # the tasks, so whoever sees all the tasks has seen every message too.
                atom_sync.flush()
                for n in range(1, TASKS_EACH + 1):
                    tasks.add_one({"title": f"task {n} of process {index}", "process": index})
                wanted = TASKS_EACH * count
                deadline = started + _WAIT_SECONDS
                while len(tasks.get_all()) < wanted and time.monotonic() < deadline:
                    time.sleep(0.01)
                view = {
                    "process": index,
                    "tasks": len(tasks.get_all()),
                    "wanted": wanted,
                    "message": store.get(message),
                    "seconds": round(time.monotonic() - started, 3),
                    "origin": bridge.origin,
                }
                bridge.flush(timeout=10)
                report(view)
                return view
        finally:
            client.close()
            storage.close()
            if devtools is not None:
                devtools.detach()


def child_main(argv: list[str]) -> int:
    """A child process: ``<folder> <index> <count> [share]``; speaks JSON lines on stdio."""
    folder, index, count = Path(argv[0]), int(argv[1]), int(argv[2])
    share = len(argv) > 3 and argv[3] == "share"

    def go() -> None:
        print(json.dumps({"ready": index}), flush=True)
        line = sys.stdin.readline()
        if line.strip() != "go":
            raise SystemExit(1)

    def report(view: dict[str, Any]) -> None:
        print(json.dumps(view), flush=True)

    if share:
        with DevTools() as devtools:
            member(folder, index, count, go=go, report=report, devtools=devtools)
            sys.stdin.readline()  # stay until the parent is done (its inspector reads our entries)
    else:
        member(folder, index, count, go=go, report=report)
    return 0


class _Child:
    def __init__(self, folder: Path, index: int, count: int, share: bool) -> None:
        command = [sys.executable, "-m", "atomiton.devtools._demo_sync"]
        command += [str(folder), str(index), str(count)] + (["share"] if share else [])
        self.index = index
        self.process = subprocess.Popen(
            command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
        )

    def read(self) -> dict[str, Any]:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise CommandError(f"process {self.index} ended early (exit {self.process.wait()})")
        answer: dict[str, Any] = json.loads(line)
        return answer

    def send(self, text: str) -> None:
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(text + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            pass

    def close(self) -> None:
        self.send("quit")
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        for pipe in (self.process.stdin, self.process.stdout):
            if pipe is not None:
                with contextlib.suppress(OSError):  # the child may be gone: nothing to flush to
                    pipe.close()


def _say(out: Console, view: dict[str, Any]) -> None:
    seen = f"{view['tasks']}/{view['wanted']} tasks"
    out.print(
        f"process {view['process']}: sees {seen}, message {view['message']!r} "
        f"({view['seconds']:.2f} s after writing)",
        markup=False,
        highlight=False,
    )


def run_processes(args: argparse.Namespace) -> int:
    """Run the synced demo in ``args.processes`` processes (see the module docstring)."""
    count = int(args.processes)
    if not 2 <= count <= _MAX_PROCESSES:
        raise CommandError(f"--processes must be 2..{_MAX_PROCESSES}, got {count}")
    settings = serve_settings(args) if args.inspect else None
    out = console()
    started = time.monotonic()
    folder = _folder()
    shutil.rmtree(folder, ignore_errors=True)  # a fresh shared database and stream every run
    folder.mkdir(parents=True)
    out.print(
        f"[bold]atomiton demo --processes {count}[/]: the same app in {count} processes, kept in "
        "sync over the embedded SQLite transport (no server): one shared SQLite file for the "
        "entities, one SQLite event stream for the changes.",
        highlight=False,
    )
    out.print(
        f"Each process writes the atom 'message' (at about the same moment: the last write "
        f"wins everywhere) and adds {TASKS_EACH} tasks, then waits until it sees all "
        f"{TASKS_EACH * count}. Their views:",
        highlight=False,
    )
    share = settings is not None
    children = [_Child(folder, index, count, share) for index in range(2, count + 1)]
    devtools = DevTools() if share else None
    views: list[dict[str, Any]] = []
    try:
        server = None
        if devtools is not None and settings is not None:
            server = devtools.serve(
                port=settings.port,
                host=settings.host,
                token=settings.token,
                allowed_hosts=settings.allowed_hosts,
            )
            out.print(f"inspector: {server.url}", markup=False)

        def go() -> None:
            for child in children:
                child.read()  # {"ready": k}: connected and hydrated
            for child in children:
                child.send("go")

        def report(view: dict[str, Any]) -> None:
            views.append(view)
            _say(out, view)

        member(folder, 1, count, go=go, report=report, devtools=devtools)
        for child in children:
            report(child.read())
        messages = {view["message"] for view in views}
        complete = all(view["tasks"] == view["wanted"] for view in views)
        if complete and len(messages) == 1:
            out.print(
                f"converged: all {count} processes see the same {TASKS_EACH * count} tasks and "
                f"the message {messages.pop()!r} — done in {time.monotonic() - started:.1f} s",
                markup=False,
                highlight=False,
            )
        else:
            raise CommandError(
                f"the processes did not converge within {_WAIT_SECONDS:.0f} s: "
                + "; ".join(f"process {v['process']}: {v['tasks']} tasks" for v in views)
            )
        if server is not None:
            out.print(
                f"inspector still open at {server.url} (one timeline: filter it by origin) — "
                "press Ctrl-C to stop",
                markup=False,
            )
            try:
                while server.is_running:
                    server.wait(0.5)
            except KeyboardInterrupt:
                out.print("inspector stopped")
    finally:
        for child in children:
            child.close()
        if devtools is not None:
            devtools.close()
    return 0


if __name__ == "__main__":
    sys.exit(child_main(sys.argv[1:]))
