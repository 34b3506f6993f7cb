"""spawn(): run a program, talk to it, read its output line by line, stop it for sure.

Every program runs in a session (process group) of its own, so ``kill()`` reaches whatever it
started too. A reaper thread waits for the program from the moment it starts, so no path leaves a
zombie behind, whether or not anyone calls ``wait()``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from atomiton.execution._errors import ProcessError, ProcessTimeoutError

__all__ = ["ProcessHandle", "ProcessResult", "spawn"]

_POSIX = sys.platform != "win32"


@dataclass(frozen=True, slots=True)
class ProcessResult:
    """How a program ended.

    Attributes:
        exit_code: Its exit status; negative ``-N`` when signal N ended it (as subprocess).
        stdout: Everything it wrote to standard output (UTF-8, undecodable bytes replaced).
        stderr: Everything it wrote to standard error.
        duration: Seconds from start to exit.
    """

    exit_code: int
    stdout: str
    stderr: str
    duration: float


class ProcessHandle:
    """A running program started by :func:`spawn`. Iterate it for stdout lines as they come."""

    def __init__(
        self,
        popen: subprocess.Popen[str],
        args: list[str],
        timeout: float | None,
        input: str | bytes | None,
        kill_grace: float,
    ) -> None:
        self._popen = popen
        self.args = args
        self._started = time.monotonic()
        self._stdout: list[str] = []
        self._stderr: list[str] = []
        self._lines: queue.SimpleQueue[str | None] = queue.SimpleQueue()
        self._exited = threading.Event()
        self._done = threading.Event()
        self._input_lock = threading.Lock()
        self._timed_out = False
        self._timeout = timeout
        self._kill_grace = kill_grace
        self._result: ProcessResult | None = None
        self._pumps = [
            self._thread(self._pump, popen.stdout, self._stdout, self._lines),
            self._thread(self._pump, popen.stderr, self._stderr, None),
        ]
        if input is not None:
            self._thread(self._feed, input)
        self._thread(self._reap)
        if timeout is not None:
            self._thread(self._watch, timeout)

    def __repr__(self) -> str:
        state = "running" if self.is_running else f"exited {self._popen.returncode}"
        return f"<ProcessHandle pid={self.pid} {self.args!r} {state}>"

    def __enter__(self) -> ProcessHandle:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the program: kill it (with the handle's ``kill_grace``) if it still runs.

        What ``with spawn(...)`` does on exit; after a finished program it only returns.
        """
        self.kill(self._kill_grace)

    @property
    def pid(self) -> int:
        """The program's process id."""
        return self._popen.pid

    @property
    def is_running(self) -> bool:
        """True until the program exited."""
        return not self._exited.is_set()

    def wait(self, timeout: float | None = None) -> ProcessResult:
        """Wait for the program to exit and its output to be read.

        Args:
            timeout: Most seconds to wait; the program keeps running if they pass.

        Returns:
            The :class:`ProcessResult`.

        Raises:
            TimeoutError: ``timeout`` passed and the program still runs.
            ProcessTimeoutError: The program overran ``spawn(timeout=...)`` and was killed.
        """
        if not self._done.wait(timeout):
            raise TimeoutError(f"{self.args!r} (pid {self.pid}) still runs after {timeout} s")
        result = self._result
        assert result is not None  # set before _done
        if self._timed_out:
            error = ProcessTimeoutError(
                f"{self.args!r} ran longer than {self._timeout} s and was killed "
                f"(exit code {result.exit_code})"
            )
            error.result = result
            raise error
        return result

    def send_input(self, data: str | bytes) -> None:
        """Write ``data`` to the program's standard input (and flush it).

        Raises:
            ProcessError: The input was closed, or the program no longer reads it.
        """
        stdin = self._popen.stdin
        text = data.decode() if isinstance(data, bytes) else data
        with self._input_lock:
            if stdin is None or stdin.closed:
                raise ProcessError(
                    f"the input of {self.args!r} is closed (spawn(input=...) closes it)"
                )
            try:
                stdin.write(text)
                stdin.flush()
            except (BrokenPipeError, ValueError, OSError) as exc:
                raise ProcessError(f"{self.args!r} no longer reads its input: {exc}") from exc

    def close_input(self) -> None:
        """Close standard input, so the program reads end-of-file."""
        with self._input_lock:
            stdin = self._popen.stdin
            if stdin is not None and not stdin.closed:
                with contextlib.suppress(OSError):
                    stdin.close()

    def __iter__(self) -> Iterator[str]:
        """Standard output line by line (without the newline) as the program writes it."""
        while True:
            line = self._lines.get()
            if line is None:
                self._lines.put(None)  # later iterations end at once too
                return
            yield line

    def kill(self, grace: float = 5.0) -> ProcessResult:
        """Stop the program: SIGTERM first, then SIGKILL if it still runs after ``grace`` seconds.

        Signals go to the program's whole process group, and SIGKILL follows whenever anything
        in it still runs (or holds the output open) after ``grace``, even if the program itself
        already quit on SIGTERM. Returns once it is reaped and its output is read.

        Args:
            grace: Seconds between SIGTERM and SIGKILL (0 sends SIGKILL at once).

        Returns:
            The :class:`ProcessResult` (exit code ``-15`` or ``-9`` when a signal ended it).
        """
        if not grace >= 0:
            raise ValueError(f"grace must be >= 0 seconds, got {grace!r}")
        # "Done" (not merely "exited"): a program that quits on SIGTERM can leave children in
        # its group that ignore it and still hold the output pipes; they get the SIGKILL too.
        if not self._done.is_set():
            if grace > 0:
                self._signal(signal.SIGTERM)
            if not self._done.wait(None if grace > threading.TIMEOUT_MAX else grace):
                self._signal(signal.SIGKILL if _POSIX else signal.SIGTERM)
        self._done.wait()
        assert self._result is not None
        return self._result

    # --- threads ---------------------------------------------------------------------------------

    def _thread(self, target: Any, *args: Any) -> threading.Thread:
        thread = threading.Thread(target=target, args=args, daemon=True, name="atomiton-spawn")
        thread.start()
        return thread

    def _signal(self, signum: int) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError, OSError):
            if _POSIX:
                os.killpg(self._popen.pid, signum)
            else:
                self._popen.send_signal(signum)

    @staticmethod
    def _pump(
        stream: IO[str] | None, into: list[str], lines: queue.SimpleQueue[str | None] | None
    ) -> None:
        if stream is None:
            return
        try:
            for line in stream:
                into.append(line)
                if lines is not None:
                    lines.put(line.rstrip("\n"))
        except (OSError, ValueError):
            pass  # the pipe closed under us: the program is gone
        finally:
            if lines is not None:
                lines.put(None)
            with contextlib.suppress(OSError):
                stream.close()

    def _feed(self, data: str | bytes) -> None:
        try:
            self.send_input(data)
        except ProcessError:
            pass  # the program ended without reading everything; its exit code tells the story
        finally:
            self.close_input()

    def _reap(self) -> None:
        exit_code = self._popen.wait()
        duration = time.monotonic() - self._started
        self._exited.set()
        for pump in self._pumps:
            pump.join()
        self.close_input()
        self._result = ProcessResult(
            exit_code, "".join(self._stdout), "".join(self._stderr), duration
        )
        self._done.set()

    def _watch(self, timeout: float) -> None:
        if not self._exited.wait(timeout):
            self._timed_out = True
            self.kill(self._kill_grace)


