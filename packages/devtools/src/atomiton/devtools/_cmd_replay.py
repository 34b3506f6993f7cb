"""``atomiton replay <event-log>``: re-emit a recorded event log and print it as a timeline.

The log is read one line at a time and every event is printed as DevTools records it, so memory
stays constant however long the log is (the timeline DevTools keeps here is a small ring). Types,
sources and data are printed as data: control characters are escaped (``_safe_text``) and nothing
is parsed as markup. A line that is not an event record stops the replay with an error naming the
line; the events before it have been printed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import TextIO

from atomiton.devtools._console import DelayedProgress, console
from atomiton.devtools._devtools import DevTools
from atomiton.devtools._errors import CommandError
from atomiton.devtools._patterns import matches
from atomiton.devtools._safe_text import printable
from atomiton.devtools._timeline import TimelineEntry
from atomiton.events import Event, EventBus, EventLog, EventLogError

_DATA_PREVIEW = 160
_PROGRESS_STEP = 256 * 1024  # bytes read between two progress-bar updates
_KEPT_ENTRIES = 100  # DevTools' ring while replaying: rows are printed as they are recorded


class _Rows:
    """Prints each replayed event entry that matches the pattern, numbered from 0."""

    def __init__(self, out: TextIO, pattern: str) -> None:
        self._out = out
        self._pattern = pattern
        self.shown = 0

    def header(self, path: Path) -> None:
        self._out.write(f"replaying {printable(str(path))}\n")
        self._out.write(f"{'#':>6}  {'type':<24}  {'source':<12}  data\n")

    def __call__(self, entry: TimelineEntry) -> None:
        if entry.kind != "event" or not matches(self._pattern, entry.label):
            return
        data = json.dumps(entry.data, ensure_ascii=False)[:_DATA_PREVIEW]
        self._out.write(
            f"{self.shown:>6}  {printable(entry.label):<24}  {printable(entry.source):<12}  "
            f"{printable(data)}\n"
        )
        self.shown += 1


def _decode(raw: bytes, number: int, path: Path) -> Event | None:
    try:
        record = raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError:
        raise CommandError(f"{path}, line {number}: not UTF-8 text") from None
    if not record.strip():
        return None
    try:
        return EventLog.decode(record)
    except RecursionError:
        raise CommandError(
            f"{path}, line {number}: the record's JSON is nested too deeply to read"
        ) from None
    except EventLogError as error:
        raise CommandError(f"{path}, line {number}: {error}") from None


def run_replay(args: argparse.Namespace) -> int:
    """Replay ``args.log`` into a fresh bus watched by DevTools, printing each event it records."""
    path = Path(args.log)
    if not path.is_file():
        raise CommandError(f"no event log at {path}")
    out = sys.stdout
    rows = _Rows(out, args.pattern)
    rows.header(path)
    bus = EventBus(history_limit=0)
    count = 0
    with (
        DevTools(entry_limit=_KEPT_ENTRIES, event_limit=_KEPT_ENTRIES) as devtools,
        path.open("rb") as lines,
        DelayedProgress(console(stderr=True), "replaying events", path.stat().st_size) as bar,
    ):
        devtools.attach(bus, name="replay")
        devtools.timeline.add_listener(rows)
        unreported = 0
        for number, raw in enumerate(lines, start=1):
            unreported += len(raw)
            if unreported >= _PROGRESS_STEP:  # a bar update per line would cost more than a line
                bar.advance(unreported)
                unreported = 0
            event = _decode(raw, number, path)
            if event is not None:
                bus.emit(event.type, event.data, source=event.source)
                count += 1
        bar.advance(unreported)
    # With a pattern, always say how many rows it let through, even when that is all of them.
    shown = "" if args.pattern == "**" else f", {rows.shown} shown (pattern {args.pattern!r})"
    out.write(f"{printable(str(path))} — {count} event(s) replayed{printable(shown)}\n")
    out.flush()
    return 0
