"""What this machine can do: effective CPUs and memory, process start methods, SQLite features.

``capabilities()`` measures once, lazily, and caches the frozen result; ``refresh=True`` measures
again. Every probe is cheap (no subprocesses); the SQLite probes use an in-memory database.
"""

from __future__ import annotations

import _thread
import os
import sys
from dataclasses import dataclass, fields
from pathlib import Path

from atomiton.platform._cgroup import CgroupLimits, read_cgroup_limits
from atomiton.platform._errors import CapabilityError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Mapping

_START_METHODS = ("fork", "forkserver", "spawn")


@dataclass(frozen=True, slots=True)
class Capabilities:
    """A snapshot of this machine's capabilities, as seen by this process.

    Attributes:
        cpu_count: CPUs this process may really use: its CPU affinity, capped by a cgroup CPU
            quota rounded up, never below 1.
        memory_total: Bytes of memory, capped by a cgroup memory limit; None if unknown.
        memory_available: Bytes available now, capped by the cgroup's remaining headroom; None
            if unknown.
        start_methods: The multiprocessing start methods this platform supports.
        default_start_method: The one multiprocessing uses when none is chosen.
        sqlite_version: The linked SQLite library's version, e.g. ``"3.45.1"``.
        sqlite_wal: SQLite supports write-ahead logging.
        sqlite_json: SQLite has the JSON functions.
        sqlite_fts5: SQLite has the FTS5 full-text search module.
        data_dir_writable: ``data_dir()`` exists (or can be created) and accepts new files.
        cgroup_version: 1 or 2 when running under a cgroup file system, else None.
    """

    cpu_count: int
    memory_total: int | None
    memory_available: int | None
    start_methods: tuple[str, ...]
    default_start_method: str
    sqlite_version: str
    sqlite_wal: bool
    sqlite_json: bool
    sqlite_fts5: bool
    data_dir_writable: bool
    cgroup_version: int | None = None

    def names(self) -> tuple[str, ...]:
        """Every name ``has`` and ``require`` accept."""
        flags = tuple(f.name for f in fields(self) if isinstance(getattr(self, f.name), bool))
        return flags + _START_METHODS

    def has(self, name: str) -> bool:
        """Whether capability ``name`` is present.

        Names are the boolean fields (``"sqlite_wal"``, ``"sqlite_json"``, ``"sqlite_fts5"``,
        ``"data_dir_writable"``) and the start methods (``"fork"``, ``"forkserver"``,
        ``"spawn"``).

        Raises:
            ValueError: ``name`` is not a known capability (a typo must not read as "missing").
        """
        if name in _START_METHODS:
            return name in self.start_methods
        value = getattr(self, name, None)
        if not isinstance(value, bool):
            raise ValueError(
                f"unknown capability {name!r}; known capabilities: {', '.join(self.names())}"
            )
        return value

    def require(self, name: str, *, needed_by: str | None = None) -> None:
        """Raise CapabilityError unless capability ``name`` is present.

        Args:
            name: A name accepted by ``has``.
            needed_by: What needs it, for the message (e.g. ``"full-text search in storage"``).

        Raises:
            CapabilityError: It is missing; the message names it, what needed it and why.
            ValueError: ``name`` is not a known capability.
        """
        if self.has(name):
            return
        if name in _START_METHODS:
            detail = f"this platform offers start methods {list(self.start_methods)}"
        elif name.startswith("sqlite_"):
            detail = f"the linked SQLite {self.sqlite_version} was built without it"
        else:
            detail = "the data directory is not writable (set ATOMITON_DATA_DIR to one that is)"
        raise CapabilityError(name, needed_by, detail)


def effective_cpu_count(limits: CgroupLimits | None = None) -> int:
    """CPUs this process may use: affinity, capped by the cgroup quota (rounded up), >= 1."""
    try:
        available = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        available = os.cpu_count() or 1
    quota = (limits or read_cgroup_limits()).cpu_count
    if quota is not None:
        available = min(available, quota)
    return max(1, available)


