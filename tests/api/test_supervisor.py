"""``plexrecs loop``'s supervisor with real child processes: signals are forwarded, one child
ending stops the others, nothing is left running."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

SLEEPER = "import os, sys, time; open(sys.argv[1], 'w').write(str(os.getpid())); time.sleep(600)"
EXITER = "import sys; sys.exit(int(sys.argv[1]))"


def supervisor_process(tmp_path: Path, children: list[tuple[str, list[str]]]) -> subprocess.Popen:
    specs = ", ".join(f"ChildSpec({name!r}, {[sys.executable, *argv]!r})" for name, argv in children)
    code = ("import sys; from plexrecs_assets.cli.supervisor import ChildSpec, Supervisor; "
            f"sys.exit(Supervisor([{specs}], stop_timeout_s=10).run())")
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=True, stderr=subprocess.PIPE, text=True)


def wait_for_files(paths: list[Path], proc: subprocess.Popen) -> list[int]:
    for _ in range(300):
        if all(p.exists() and p.read_text() for p in paths):
            return [int(p.read_text()) for p in paths]
        assert proc.poll() is None, proc.stderr.read()
        time.sleep(0.05)
    raise AssertionError("children did not start")


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def gone(pid: int) -> bool:
    for _ in range(100):
        if not alive(pid):
            return True
        time.sleep(0.05)
    return False


def test_sigterm_is_forwarded_and_every_child_stops(tmp_path):
    files = [tmp_path / "a.pid", tmp_path / "b.pid"]
    proc = supervisor_process(tmp_path, [("a", ["-c", SLEEPER, str(files[0])]), ("b", ["-c", SLEEPER, str(files[1])])])
    try:
        pids = wait_for_files(files, proc)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 0
        assert all(gone(pid) for pid in pids)
        assert "received SIGTERM" in proc.stderr.read()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_child_that_exits_stops_the_others_and_sets_the_status(tmp_path):
    sleeper = tmp_path / "s.pid"
    proc = supervisor_process(tmp_path, [("sleeper", ["-c", SLEEPER, str(sleeper)]), ("quitter", ["-c", EXITER, "3"])])
    try:
        assert proc.wait(timeout=30) == 3
        assert "quitter exited with status 3" in proc.stderr.read()
        if sleeper.exists() and sleeper.read_text():
            assert gone(int(sleeper.read_text()))
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)


def test_a_service_ending_cleanly_is_still_a_failure_of_loop_mode(tmp_path):
    proc = supervisor_process(tmp_path, [("quitter", ["-c", EXITER, "0"])])
    assert proc.wait(timeout=30) == 1
