"""Benchmark conventions shared by every suite, and the ratio report printed after a timed run.

Every benchmark names its group (one case, e.g. ``"store: get"``) and says whose code it runs:

    @pytest.mark.benchmark(group="store: get")
    def test_get_atomiton(benchmark): ...
        benchmark.extra_info["impl"] = "atomiton"      # or the peer's name, e.g. "reaktiv"
        benchmark.extra_info["target_s"] = 250e-9      # optional: the issue's absolute target

In the normal test run benchmarks execute once, untimed (``--benchmark-disable``), so they stay
correct. Timed: ``uv run pytest benchmarks --benchmark-enable``; the summary below then prints,
per group, atomiton's mean time beside each peer's and the ratio ``peer / atomiton`` (above 1
means atomiton is faster), plus the target verdict where one was given.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import pytest

OURS = "atomiton"


def _fmt(seconds: float) -> str:
    for unit, scale in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6)):
        if seconds >= scale:
            return f"{seconds / scale:.3g} {unit}"
    return f"{seconds / 1e-9:.3g} ns"


def benchmark_rows(benchmarks: list[Any]) -> list[dict[str, Any]]:
    """Turn pytest-benchmark results into one row per (group, peer) with the ratio."""
    by_group: dict[str, dict[str, Any]] = defaultdict(dict)
    for bench in benchmarks:
        stats = getattr(bench, "stats", None)
        if stats is None or not getattr(stats, "rounds", 0):
            continue
        impl = bench.extra_info.get("impl", OURS)
        by_group[bench.group or bench.name][impl] = bench
    rows: list[dict[str, Any]] = []
    for group in sorted(by_group):
        impls = by_group[group]
        ours = impls.get(OURS)
        if ours is None:
            continue
        ours_mean = ours.stats.mean
        target = ours.extra_info.get("target_s")
        row = {"group": group, "atomiton": ours_mean, "target": target}
        peers = {name: b.stats.mean for name, b in impls.items() if name != OURS}
        if not peers:
            rows.append({**row, "peer": "-", "peer_mean": None, "ratio": None})
        for name, mean in sorted(peers.items()):
            rows.append({**row, "peer": name, "peer_mean": mean, "ratio": mean / ours_mean})
    return rows


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    session = getattr(config, "_benchmarksession", None)
    if session is None or session.disabled:
        return
    rows = benchmark_rows(session.benchmarks)
    if not rows:
        return
    write = terminalreporter.write_line
    terminalreporter.section("atomiton vs peers (ratio = peer / atomiton; > 1: atomiton faster)")
    write(
        f"{'case':<44} {'atomiton':>10} {'target':>10} {'peer':<24} {'peer time':>10} {'ratio':>7}"
    )
    for row in rows:
        target = row["target"]
        verdict = "" if target is None else ("ok " if row["atomiton"] <= target else "MISS ")
        target_s = "-" if target is None else verdict + _fmt(target)
        peer_mean = "-" if row["peer_mean"] is None else _fmt(row["peer_mean"])
        ratio = "-" if row["ratio"] is None else f"{row['ratio']:.2f}x"
        write(
            f"{row['group']:<44} {_fmt(row['atomiton']):>10} {target_s:>10} "
            f"{row['peer']:<24} {peer_mean:>10} {ratio:>7}"
        )
