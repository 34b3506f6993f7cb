"""Read one entry-point group of the installed distributions, cheaply.

``importlib.metadata.entry_points(group=...)`` costs ~30 ms in a fresh process (it imports
email, zipfile, csv, inspect and parses every distribution's metadata), which alone broke the
10 ms budget of ``Container.from_installed()`` (issue 19). A group is all ``from_installed``
needs, so this module scans the ``*.dist-info`` / ``*.egg-info`` directories on ``sys.path``
with ``os.scandir`` and reads only their ``entry_points.txt``: the same points, in the same
order, with the same rule for duplicates (the first distribution of a name on ``sys.path``
wins). A zip archive on ``sys.path`` is not scanned here: then the group is read with
``importlib.metadata`` instead, so nothing is ever missed.

A scan opens every distribution's ``entry_points.txt`` (~2-8 ms for ~140 distributions), so its
result is kept, keyed by the group and by each ``sys.path`` folder with its modification time:
installing or removing a distribution changes its folder's time, so a later call scans again,
and the memo is bounded (``lru_cache``), immutable (tuples) and holds only strings.
"""

from __future__ import annotations

import functools
import os
import sys
from typing import TYPE_CHECKING, Any, NamedTuple

if TYPE_CHECKING:
    from collections.abc import Iterator

__all__ = ["EntryPoint", "installed"]

_METADATA_SUFFIXES = (".dist-info", ".egg-info")


class EntryPoint(NamedTuple):
    """One ``name = module:attr`` entry point of a group (the fields of importlib's)."""

    name: str
    value: str
    group: str

    def load(self) -> Any:
        """Import the module and return the attribute the entry point names."""
        from importlib import import_module

        target_text = self.value.partition("[")[0]  # "module:attr [extras]": extras ignored
        module_name, _, attrs = target_text.partition(":")
        target: Any = import_module(module_name.strip())
        for attr in filter(None, attrs.strip().split(".")):
            target = getattr(target, attr)
        return target


def installed(group: str) -> list[EntryPoint]:
    """Every installed distribution's entry points of ``group``, in ``sys.path`` order."""
    if any(os.path.isfile(entry) for entry in sys.path if entry):
        return _from_importlib(group)
    return list(_scan(group, tuple(_path_state())))


def _path_state() -> Iterator[tuple[str, int]]:
    for entry in sys.path:
        try:
            yield entry, os.stat(entry or ".").st_mtime_ns
        except OSError:
            yield entry, -1


@functools.lru_cache(maxsize=16)
def _scan(group: str, path_state: tuple[tuple[str, int], ...]) -> tuple[EntryPoint, ...]:
    points: list[EntryPoint] = []
    seen: set[str] = set()
    for folder in _metadata_folders(path_state):
        stem = os.path.basename(folder).rpartition(".")[0]  # "name-1.0" of "name-1.0.dist-info"
        name = _normalise(stem.partition("-")[0])
        if name in seen:
            continue
        seen.add(name)
        points.extend(_read_group(os.path.join(folder, "entry_points.txt"), group))
    return tuple(points)


def _metadata_folders(path_state: tuple[tuple[str, int], ...]) -> Iterator[str]:
    for entry, _mtime in path_state:
        try:
            names = os.listdir(entry or ".")
        except OSError:  # missing or not a directory: importlib skips it too
            continue
        for name in names:
            if name.endswith(_METADATA_SUFFIXES):
                yield os.path.join(entry or ".", name)


def _normalise(name: str) -> str:
    # PEP 503's rule without importing re (~3 ms): runs of "-", "_", "." become one "_".
    name = name.lower().replace("-", "_").replace(".", "_")
    while "__" in name:
        name = name.replace("__", "_")
    return name


def _read_group(path: str, group: str) -> list[EntryPoint]:
    try:
        with open(path, encoding="utf-8") as file:
            text = file.read()
    except OSError:  # a distribution without entry points
        return []
    points: list[EntryPoint] = []
    current = None
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = line[1:-1].strip()
        elif current == group and "=" in line:
            name, _, value = line.partition("=")
            points.append(EntryPoint(name.strip(), value.strip(), group))
    return points


def _from_importlib(group: str) -> list[EntryPoint]:
    from importlib.metadata import entry_points

    return [EntryPoint(ep.name, ep.value, group) for ep in entry_points(group=group)]
