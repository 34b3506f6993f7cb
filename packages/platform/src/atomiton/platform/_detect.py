"""Which platform and which kind of environment this process runs in: ``detect()``.

``environment`` precedence, first match wins:

0. ``ATOMITON_ENV`` set to ``test``, ``ci``, ``container`` or ``local`` overrides everything;
1. ``"test"``: running under pytest (``pytest`` imported or ``PYTEST_CURRENT_TEST`` set);
2. ``"ci"``: a CI variable is set (``CI``, ``GITHUB_ACTIONS``, ``GITLAB_CI``, ...);
3. ``"container"``: container markers (``/.dockerenv``, ``/run/.containerenv``, the ``container``
   variable, ``KUBERNETES_SERVICE_HOST``) or a container cgroup in ``/proc/1/cgroup``;
4. ``"local"`` otherwise.
"""

from __future__ import annotations

import _thread
import os
import sys
from dataclasses import dataclass
from pathlib import Path

from atomiton.platform._errors import SettingsError

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Container as _In
    from collections.abc import Mapping
    from typing import Literal

    Environment = Literal["test", "ci", "container", "local"]

ENVIRONMENTS: tuple[Environment, ...] = ("test", "ci", "container", "local")
CI_VARIABLES = (
    "CI",
    "GITHUB_ACTIONS",
    "GITLAB_CI",
    "BUILDKITE",
    "CIRCLECI",
    "TRAVIS",
    "JENKINS_URL",
    "TEAMCITY_VERSION",
    "TF_BUILD",
    "BITBUCKET_BUILD_NUMBER",
    "CODEBUILD_BUILD_ID",
    "DRONE",
    "APPVEYOR",
)
_CONTAINER_CGROUP_MARKERS = ("docker", "kubepods", "containerd", "lxc", "libpod", "podman")


@dataclass(frozen=True, slots=True)
class PlatformInfo:
    """The operating system, interpreter and kind of environment of this process.

    Attributes:
        os: ``"linux"``, ``"darwin"``, ``"windows"`` (or ``sys.platform`` for anything else).
        os_version: The kernel or OS release, e.g. ``"6.8.0-45-generic"`` or ``"14.5"``.
        arch: The machine architecture, lower case, e.g. ``"x86_64"``, ``"arm64"``.
        implementation: ``"cpython"``, ``"pypy"``, ...
        python_version: ``(major, minor, micro)``.
        free_threaded: The interpreter runs without the GIL.
        environment: ``"test"``, ``"ci"``, ``"container"`` or ``"local"`` (see module docs).
    """

    os: str
    os_version: str
    arch: str
    implementation: str
    python_version: tuple[int, int, int]
    free_threaded: bool
    environment: Environment


def _os_name() -> str:
    # Through a plain str so type checkers do not prune the other platforms' branches.
    name: str = sys.platform
    if name.startswith("linux"):
        return "linux"
    if name == "win32":
        return "windows"
    return name


def _os_version() -> str:
    import platform

    if _os_name() == "darwin":
        return platform.mac_ver()[0] or platform.release()
    if _os_name() == "windows":
        return platform.version()
    return platform.release()


def _arch() -> str:
    if hasattr(os, "uname"):
        return os.uname().machine.lower()
    import platform

    return platform.machine().lower()


def _free_threaded() -> bool:
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return is_gil_enabled is not None and not is_gil_enabled()


def _is_ci(environ: Mapping[str, str]) -> bool:
    for name in CI_VARIABLES:
        value = environ.get(name, "").strip().lower()
        if value and value not in ("0", "false", "no"):
            return True
    return False


def _is_container(environ: Mapping[str, str], root: Path) -> bool:
    if environ.get("container") or environ.get("KUBERNETES_SERVICE_HOST"):
        return True
    if (root / ".dockerenv").exists() or (root / "run" / ".containerenv").exists():
        return True
    try:
        text = (root / "proc" / "1" / "cgroup").read_text()
    except OSError:
        return False
    return any(marker in text for marker in _CONTAINER_CGROUP_MARKERS)


def detect_environment(
    environ: Mapping[str, str] | None = None,
    modules: _In[str] | None = None,
    root: str | Path = "/",
) -> Environment:
    """Classify the environment (precedence in the module docstring).

    Args:
        environ: Variables to read instead of ``os.environ``.
        modules: Imported module names instead of ``sys.modules`` (to detect pytest).
        root: The file-system root to look for container markers under.

    Raises:
        SettingsError: ``ATOMITON_ENV`` holds something other than the four environments.
    """
    env = os.environ if environ is None else environ
    loaded = sys.modules if modules is None else modules
    override = env.get("ATOMITON_ENV", "").strip().lower()
    if override:
        for known in ENVIRONMENTS:
            if override == known:
                return known
        raise SettingsError("ATOMITON_ENV", env["ATOMITON_ENV"], f"one of {ENVIRONMENTS}")
    if "pytest" in loaded or env.get("PYTEST_CURRENT_TEST"):
        return "test"
    if _is_ci(env):
        return "ci"
    if _is_container(env, Path(root)):
        return "container"
    return "local"


def measure_platform(environ: Mapping[str, str] | None = None) -> PlatformInfo:
    """Detect the platform now, without the cache (``detect()`` caches this)."""
    major, minor, micro = sys.version_info[:3]
    return PlatformInfo(
        os=_os_name(),
        os_version=_os_version(),
        arch=_arch(),
        implementation=sys.implementation.name,
        python_version=(major, minor, micro),
        free_threaded=_free_threaded(),
        environment=detect_environment(environ),
    )


_cache: list[PlatformInfo] = []
_cache_lock = _thread.allocate_lock()


def detect(*, refresh: bool = False) -> PlatformInfo:
    """The platform this process runs on, detected once and cached.

    Args:
        refresh: Detect again (e.g. after changing ``ATOMITON_ENV``) and cache the result.
    """
    if _cache and not refresh:
        return _cache[0]
    with _cache_lock:
        if refresh or not _cache:
            _cache[:] = [measure_platform()]
        return _cache[0]
