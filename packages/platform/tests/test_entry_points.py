"""The cheap entry-point reader of Container.from_installed agrees with importlib.metadata."""

from __future__ import annotations

import sys
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from atomiton.platform._entry_points import EntryPoint, installed


@pytest.mark.parametrize(
    "group",
    ["atomiton.providers", "atomiton.storage.backends", "console_scripts", "pytest11", "none.such"],
)
def test_the_installed_groups_match_importlib_metadata(group: str) -> None:
    expected = [(ep.name, ep.value) for ep in entry_points(group=group)]
    assert [(ep.name, ep.value) for ep in installed(group)] == expected


def _distribution(folder: Path, dist: str, text: str) -> None:
    info = folder / dist
    info.mkdir(parents=True)
    (info / "entry_points.txt").write_text(text, encoding="utf-8")


def test_first_distribution_of_a_name_wins_extras_and_comments_are_handled(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = tmp_path / "first", tmp_path / "second"
    _distribution(
        first,
        "Demo.Dist-1.0.dist-info",
        "# a comment\n[demo.group]\nsep = os.path:join [extra]\n\n[other]\nno = x:y\n",
    )
    _distribution(second, "demo_dist-2.0.dist-info", "[demo.group]\nshadowed = os:getcwd\n")
    _distribution(second, "legacy.egg-info", "[demo.group]\nlegacy = os.path:basename\n")
    monkeypatch.setattr(sys, "path", [str(first), str(tmp_path / "missing"), str(second)])
    points = installed("demo.group")
    assert points == [
        EntryPoint("sep", "os.path:join [extra]", "demo.group"),
        EntryPoint("legacy", "os.path:basename", "demo.group"),
    ]
    import os.path

    assert points[0].load() is os.path.join
    assert points[1].load() is os.path.basename


def test_a_dotted_attribute_path_loads() -> None:
    import os

    assert EntryPoint("x", "os:path.join", "g").load() is os.path.join


def test_a_zip_on_sys_path_falls_back_to_importlib(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata

    archive = tmp_path / "lib.zip"
    archive.write_bytes(b"PK\x05\x06" + b"\x00" * 18)  # an empty zip archive
    monkeypatch.setattr(sys, "path", [*sys.path, str(archive)])
    asked: list[str] = []

    def from_importlib(*, group: str) -> list[importlib.metadata.EntryPoint]:
        asked.append(group)
        return [importlib.metadata.EntryPoint("zipped", "os:getcwd", group)]

    monkeypatch.setattr(importlib.metadata, "entry_points", from_importlib)
    assert installed("demo.group") == [EntryPoint("zipped", "os:getcwd", "demo.group")]
    assert asked == ["demo.group"]


def test_a_distribution_installed_after_a_scan_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    monkeypatch.setattr(sys, "path", [str(tmp_path)])
    _distribution(tmp_path, "one-1.0.dist-info", "[demo.group]\none = os:getcwd\n")
    assert [ep.name for ep in installed("demo.group")] == ["one"]
    assert [ep.name for ep in installed("demo.group")] == ["one"]  # from the memo
    _distribution(tmp_path, "two-1.0.dist-info", "[demo.group]\ntwo = os:getcwd\n")
    # The folder's time is what the memo checks; a coarse clock may not have moved yet.
    stat = tmp_path.stat()
    os.utime(tmp_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert sorted(ep.name for ep in installed("demo.group")) == ["one", "two"]
