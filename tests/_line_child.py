"""A child process the tests drive over a JSON-lines protocol on its stdin and stdout.

Shared by the store-sync process tests: each command is one JSON line in, each answer one JSON
line out; ``{"op": "quit"}`` ends a child cleanly, ``kill()`` SIGKILLs it.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

TIMEOUT = 60.0


class LineChild:
    """``python <script> <args...>`` with its stdin/stdout as the command channel."""

    def __init__(self, script: Path, *args: str) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(script), *args],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def send(self, command: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(json.dumps(command) + "\n")
        self.process.stdin.flush()

    def answer(self) -> Any:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            self.process.wait(TIMEOUT)
            pytest.fail(f"child exited with {self.process.returncode} before answering")
        return json.loads(line)

    def ask(self, command: dict[str, Any]) -> Any:
        self.send(command)
        return self.answer()

    def kill(self) -> None:
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.communicate()

    def end(self) -> None:
        if self.process.poll() is None:
            try:
                self.ask({"op": "quit"})
                self.process.communicate(timeout=TIMEOUT)
            except Exception:
                self.process.kill()
                self.process.communicate()
        else:
            self.process.communicate()