def spawn(
    args: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    timeout: float | None = None,
    input: str | bytes | None = None,
    kill_grace: float = 5.0,
) -> ProcessHandle:
    """Start a program (no shell) and return a handle to talk to it and stop it.

    Args:
        args: The program and its arguments, e.g. ``["node", "build.js"]``.
        cwd: Working directory (default: this process's).
        env: The program's whole environment (default: this process's), as subprocess.
        timeout: Seconds it may run; then it is killed (SIGTERM, SIGKILL after ``kill_grace``)
            and ``wait()`` raises ProcessTimeoutError.
        input: Text written to its standard input, which is then closed. Without it the input
            stays open for ``send_input()``.
        kill_grace: Seconds between SIGTERM and SIGKILL when the timeout or ``with`` stops it.

    Returns:
        The running program's :class:`ProcessHandle`.

    Raises:
        TypeError: ``args`` is a string instead of a list.
        ValueError: ``args`` is empty, or ``timeout`` is not positive.
        ProcessError: The program cannot be started (not found, not executable, bad cwd).
    """
    if isinstance(args, str | bytes):
        raise TypeError(f"spawn() takes a list of arguments, not a string: [{args!r}, ...]")
    argv = [os.fspath(arg) for arg in args]
    if not argv:
        raise ValueError("spawn() needs at least the program to run in args")
    if timeout is not None and not timeout > 0:
        raise ValueError(f"timeout must be > 0 seconds or None, got {timeout!r}")
    if timeout is not None and timeout > threading.TIMEOUT_MAX:
        timeout = None  # math.inf: no limit (Event.wait cannot take it)
    if not kill_grace >= 0:
        raise ValueError(f"kill_grace must be >= 0 seconds, got {kill_grace!r}")
    try:
        popen = subprocess.Popen(
            argv,
            cwd=None if cwd is None else Path(cwd),
            env=None if env is None else dict(env),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            encoding="utf-8",
            errors="replace",
            bufsize=1,
            start_new_session=_POSIX,
        )
    except OSError as exc:
        raise ProcessError(f"cannot start {argv[0]!r}: {exc}") from exc
    return ProcessHandle(popen, argv, timeout, input, kill_grace)