def _meminfo(path: Path = Path("/proc/meminfo")) -> dict[str, int]:
    info: dict[str, int] = {}
    try:
        text = path.read_text()
    except OSError:
        return info
    for line in text.splitlines():
        key, _, rest = line.partition(":")
        parts = rest.split()
        if parts and parts[0].isdigit():
            info[key] = int(parts[0]) * (1024 if parts[-1] == "kB" else 1)
    return info


def memory(limits: CgroupLimits | None = None) -> tuple[int | None, int | None]:
    """``(total, available)`` bytes, capped by the cgroup memory limit; None where unknown."""
    total: int | None = None
    available: int | None = None
    info = _meminfo() if sys.platform.startswith("linux") else {}
    if info:
        total = info.get("MemTotal")
        available = info.get("MemAvailable", info.get("MemFree"))
    else:
        try:
            import psutil  # optional extra: atomiton-platform[psutil]

            stats = psutil.virtual_memory()
            total, available = int(stats.total), int(stats.available)
        except ImportError:
            try:
                total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
            except (AttributeError, ValueError, OSError):
                total = None
    limits = limits or read_cgroup_limits()
    if limits.memory_limit is not None:
        total = limits.memory_limit if total is None else min(total, limits.memory_limit)
        headroom = max(0, limits.memory_limit - (limits.memory_usage or 0))
        available = headroom if available is None else min(available, headroom)
    return total, available


def sqlite_features() -> tuple[str, bool, bool, bool]:
    """``(version, wal, json, fts5)`` of the linked SQLite, probed on an in-memory database."""
    import sqlite3

    connection = sqlite3.connect(":memory:")
    try:
        options = {row[0] for row in connection.execute("PRAGMA compile_options")}
        wal = "OMIT_WAL" not in options
        try:
            connection.execute("SELECT json('{}')").fetchone()
            has_json = True
        except sqlite3.OperationalError:
            has_json = False
        try:
            connection.execute("CREATE VIRTUAL TABLE probe USING fts5(body)")
            has_fts5 = True
        except sqlite3.OperationalError:
            has_fts5 = False
    finally:
        connection.close()
    return sqlite3.sqlite_version, wal, has_json, has_fts5


def _is_writable(directory: Path) -> bool:
    import tempfile

    try:
        directory.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=directory, prefix=".atomiton-probe-"):
            return True
    except OSError:
        return False


def start_methods() -> tuple[tuple[str, ...], str]:
    """``(supported, default)`` multiprocessing start methods, without fixing the default."""
    import multiprocessing

    methods = tuple(multiprocessing.get_all_start_methods())
    # get_start_method(allow_none=True) never fixes the context; the first supported method is
    # the platform default when nothing was chosen.
    chosen = multiprocessing.get_start_method(allow_none=True)
    return methods, chosen or methods[0]


def measure(*, environ: Mapping[str, str] | None = None) -> Capabilities:
    """Measure capabilities now, without the cache (``capabilities()`` caches this)."""
    from atomiton.platform._dirs import data_dir

    limits = read_cgroup_limits()
    total, available = memory(limits)
    methods, default = start_methods()
    version, wal, has_json, has_fts5 = sqlite_features()
    return Capabilities(
        cpu_count=effective_cpu_count(limits),
        memory_total=total,
        memory_available=available,
        start_methods=methods,
        default_start_method=default,
        sqlite_version=version,
        sqlite_wal=wal,
        sqlite_json=has_json,
        sqlite_fts5=has_fts5,
        data_dir_writable=_is_writable(data_dir(create=False, environ=environ)),
        cgroup_version=limits.version,
    )


_cache: list[Capabilities] = []
_cache_lock = _thread.allocate_lock()


def capabilities(*, refresh: bool = False) -> Capabilities:
    """This machine's capabilities, measured on first use and cached.

    Args:
        refresh: Measure again (e.g. after changing ``ATOMITON_DATA_DIR``) and cache the result.
    """
    if _cache and not refresh:
        return _cache[0]
    with _cache_lock:
        if refresh or not _cache:
            _cache[:] = [measure()]
        return _cache[0]
