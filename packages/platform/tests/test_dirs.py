from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from atomiton.platform import cache_dir, config_dir, data_dir


def test_atomiton_variables_override_and_directories_are_created(tmp_path: Path) -> None:
    environ = {
        "ATOMITON_DATA_DIR": str(tmp_path / "d"),
        "ATOMITON_CACHE_DIR": str(tmp_path / "c"),
        "ATOMITON_CONFIG_DIR": str(tmp_path / "cfg"),
    }
    assert data_dir(environ=environ) == tmp_path / "d"
    assert cache_dir(environ=environ) == tmp_path / "c"
    assert config_dir(environ=environ) == tmp_path / "cfg"
    assert (tmp_path / "d").is_dir()
    assert (tmp_path / "cfg").is_dir()


def test_create_false_leaves_the_disk_alone(tmp_path: Path) -> None:
    path = data_dir(create=False, environ={"ATOMITON_DATA_DIR": str(tmp_path / "later")})
    assert not path.exists()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout is the Linux one")
def test_xdg_variables_come_next_then_the_home_defaults(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": str(tmp_path / "xdg")}
    assert data_dir(create=False, environ=environ) == tmp_path / "xdg" / "atomiton"
    assert cache_dir(create=False, environ=environ) == tmp_path / ".cache" / "atomiton"
    assert config_dir(create=False, environ=environ) == tmp_path / ".config" / "atomiton"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="XDG layout is the Linux one")
def test_relative_xdg_values_are_ignored_as_the_spec_says(tmp_path: Path) -> None:
    environ = {"HOME": str(tmp_path), "XDG_DATA_HOME": "relative/dir"}
    assert data_dir(create=False, environ=environ) == tmp_path / ".local" / "share" / "atomiton"


def test_conftest_points_os_environ_at_tmp(tmp_path: Path) -> None:
    assert data_dir() == tmp_path / "data"


def test_created_directories_and_their_missing_parents_are_private(tmp_path: Path) -> None:
    existing = tmp_path / "existing"
    existing.mkdir()
    existing.chmod(0o755)
    old_umask = os.umask(0o022)  # the usual umask, under which mkdir -p made 0755 directories
    try:
        data = data_dir(environ={"ATOMITON_DATA_DIR": str(existing / "a" / "b" / "atomiton")})
        cache = cache_dir(environ={"ATOMITON_CACHE_DIR": str(tmp_path / "cache")})
    finally:
        os.umask(old_umask)
    for path in (existing / "a", existing / "a" / "b", data, cache):
        assert path.is_dir()
        assert stat.S_IMODE(path.stat().st_mode) == 0o700, path
    assert stat.S_IMODE(existing.stat().st_mode) == 0o755  # an existing directory keeps its mode
