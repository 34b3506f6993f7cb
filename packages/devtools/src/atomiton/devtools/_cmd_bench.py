"""``atomiton bench [--compare]``: run the benchmark suites, print atomiton beside every peer."""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.table import Table

from atomiton.devtools._bench_table import BenchRow, format_seconds, rows_from_report
from atomiton.devtools._console import console, progress
from atomiton.devtools._errors import CommandError

# pytest-benchmark's warning (an error under filterwarnings=error) when nothing was timed
_NOTHING_RAN = "no benchmarks have been run"
_NO_TESTS = 5  # pytest's exit status when nothing was collected or everything was deselected
_PERCENT = re.compile(r"\[\s*(\d+)%\]\s*$")


def _run_pytest(args: argparse.Namespace, json_path: Path) -> tuple[int, bool]:
    """Run the suites; return pytest's exit status and whether no benchmark ran at all."""
    command = [
        sys.executable,
        "-m",
        "pytest",
        args.path,
        "--benchmark-enable",
        "--benchmark-only",
        f"--benchmark-json={json_path}",
        "-p",
        "no:randomly",
        "-p",
        "no:cacheprovider",
        "-v",
        "--no-header",
        "-rfE",
        "-o",
        "console_output_style=progress",
    ]
    if args.keyword:
        command += ["-k", args.keyword]
    out = console()
    failures: list[str] = []
    nothing_ran = False
    with progress(out) as bars:
        task = bars.add_task("benchmarks", total=100)
        with subprocess.Popen(
            command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        ) as proc:
            assert proc.stdout is not None
            for line in proc.stdout:
                match = _PERCENT.search(line)
                if match:
                    bars.update(task, completed=int(match.group(1)))
                    name = line.split("::")[-1].split(" ")[0]
                    bars.update(task, description=f"benchmarks: {name[:16]}")
                if _NOTHING_RAN in line:
                    nothing_ran = True
                    continue
                if line.startswith(("FAILED ", "ERROR ")) or " ERROR " in line:
                    failures.append(line.rstrip())
            status = proc.wait()
        bars.update(task, completed=100, description="benchmarks")
    if nothing_ran or status == _NO_TESTS:
        return status, True
    for line in failures[:20]:
        out.print(line, markup=False)
    return status, False


def render(rows: list[BenchRow], compare: bool) -> Table:
    """Build the one table: case, atomiton's time, target verdict, peer, its time, ratio."""
    title = "atomiton vs peers (ratio = peer / atomiton; > 1: atomiton faster)"
    table = Table(title=title, title_justify="left")
    for name, justify in (
        ("case", "left"),
        ("atomiton", "right"),
        ("target", "right"),
        ("peer" if compare else "fastest peer", "left"),
        ("peer time", "right"),
        ("ratio", "right"),
    ):
        # The case name folds onto more lines rather than being cut with an ellipsis: cut names
        # ("store: set 1000 a…") could not be told apart.
        table.add_column(
            name,
            justify=justify,  # type: ignore[arg-type]
            overflow="fold" if name == "case" else "ellipsis",
            no_wrap=name != "case",
            ratio=None,
        )
    previous = None
    for row in rows:
        target = "-"
        if row.target is not None:
            target = ("ok " if row.meets_target else "MISS ") + format_seconds(row.target)
        ratio = "-" if row.ratio is None else f"{row.ratio:.2f}x"
        repeated = row.group == previous  # one case, several peers: name it once
        previous = row.group
        table.add_row(
            "" if repeated else row.group,
            "" if repeated else format_seconds(row.atomiton),
            "" if repeated else target,
            row.peer or "-",
            "-" if row.peer_mean is None else format_seconds(row.peer_mean),
            ratio,
        )
    return table


def run_bench(args: argparse.Namespace) -> int:
    """Run the suites under ``args.path`` timed and print the table."""
    if not Path(args.path).is_dir():
        raise CommandError(
            f"no benchmark folder at {args.path!r}: run from the workspace root or pass --path"
        )
    with tempfile.TemporaryDirectory() as tmp:
        json_path = Path(args.json_path) if args.json_path else Path(tmp) / "benchmarks.json"
        status, nothing_ran = _run_pytest(args, json_path)
        if nothing_ran:
            raise CommandError(
                f"no benchmark under {args.path!r} matched -k {args.keyword!r}: nothing ran "
                "(-k matches test names and file names, as in pytest)"
                if args.keyword
                else f"no benchmark found under {args.path!r}: nothing ran"
            )
        if not json_path.is_file():
            raise CommandError(f"the benchmark run produced no report (pytest exit {status})")
        report = json.loads(json_path.read_text("utf-8"))
    rows = rows_from_report(report, compare=args.compare)
    if not rows:
        raise CommandError("no benchmark with extra_info['impl'] == 'atomiton' ran")
    out = console()
    if not out.is_terminal:
        out.width = max(out.width, 132)  # a log or a pipe: keep one case per line
    out.print(render(rows, args.compare))
    if status != 0:
        raise CommandError(f"some benchmarks failed (pytest exit {status}); see the lines above")
    return 0
