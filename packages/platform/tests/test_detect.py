from __future__ import annotations

import sys
from pathlib import Path

import pytest

from atomiton.platform import PlatformInfo, SettingsError, detect
from atomiton.platform._detect import detect_environment


def test_detect_describes_this_interpreter() -> None:
    info = detect(refresh=True)
    assert isinstance(info, PlatformInfo)
    assert info.python_version == tuple(sys.version_info[:3])
    assert info.implementation == sys.implementation.name
    assert info.os in ("linux", "darwin", "windows", sys.platform)
    assert info.arch
    assert info.os_version
    assert info.free_threaded is (not getattr(sys, "_is_gil_enabled", lambda: True)())


def test_detect_is_cached_until_refreshed(monkeypatch: pytest.MonkeyPatch) -> None:
    first = detect(refresh=True)
    assert detect() is first
    monkeypatch.setenv("ATOMITON_ENV", "local")
    assert detect().environment == first.environment
    assert detect(refresh=True).environment == "local"


def test_under_pytest_the_environment_is_test() -> None:
    assert detect_environment(environ={}, root="/nonexistent") == "test"


@pytest.mark.parametrize("name", ["test", "ci", "container", "local", "CI"])
def test_atomiton_env_overrides_everything(name: str) -> None:
    environ = {"ATOMITON_ENV": name, "CI": "true"}
    assert detect_environment(environ, modules={"pytest"}) == name.lower()


def test_invalid_atomiton_env_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="ATOMITON_ENV='staging'"):
        detect_environment({"ATOMITON_ENV": "staging"})


def test_precedence_test_then_ci_then_container_then_local(tmp_path: Path) -> None:
    (tmp_path / ".dockerenv").touch()
    ci = {"GITHUB_ACTIONS": "true"}
    assert detect_environment(ci, modules={"pytest"}, root=tmp_path) == "test"
    assert detect_environment({"PYTEST_CURRENT_TEST": "x"}, modules=set(), root=tmp_path) == "test"
    assert detect_environment(ci, modules=set(), root=tmp_path) == "ci"
    assert detect_environment({}, modules=set(), root=tmp_path) == "container"
    assert detect_environment({}, modules=set(), root=tmp_path / "empty") == "local"


def test_ci_variables_set_to_false_do_not_count(tmp_path: Path) -> None:
    assert detect_environment({"CI": "false"}, modules=set(), root=tmp_path) == "local"
    assert detect_environment({"CI": "1"}, modules=set(), root=tmp_path) == "ci"


@pytest.mark.parametrize(
    ("marker", "content"),
    [
        ("run/.containerenv", ""),
        ("proc/1/cgroup", "0::/kubepods/besteffort/pod1/abc\n"),
        ("proc/1/cgroup", "12:memory:/docker/3f9a\n"),
    ],
)
def test_container_markers(tmp_path: Path, marker: str, content: str) -> None:
    path = tmp_path / marker
    path.parent.mkdir(parents=True)
    path.write_text(content)
    assert detect_environment({}, modules=set(), root=tmp_path) == "container"


def test_container_variables(tmp_path: Path) -> None:
    assert detect_environment({"container": "podman"}, modules=set(), root=tmp_path) == "container"
    k8s = {"KUBERNETES_SERVICE_HOST": "10.0.0.1"}
    assert detect_environment(k8s, modules=set(), root=tmp_path) == "container"


def test_a_host_cgroup_is_not_a_container(tmp_path: Path) -> None:
    (tmp_path / "proc" / "1").mkdir(parents=True)
    (tmp_path / "proc" / "1" / "cgroup").write_text("0::/init.scope\n")
    assert detect_environment({}, modules=set(), root=tmp_path) == "local"
