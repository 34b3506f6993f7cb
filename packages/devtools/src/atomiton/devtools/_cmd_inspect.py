"""``atomiton inspect <storage-url> [--prefix P]``: keys, sizes and decoded values of a storage.

Inspecting never writes: the storage is opened read-only (``open_storage(url, readonly=True)``,
which creates no ``~lock``, no SQLite ``-wal``/``-shm`` and purges nothing), and a missing store
is an error, not a new empty one. Keys and values are printed as data: control characters are
escaped and nothing is parsed as markup (``_safe_text``).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from atomiton.devtools._console import DelayedProgress, console
from atomiton.devtools._errors import CommandError
from atomiton.devtools._safe_text import plain

_PREVIEW = 120
_MAX_DEPTH = 100
_CHUNK = 500


def storage_url(text: str) -> str:
    """Turn a storage URL or a plain path into a URL, refusing to create anything that is absent.

    Inspecting is read-only in spirit: a mistyped SQLite path must be an error, not a new empty
    database.
    """
    scheme, colon, rest = text.partition(":")
    if colon and rest.startswith("//") and scheme not in ("sqlite", "file", "memory"):
        # A URL of another kind is a mistake to name, not a relative path to look for.
        raise CommandError(
            f"cannot inspect {scheme}:// storage: use sqlite:///path/app.db, file:///dir or a path"
        )
    if not colon or scheme not in ("sqlite", "file", "memory"):
        path = Path(text).expanduser()
        if path.is_dir():
            return f"file://{path.resolve()}"
        scheme, rest = "sqlite", f"//{path.resolve()}"
        text = f"sqlite:{rest}"
    if scheme == "memory":
        raise CommandError("memory:// storage lives inside one process: nothing to inspect")
    where, question, query = rest.partition("?")
    path = Path(where[2:] if where.startswith("//") else where)
    if scheme == "sqlite" and not path.is_file():
        raise CommandError(f"no SQLite database at {path}: check the path (nothing was created)")
    if scheme == "file" and not path.is_dir():
        raise CommandError(f"no storage folder at {path}: check the path (nothing was created)")
    # One absolute spelling (sqlite:////tmp/x.db names //tmp/x.db, which is /tmp/x.db).
    return f"{scheme}://{path.resolve()}{question}{query}"


def _depth_at_most(value: Any, limit: int) -> bool:
    """Tell, without recursion, whether ``value`` nests at most ``limit`` containers deep."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            if depth > limit:
                return False
            children = item.values() if isinstance(item, dict) else item
            stack.extend((child, depth + 1) for child in children)
    return True


def decode(data: bytes) -> tuple[str, Any]:
    """Return ``(encoding, value)``: JSON when it parses, else UTF-8 text, else a hex preview.

    JSON nested deeper than ``_MAX_DEPTH`` containers is shown as its text: the parser (and
    every later ``json.dumps``) would otherwise run out of recursion on it.
    """
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes", data[:48].hex() + ("…" if len(data) > 48 else "")
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return "text", text
    return ("json", value) if _depth_at_most(value, _MAX_DEPTH) else ("text", text)


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def run_inspect(args: argparse.Namespace) -> int:
    """List the keys under ``--prefix`` with their sizes and decoded values."""
    url = storage_url(args.url)
    from atomiton.storage import open_storage  # after the path check: a typo costs no import

    with open_storage(url, readonly=True) as storage:
        keys = storage.list(args.prefix)
        shown = keys[: max(0, args.limit)]
        rows = []
        with DelayedProgress(console(stderr=True), "reading values", len(shown)) as bar:
            for start in range(0, len(shown), _CHUNK):
                chunk = shown[start : start + _CHUNK]
                values = storage.read_many(chunk)
                for key in chunk:
                    data = values.get(key)
                    if data is not None:  # else deleted or expired between list and read
                        encoding, value = decode(data)
                        rows.append(
                            {"key": key, "size": len(data), "encoding": encoding, "value": value}
                        )
                bar.advance(len(chunk))
    if args.json:
        print(json.dumps({"url": url, "total": len(keys), "keys": rows}, indent=2))
        return 0
    out = console()
    title = f"{url} — {len(keys)} key(s)" + (f" under {args.prefix!r}" if args.prefix else "")
    table = Table(title=plain(title), title_justify="left")
    table.add_column("key", overflow="fold")
    table.add_column("size", justify="right")
    table.add_column("type")
    table.add_column("value", overflow="fold")
    for row in rows:
        table.add_row(
            plain(row["key"]), str(row["size"]), row["encoding"], plain(_preview(row["value"]))
        )
    out.print(table)
    if len(keys) > len(shown):
        out.print(f"… {len(keys) - len(shown)} more (use --limit or --prefix)", markup=False)
    return 0
