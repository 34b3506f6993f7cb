from __future__ import annotations

import json
import subprocess
import sys

import pytest

import atomiton.platform


def test_all_is_sorted_and_every_name_resolves() -> None:
    names = atomiton.platform.__all__
    assert names == sorted(names)
    for name in names:
        assert getattr(atomiton.platform, name) is not None
    assert set(names) <= set(dir(atomiton.platform))


def test_public_api_is_pinned() -> None:
    assert atomiton.platform.__all__ == [
        "Capabilities",
        "CapabilityError",
        "CgroupLimits",
        "CircuitBreaker",
        "CircuitOpenError",
        "CircularDependencyError",
        "Container",
        "ContainerError",
        "EventSink",
        "JobEventKind",
        "JobStatus",
        "PlatformError",
        "PlatformInfo",
        "ResolutionError",
        "RetryPolicy",
        "Scope",
        "ScopeError",
        "SettingsError",
        "__version__",
        "cache_dir",
        "capabilities",
        "config_dir",
        "data_dir",
        "detect",
        "env",
        "lazy_exports",
        "parse_duration",
        "provide",
        "read_cgroup_limits",
    ]


def test_unknown_attribute_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="nothing_here"):
        atomiton.platform.nothing_here  # type: ignore[attr-defined]  # noqa: B018


def test_importing_the_package_loads_no_other_module() -> None:
    probe = (
        "import json, sys; before = set(sys.modules); import atomiton.platform; "
        "print(json.dumps(sorted(set(sys.modules) - before)))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert set(json.loads(out)) <= {"atomiton", "atomiton.platform", "atomiton.platform._lazy"}


def test_errors_share_the_package_base() -> None:
    from atomiton.platform import (
        CapabilityError,
        CircuitOpenError,
        CircularDependencyError,
        ContainerError,
        PlatformError,
        ResolutionError,
        ScopeError,
        SettingsError,
    )

    for error in (CapabilityError, CircuitOpenError, ContainerError, SettingsError):
        assert issubclass(error, PlatformError)
    for container_error in (ResolutionError, CircularDependencyError, ScopeError):
        assert issubclass(container_error, ContainerError)
    assert issubclass(SettingsError, ValueError)
    assert issubclass(ResolutionError, LookupError)
