from __future__ import annotations

import os
from pathlib import Path

import pytest

from atomiton.platform import CgroupLimits, read_cgroup_limits
from atomiton.platform._capabilities import effective_cpu_count, memory

FIXTURES = Path(__file__).parent / "fixtures" / "cgroup"


def limits_of(name: str) -> CgroupLimits:
    return read_cgroup_limits(
        FIXTURES / name / "root", proc_self_cgroup=FIXTURES / name / "self_cgroup"
    )


def test_v2_quota_and_memory_limit() -> None:
    limits = limits_of("v2_limited")
    assert limits == CgroupLimits(2, 1.5, 536870912, 104857600)
    assert limits.cpu_count == 2  # 1.5 CPUs rounds up


def test_v2_tightest_limit_along_the_ancestry_wins() -> None:
    limits = limits_of("v2_nested")
    # The leaf has no CPU quota but its parent allows 2 CPUs; the leaf caps memory at 1 GiB.
    assert limits == CgroupLimits(2, 2.0, 1073741824, 52428800)


def test_v2_max_means_no_limit() -> None:
    assert limits_of("v2_unlimited") == CgroupLimits(2, None, None, 4096)
    assert limits_of("v2_unlimited").cpu_count is None


def test_v1_docker_layout_reads_the_mount_root() -> None:
    # /proc/self/cgroup names /docker/<id>, which inside the container is the mount root.
    limits = limits_of("v1_docker")
    assert limits == CgroupLimits(1, 2.5, 2147483648, 1073741824)
    assert limits.cpu_count == 3


def test_v1_unlimited_values_read_as_no_limit() -> None:
    assert limits_of("v1_unlimited") == CgroupLimits(1, None, None, 123)


def test_v1_nested_group_quota_is_found() -> None:
    limits = limits_of("v1_nested")
    assert limits.cpu_limit == pytest.approx(0.5)
    assert limits.cpu_count == 1  # never below one CPU


def test_no_cgroup_filesystem_means_no_limits(tmp_path: Path) -> None:
    assert read_cgroup_limits(tmp_path, proc_self_cgroup=tmp_path / "missing") == CgroupLimits()


def test_malformed_files_are_ignored(tmp_path: Path) -> None:
    (tmp_path / "cgroup.controllers").touch()
    (tmp_path / "cpu.max").write_text("lots 100000\n")
    (tmp_path / "memory.max").write_text("plenty\n")
    assert read_cgroup_limits(tmp_path, proc_self_cgroup=tmp_path / "missing") == CgroupLimits(2)


def test_cpu_quota_caps_the_affinity() -> None:
    affinity = len(os.sched_getaffinity(0))
    assert effective_cpu_count(CgroupLimits(2, 0.5)) == 1
    assert effective_cpu_count(CgroupLimits(2, 1000.0)) == affinity
    assert effective_cpu_count(CgroupLimits()) == affinity


def test_memory_limit_caps_total_and_available() -> None:
    total, available = memory(CgroupLimits(2, None, 64 * 2**20, 48 * 2**20))
    assert total == 64 * 2**20
    assert available is not None
    assert available <= 16 * 2**20


def test_memory_without_a_limit_is_the_machine_memory() -> None:
    total, available = memory(CgroupLimits())
    assert total is not None
    assert available is not None
    assert 0 < available <= total
