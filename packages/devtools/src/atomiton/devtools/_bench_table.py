"""Rows of the side-by-side benchmark table, from pytest-benchmark's JSON report.

The same idea as ``benchmarks/conftest.py`` (one row per group and peer, ratio = peer / atomiton,
above 1 means atomiton is faster), but over the saved JSON so the CLI can render it after the run.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

OURS = "atomiton"


@dataclass(frozen=True, slots=True)
class BenchRow:
    """One line of the table: a benchmark group, atomiton's mean, one peer's mean, the ratio."""

    group: str
    atomiton: float
    target: float | None
    peer: str | None
    peer_mean: float | None

    @property
    def package(self) -> str:
        """The package a group belongs to (groups are named ``"<package>: <case>"``)."""
        return self.group.split(":", 1)[0].strip()

    @property
    def ratio(self) -> float | None:
        """``peer / atomiton``: above 1 means atomiton is faster."""
        if self.peer_mean is None or self.atomiton <= 0:
            return None
        return self.peer_mean / self.atomiton

    @property
    def meets_target(self) -> bool | None:
        """Whether atomiton's mean is within the issue's absolute target (None: no target)."""
        return None if self.target is None else self.atomiton <= self.target


def rows_from_report(report: Mapping[str, Any], compare: bool = True) -> list[BenchRow]:
    """Build the rows: every peer per group with ``compare``, else only the fastest peer."""
    by_group: dict[str, dict[str, Mapping[str, Any]]] = defaultdict(dict)
    for bench in report.get("benchmarks", []):
        stats = bench.get("stats") or {}
        if not stats.get("rounds"):
            continue
        impl = (bench.get("extra_info") or {}).get("impl", OURS)
        by_group[bench.get("group") or bench["name"]][impl] = bench
    rows: list[BenchRow] = []
    for group in sorted(by_group):
        impls = by_group[group]
        ours = impls.get(OURS)
        if ours is None:
            continue
        mean = float(ours["stats"]["mean"])
        target = (ours.get("extra_info") or {}).get("target_s")
        peers = sorted(
            (float(b["stats"]["mean"]), name) for name, b in impls.items() if name != OURS
        )
        if not compare:
            peers = peers[:1]
        if not peers:
            rows.append(BenchRow(group, mean, target, None, None))
        for peer_mean, name in sorted(peers, key=lambda item: item[1]):
            rows.append(BenchRow(group, mean, target, name, peer_mean))
    return rows


def format_seconds(seconds: float) -> str:
    """Human units: s, ms, µs, ns with three significant digits."""
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"
