"""``atomiton replay <event-log>``: re-emit a recorded event log and print it as a timeline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.table import Table

from atomiton.devtools._console import DelayedProgress, console
from atomiton.devtools._devtools import DevTools
from atomiton.devtools._errors import CommandError
from atomiton.devtools._patterns import matches
from atomiton.events import EventBus, EventLog


def run_replay(args: argparse.Namespace) -> int:
    """Replay ``args.log`` into a fresh bus watched by DevTools and print what it recorded."""
    path = Path(args.log)
    if not path.is_file():
        raise CommandError(f"no event log at {path}")
    out = console()
    with path.open("rb") as lines:
        total = sum(1 for _ in lines)
    bus = EventBus(history=0)
    count = 0
    # max_entries: keep every replayed event, however long the log.
    with DevTools(max_entries=max(1, total)) as devtools, EventLog(path) as log:
        devtools.attach(bus, name="replay")
        with DelayedProgress(out, "replaying events", total) as bar:
            for event in log.events():  # what EventLog.replay does, one event at a time
                bus.emit(event.type, event.data, event.source)
                count += 1
                bar.advance()
        entries = [e for e in devtools.timeline.entries("event") if matches(args.pattern, e.label)]
    table = Table(title=f"{path} — {count} event(s) replayed", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("type")
    table.add_column("source")
    table.add_column("data", overflow="fold")
    for index, entry in enumerate(entries):
        data = json.dumps(entry.data, ensure_ascii=False)
        table.add_row(str(index), entry.label, entry.source, data[:160])
    out.print(table)
    return 0
