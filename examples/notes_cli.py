"""A command-line notes tool whose state is atoms persisted with atom_with_storage.

    uv run examples/notes_cli.py add "buy milk"
    uv run examples/notes_cli.py add "call Ada"
    uv run examples/notes_cli.py list
    uv run examples/notes_cli.py done 1
    uv run examples/notes_cli.py clear

Each command is a new process: the notes live in a SQLite file (--db, default notes.db in the
atomiton data folder) through ``atom_with_storage``, so writing the atom writes the file and the
next process reads it back. A derived atom counts what is left to do.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from atomiton.platform import data_dir
from atomiton.storage import open_storage
from atomiton.store import RESET, atom_with_storage, computed, create_store


def run(db: Path, command: str, argument: str | None) -> list[str]:
    """Run one command against the notes in ``db``; return the lines it prints."""
    db.parent.mkdir(parents=True, exist_ok=True)
    with open_storage(f"sqlite://{db}") as storage:
        empty: list[dict[str, Any]] = []
        notes = atom_with_storage("notes", empty, storage, name="notes")
        left = computed(lambda get: sum(not n["done"] for n in get(notes)), name="left")
        store = create_store()
        lines: list[str] = []
        if command == "add":
            store.set(notes, [*store.get(notes), {"text": argument or "", "done": False}])
        elif command == "done":
            number = int(argument or "0")
            current = store.get(notes)
            if not 1 <= number <= len(current):
                raise SystemExit(f"no note number {number} (there are {len(current)})")
            changed = [dict(n, done=True) if i == number else n for i, n in enumerate(current, 1)]
            store.set(notes, changed)
        elif command == "clear":
            store.set(notes, RESET)  # deletes the key: back to the initial empty list
        shown: list[dict[str, Any]] = store.get(notes)
        for number, note in enumerate(shown, start=1):
            lines.append(f"{number}. [{'x' if note['done'] else ' '}] {note['text']}")
        lines.append(f"{store.get(left)} left to do")
        return lines


def main() -> None:
    """Parse the command and print the notes."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, default=data_dir() / "examples" / "notes.db")
    parser.add_argument("command", choices=["add", "list", "done", "clear"])
    parser.add_argument("argument", nargs="?")
    args = parser.parse_args()
    for line in run(args.db, args.command, args.argument):
        print(line)


if __name__ == "__main__":
    main()
