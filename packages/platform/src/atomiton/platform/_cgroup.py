"""Linux control-group limits (v1 and v2): the CPU quota and memory limit a container really has.

``os.cpu_count()`` reports the host's CPUs; inside a container limited to 2 CPUs on a 64-CPU
host, sizing a pool from it oversubscribes 32-fold. These readers take the file-system root as a
parameter so the tests feed them fixture trees of both layouts.
"""

from __future__ import annotations

import math
from pathlib import Path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterator

# cgroup v1 reports "no limit" as a huge page-aligned number (e.g. 9223372036854771712).
_V1_UNLIMITED = 1 << 60


class CgroupLimits:
    """What the process's control group allows; None fields mean "no limit found".

    Attributes:
        version: 1, 2, or None when no cgroup file system was found.
        cpu_limit: The CPU quota in CPUs (``quota / period``, may be fractional), or None.
        memory_limit: The memory limit in bytes, or None.
        memory_usage: The group's current memory use in bytes, or None.
    """

    __slots__ = ("cpu_limit", "memory_limit", "memory_usage", "version")

    def __init__(
        self,
        version: int | None = None,
        cpu_limit: float | None = None,
        memory_limit: int | None = None,
        memory_usage: int | None = None,
    ) -> None:
        self.version = version
        self.cpu_limit = cpu_limit
        self.memory_limit = memory_limit
        self.memory_usage = memory_usage

    @property
    def cpu_count(self) -> int | None:
        """The CPU quota rounded up to whole CPUs (never below 1), or None without a quota."""
        if self.cpu_limit is None:
            return None
        return max(1, math.ceil(self.cpu_limit))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CgroupLimits):
            return NotImplemented
        return self._key() == other._key()

    def __hash__(self) -> int:
        return hash(self._key())

    def _key(self) -> tuple[object, ...]:
        return (self.version, self.cpu_limit, self.memory_limit, self.memory_usage)

    def __repr__(self) -> str:
        return (
            f"CgroupLimits(version={self.version}, cpu_limit={self.cpu_limit}, "
            f"memory_limit={self.memory_limit}, memory_usage={self.memory_usage})"
        )


def _read(path: Path) -> str | None:
    try:
        return path.read_text().strip()
    except (OSError, UnicodeDecodeError):
        return None


def _read_int(path: Path) -> int | None:
    text = _read(path)
    if text is None or text == "max":
        return None
    try:
        return int(text)
    except ValueError:
        return None


def _membership(proc_self_cgroup: Path) -> dict[str, str]:
    """Map each controller (``""`` for the v2 unified hierarchy) to the process's group path."""
    text = _read(proc_self_cgroup) or ""
    groups: dict[str, str] = {}
    for line in text.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if not controllers:
            groups[""] = path
        for controller in controllers.split(","):
            if controller:
                groups[controller] = path
    return groups


def _ancestors(base: Path, group: str) -> Iterator[Path]:
    """The group's directory and each parent up to the mount root (which comes last).

    Inside a container the mount root *is* the container's group, so a group path that does not
    exist under the mount is skipped and only the root is read.
    """
    seen: set[Path] = set()
    relative = Path(group.lstrip("/")) if group else Path()
    for candidate in (relative, *relative.parents):
        directory = base / candidate
        if directory not in seen and directory.is_dir():
            seen.add(directory)
            yield directory
    if base not in seen and base.is_dir():
        yield base


def _min(values: list[float]) -> float | None:
    return min(values) if values else None


def _v2(root: Path, group: str) -> CgroupLimits:
    cpus: list[float] = []
    memory: list[float] = []
    usage: int | None = None
    for directory in _ancestors(root, group):
        cpu_max = _read(directory / "cpu.max")
        if cpu_max:
            quota, _, period = cpu_max.partition(" ")
            if quota != "max":
                try:
                    cpus.append(int(quota) / int(period or "100000"))
                except (ValueError, ZeroDivisionError):
                    continue  # a malformed cpu.max is no limit
        limit = _read_int(directory / "memory.max")
        if limit is not None:
            memory.append(limit)
        if usage is None:
            usage = _read_int(directory / "memory.current")
    memory_limit = _min(memory)
    return CgroupLimits(2, _min(cpus), None if memory_limit is None else int(memory_limit), usage)


def _v1_controller_dir(root: Path, controller: str) -> Path | None:
    for name in (controller, f"{controller},cpuacct", f"cpuacct,{controller}"):
        directory = root / name
        if directory.is_dir():
            return directory
    return None


def _v1(root: Path, groups: dict[str, str]) -> CgroupLimits:
    cpus: list[float] = []
    memory: list[float] = []
    usage: int | None = None
    cpu_dir = _v1_controller_dir(root, "cpu")
    if cpu_dir is not None:
        for directory in _ancestors(cpu_dir, groups.get("cpu", "")):
            quota = _read_int(directory / "cpu.cfs_quota_us")
            period = _read_int(directory / "cpu.cfs_period_us")
            if quota is not None and quota > 0 and period:
                cpus.append(quota / period)
    memory_dir = _v1_controller_dir(root, "memory")
    if memory_dir is not None:
        for directory in _ancestors(memory_dir, groups.get("memory", "")):
            limit = _read_int(directory / "memory.limit_in_bytes")
            if limit is not None and 0 < limit < _V1_UNLIMITED:
                memory.append(limit)
            if usage is None:
                usage = _read_int(directory / "memory.usage_in_bytes")
    memory_limit = _min(memory)
    return CgroupLimits(1, _min(cpus), None if memory_limit is None else int(memory_limit), usage)


def read_cgroup_limits(
    root: str | Path = "/sys/fs/cgroup", *, proc_self_cgroup: str | Path = "/proc/self/cgroup"
) -> CgroupLimits:
    """Read the CPU quota and memory limit of this process's control group.

    The tightest limit along the group's ancestry wins (a parent's limit applies to children).

    Args:
        root: Where the cgroup file system is mounted.
        proc_self_cgroup: The process's membership file.

    Returns:
        The limits; all None when no cgroup file system is there (macOS, Windows, no mount).
    """
    root = Path(root)
    groups = _membership(Path(proc_self_cgroup))
    if (root / "cgroup.controllers").is_file():
        return _v2(root, groups.get("", ""))
    if _v1_controller_dir(root, "cpu") is not None or (root / "memory").is_dir():
        return _v1(root, groups)
    return CgroupLimits()
