"""``atomiton inspect <storage-url> [--prefix P]``: keys, sizes and decoded values of a storage."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from rich.table import Table

from atomiton.devtools._console import DelayedProgress, console
from atomiton.devtools._errors import CommandError

_PREVIEW = 120
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
    where = rest.split("?", 1)[0]
    path = Path(where[2:] if where.startswith("//") else where)
    if scheme == "sqlite" and not path.is_file():
        raise CommandError(f"no SQLite database at {path}: check the path (nothing was created)")
    if scheme == "file" and not path.is_dir():
        raise CommandError(f"no storage folder at {path}: check the path (nothing was created)")
    return text


def decode(data: bytes) -> tuple[str, Any]:
    """Return ``(encoding, value)``: JSON when it parses, else UTF-8 text, else a hex preview."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return "bytes", data[:48].hex() + ("…" if len(data) > 48 else "")
    try:
        return "json", json.loads(text)
    except ValueError:
        return "text", text


def _preview(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return text if len(text) <= _PREVIEW else text[: _PREVIEW - 1] + "…"


def run_inspect(args: argparse.Namespace) -> int:
    """List the keys under ``--prefix`` with their sizes and decoded values."""
    url = storage_url(args.url)
    from atomiton.storage import open_storage  # after the path check: a typo costs no import

    with open_storage(url) as storage:
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
    table = Table(title=title, title_justify="left")
    table.add_column("key", overflow="fold")
    table.add_column("size", justify="right")
    table.add_column("type")
    table.add_column("value", overflow="fold")
    for row in rows:
        table.add_row(row["key"], str(row["size"]), row["encoding"], _preview(row["value"]))
    out.print(table)
    if len(keys) > len(shown):
        out.print(f"… {len(keys) - len(shown)} more (use --limit or --prefix)")
    return 0
