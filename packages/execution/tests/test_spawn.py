"""spawn(): real programs, output line by line, input, timeouts, kill with a grace that holds."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import psutil
import pytest

from atomiton.execution import ProcessError, ProcessResult, ProcessTimeoutError, spawn

PY = sys.executable


def no_zombie(pid: int) -> bool:
    try:
        return bool(psutil.Process(pid).status() != psutil.STATUS_ZOMBIE)
    except psutil.NoSuchProcess:
        return True


def test_wait_returns_exit_code_output_and_duration() -> None:
    handle = spawn(
        [PY, "-c", "import sys; print('out'); print('err', file=sys.stderr); sys.exit(3)"]
    )
    result = handle.wait(timeout=30)
    assert isinstance(result, ProcessResult)
    assert (result.exit_code, result.stdout, result.stderr) == (3, "out\n", "err\n")
    assert result.duration > 0
    assert not handle.is_running
    assert no_zombie(handle.pid)


def test_output_arrives_line_by_line_while_the_program_runs() -> None:
    code = "import time\nfor i in range(3):\n    print(i, flush=True)\n    time.sleep(0.1)\n"
    handle = spawn([PY, "-c", code])
    lines = []
    for line in handle:
        lines.append(line)
        if line == "0":
            assert handle.is_running  # the first line came before the program ended
    assert lines == ["0", "1", "2"]
    assert handle.wait(timeout=30).stdout == "0\n1\n2\n"


def test_send_input_reaches_the_program() -> None:
    code = "import sys\nfor line in sys.stdin:\n    print(line.strip().upper(), flush=True)\n"
    handle = spawn([PY, "-c", code])
    handle.send_input("hello\n")
    assert next(iter(handle)) == "HELLO"
    handle.send_input(b"bytes too\n")
    assert next(iter(handle)) == "BYTES TOO"
    handle.close_input()
    assert handle.wait(timeout=30).exit_code == 0


def test_input_is_written_and_closed() -> None:
    handle = spawn([PY, "-c", "import sys; print(sys.stdin.read()[::-1])"], input="abc")
    assert handle.wait(timeout=30).stdout == "cba\n"
    with pytest.raises(ProcessError, match="input"):
        handle.send_input("more")


def test_cwd_and_env_are_passed(tmp_path: Path) -> None:
    env = {**os.environ, "ATOMITON_SPAWN_TEST": "42"}
    code = "import os; print(os.getcwd()); print(os.environ['ATOMITON_SPAWN_TEST'])"
    result = spawn([PY, "-c", code], cwd=tmp_path, env=env).wait(timeout=30)
    assert result.stdout.split() == [str(tmp_path.resolve()), "42"]


def test_kill_sends_sigterm_first() -> None:
    handle = spawn([PY, "-c", "import time; print('up', flush=True); time.sleep(60)"])
    assert next(iter(handle)) == "up"
    result = handle.kill(grace=5.0)
    assert result.exit_code == -15
    assert no_zombie(handle.pid)


def test_kill_really_sends_sigkill_after_the_grace_period() -> None:
    code = (
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ignoring SIGTERM', flush=True)\n"
        "time.sleep(60)\n"
    )
    handle = spawn([PY, "-c", code])
    assert next(iter(handle)) == "ignoring SIGTERM"
    start = time.monotonic()
    result = handle.kill(grace=0.3)
    elapsed = time.monotonic() - start
    assert result.exit_code == -9
    assert 0.3 <= elapsed < 5
    assert not handle.is_running
    assert no_zombie(handle.pid)


def test_kill_reaches_the_programs_own_children() -> None:
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    handle = spawn([PY, "-c", code])
    grandchild = int(next(iter(handle)))
    handle.kill(grace=1.0)
    deadline = time.monotonic() + 5
    while psutil.pid_exists(grandchild) and time.monotonic() < deadline:
        if not no_zombie(grandchild):
            break  # dead, waiting for init to reap it
        time.sleep(0.02)
    assert not psutil.pid_exists(grandchild) or not no_zombie(grandchild)


def test_kill_sends_sigkill_to_children_that_ignore_sigterm_after_the_program_quit() -> None:
    # Regression: the program exits on SIGTERM at once, but its child ignores SIGTERM and holds
    # the output pipe; kill() waited for that child (60 s) instead of sending it SIGKILL.
    code = (
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', 'import signal, time; "
        'signal.signal(signal.SIGTERM, signal.SIG_IGN); print("ready", flush=True); '
        "time.sleep(60)'])\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n"
    )
    handle = spawn([PY, "-c", code])
    lines = iter(handle)
    first_two = {next(lines), next(lines)}  # its pid, and "ready": its SIGTERM handler is set
    assert "ready" in first_two
    grandchild = int((first_two - {"ready"}).pop())
    start = time.monotonic()
    result = handle.kill(grace=0.3)
    assert time.monotonic() - start < 10
    assert result.exit_code == -15
    deadline = time.monotonic() + 5
    while psutil.pid_exists(grandchild) and no_zombie(grandchild):
        assert time.monotonic() < deadline, "the child that ignores SIGTERM survived kill()"
        time.sleep(0.02)


def test_timeout_kills_the_program_and_wait_raises() -> None:
    handle = spawn([PY, "-c", "import time; time.sleep(60)"], timeout=0.2, kill_grace=0.5)
    start = time.monotonic()
    with pytest.raises(ProcessTimeoutError, match=r"longer than 0\.2 s") as raised:
        handle.wait(timeout=30)
    assert time.monotonic() - start < 5
    result = raised.value.result
    assert result is not None
    assert result.exit_code in (-15, -9)
    assert no_zombie(handle.pid)


def test_wait_with_a_timeout_leaves_the_program_running() -> None:
    with spawn([PY, "-c", "import time; time.sleep(60)"], kill_grace=0.5) as handle:
        with pytest.raises(TimeoutError, match="still runs"):
            handle.wait(timeout=0.05)
        running_inside = handle.is_running
    assert running_inside
    assert not handle.is_running
    assert no_zombie(handle.pid)


def test_close_kills_a_running_program_and_is_harmless_after_it_ended() -> None:
    handle = spawn([PY, "-c", "import time; time.sleep(60)"], kill_grace=0.5)
    running_before = handle.is_running
    assert running_before
    handle.close()
    assert not handle.is_running
    assert handle.wait().exit_code in (-15, -9)
    handle.close()  # again: nothing left to do
    assert no_zombie(handle.pid)


def test_a_missing_program_is_a_process_error() -> None:
    with pytest.raises(ProcessError, match="cannot start 'no-such-program-atomiton'"):
        spawn(["no-such-program-atomiton"])


def test_a_string_instead_of_a_list_is_refused() -> None:
    with pytest.raises(TypeError, match="list of arguments"):
        spawn("ls -l")
    with pytest.raises(ValueError, match="at least the program"):
        spawn([])


def test_a_program_nobody_waits_for_is_reaped_anyway() -> None:
    handle = spawn([PY, "-c", "pass"])
    pid = handle.pid
    deadline = time.monotonic() + 10
    while handle.is_running and time.monotonic() < deadline:
        time.sleep(0.01)
    assert no_zombie(pid)
