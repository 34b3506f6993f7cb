"""``atomiton replay <event-log>``: re-emit a recorded event log and print it as a timeline."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from rich.table import Table

from atomiton.devtools._console import console
from atomiton.devtools._devtools import DevTools
from atomiton.devtools._errors import CommandError
from atomiton.devtools._patterns import matches
from atomiton.events import EventBus, EventLog


def run_replay(args: argparse.Namespace) -> int:
    """Replay ``args.log`` into a fresh bus watched by DevTools and print what it recorded."""
    path = Path(args.log)
    if not path.is_file():
        raise CommandError(f"no event log at {path}")
    bus = EventBus(history=0)
    with DevTools() as devtools:
        devtools.attach(bus, name="replay")
        count = EventLog.replay(path, bus)
        entries = [e for e in devtools.timeline.entries("event") if matches(args.pattern, e.label)]
    out = console()
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
