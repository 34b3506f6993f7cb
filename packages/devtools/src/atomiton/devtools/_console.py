"""Terminal output for the CLI: one rich console, progress bars, tables."""

from __future__ import annotations

import time

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)


def console(*, stderr: bool = False) -> Console:
    """Return a console on stdout or stderr (plain text when not a terminal, so tests can read it).

    Progress bars of commands whose stdout is data (``--json``) go to stderr.
    """
    return Console(highlight=False, soft_wrap=True, stderr=stderr)


def progress(out: Console) -> Progress:
    """Return a progress display for work that takes longer than a second."""
    return Progress(
        TextColumn("{task.description:<28}"),
        BarColumn(),
        TaskProgressColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=out,
        transient=False,
    )


class DelayedProgress:
    """A progress bar that appears only once the work has taken longer than ``delay`` seconds.

    Quick commands stay quiet; slow ones (a big storage, a long event log) show a bar.
    """

    def __init__(self, out: Console, description: str, total: int, delay: float = 1.0) -> None:
        self._out = out
        self._description = description
        self._total = total
        self._delay = delay
        self._started = time.monotonic()
        self._done = 0
        self._bars: Progress | None = None
        self._task: TaskID | None = None

    def advance(self, amount: int = 1) -> None:
        """Count ``amount`` more units done."""
        self._done += amount
        if self._bars is None:
            if time.monotonic() - self._started < self._delay:
                return
            self._bars = progress(self._out)
            self._bars.start()
            self._task = self._bars.add_task(self._description, total=self._total)
        assert self._task is not None
        self._bars.update(self._task, completed=self._done)

    def __enter__(self) -> DelayedProgress:
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._bars is not None:
            self._bars.stop()
