"""Terminal output for the CLI: one rich console, progress bars, tables."""

from __future__ import annotations

from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
)


def console() -> Console:
    """Return a console on stdout (plain text when not a terminal, so tests can read it)."""
    return Console(highlight=False, soft_wrap=True)


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
