from __future__ import annotations

import multiprocessing
import os
import sqlite3
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from atomiton.platform import Capabilities, CapabilityError, capabilities
from atomiton.platform._capabilities import measure


def test_capabilities_are_cached_until_refreshed() -> None:
    first = capabilities()
    assert capabilities() is first
    fresh = capabilities(refresh=True)
    assert fresh is not first
    assert capabilities() is fresh
    # memory_available moves between two measurements; everything else is stable.
    assert replace(fresh, memory_available=0) == replace(measure(), memory_available=0)


def test_cpu_count_is_at_least_one_and_at_most_the_affinity() -> None:
    caps = capabilities(refresh=True)
    assert caps.cpu_count >= 1
    assert caps.cpu_count <= len(os.sched_getaffinity(0))


def test_start_methods_match_multiprocessing() -> None:
    caps = capabilities(refresh=True)
    assert set(caps.start_methods) == set(multiprocessing.get_all_start_methods())
    assert caps.default_start_method in caps.start_methods


def test_measuring_capabilities_does_not_fix_the_process_start_method() -> None:
    # A fresh interpreter: other tests in this process may legitimately have fixed the
    # start method already, which would hide the side effect this test is about.
    probe = (
        "import multiprocessing\n"
        "from atomiton.platform import capabilities\n"
        "capabilities(refresh=True).default_start_method\n"
        "print(multiprocessing.get_start_method(allow_none=True))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    assert out.strip() == "None"


def test_sqlite_version_is_the_linked_library() -> None:
    assert capabilities(refresh=True).sqlite_version == sqlite3.sqlite_version


def test_memory_is_positive_and_available_within_total() -> None:
    caps = capabilities(refresh=True)
    assert caps.memory_total is not None
    assert caps.memory_available is not None
    assert 0 < caps.memory_available <= caps.memory_total


def test_data_dir_writable_reflects_the_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert capabilities(refresh=True).data_dir_writable
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    monkeypatch.setenv("ATOMITON_DATA_DIR", str(blocker / "data"))
    assert not capabilities(refresh=True).data_dir_writable


def caps_without_fts5() -> Capabilities:
    return Capabilities(
        cpu_count=2,
        memory_total=None,
        memory_available=None,
        start_methods=("spawn",),
        default_start_method="spawn",
        sqlite_version="3.31.0",
        sqlite_wal=True,
        sqlite_json=True,
        sqlite_fts5=False,
        data_dir_writable=True,
    )


def test_has_reads_flags_and_start_methods() -> None:
    caps = caps_without_fts5()
    assert caps.has("sqlite_wal")
    assert not caps.has("sqlite_fts5")
    assert caps.has("spawn")
    assert not caps.has("fork")


def test_has_rejects_unknown_names_listing_the_known_ones() -> None:
    with pytest.raises(ValueError, match=r"unknown capability 'sqlite_fst5'.*sqlite_fts5"):
        caps_without_fts5().has("sqlite_fst5")


def test_require_names_what_is_missing_and_what_needed_it() -> None:
    caps = caps_without_fts5()
    caps.require("sqlite_json", needed_by="queries")
    with pytest.raises(CapabilityError) as info:
        caps.require("sqlite_fts5", needed_by="full-text search")
    message = str(info.value)
    assert "full-text search needs" in message
    assert "'sqlite_fts5'" in message
    assert "3.31.0" in message
    assert (info.value.capability, info.value.needed_by) == ("sqlite_fts5", "full-text search")
    with pytest.raises(CapabilityError, match=r"'fork'.*spawn"):
        caps.require("fork")


def test_capabilities_are_frozen() -> None:
    with pytest.raises(AttributeError):
        caps_without_fts5().cpu_count = 3  # type: ignore[misc]
