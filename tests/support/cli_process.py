"""The `tinyconv` command as a real process: run it, or interrupt it (Ctrl-C) mid-work."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def _command(args) -> list[str]:
    return [sys.executable, "-m", "tinyconv.cli", *map(str, args)]


def _env() -> dict[str, str]:
    return dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")


def run_cli(*args, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(_command(args), capture_output=True, text=True, timeout=timeout,
                          cwd=REPO, env=_env())


@dataclass(frozen=True)
class Interrupted:
    returncode: int
    stdout: str
    stderr: str
    exit_seconds: float   # from SIGINT to the process's exit


def interrupt_when(args, ready: Callable[[], bool], *, start_timeout: float = 300,
                   exit_timeout: float = 60) -> Interrupted:
    """Start `tinyconv args`, wait until `ready()` (polled every 50 ms), send one SIGINT as
    a terminal's Ctrl-C does, and wait for the exit. Fails (after killing it) if the process
    ends before it is ready or does not exit within `exit_timeout` seconds."""
    p = subprocess.Popen(_command(args), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True, cwd=REPO, env=_env())
    try:
        deadline = time.monotonic() + start_timeout
        while not ready():
            if p.poll() is not None:
                out, err = p.communicate()
                raise AssertionError(f"exited ({p.returncode}) before it was interrupted:\n"
                                     f"{out[-2000:]}\n{err[-2000:]}")
            if time.monotonic() > deadline:
                raise AssertionError(f"not ready after {start_timeout} s")
            time.sleep(0.05)
        p.send_signal(signal.SIGINT)
        sent = time.monotonic()
        out, err = p.communicate(timeout=exit_timeout)
        return Interrupted(p.returncode, out, err, time.monotonic() - sent)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()


def group_processes(pgid: int) -> list[str]:
    """Live processes (not zombies) in process group `pgid`."""
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            stat = Path(f"/proc/{d}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if int(fields[2]) == pgid and fields[0] not in ("Z", "X"):
            out.append(stat.split(")")[0] + ")")
    return out


def interrupt_group(args, ready: Callable[[], bool], started=lambda pid: None
                    ) -> tuple[subprocess.CompletedProcess, float]:
    """Run `tinyconv args` in its own process group; when ready(), Ctrl-C it as a terminal
    does (SIGINT to the whole group: Ray's processes too). Returns the result and the
    seconds from the SIGINT to the exit; checks no process of the group is left."""
    p = subprocess.Popen(_command(args), stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO, env=_env(),
                         start_new_session=True)
    started(p.pid)
    try:
        deadline = time.monotonic() + 120
        while not ready():
            assert p.poll() is None, f"ended before the interrupt: {p.communicate()}"
            assert time.monotonic() < deadline, "not ready after 120 s"
            time.sleep(0.05)
        os.killpg(p.pid, signal.SIGINT)
        sent = time.monotonic()
        out, err = p.communicate(timeout=60)
        seconds = time.monotonic() - sent
        left = group_processes(p.pid)
        for _ in range(80):          # Ray's processes end when their parent does (slower under load)
            if not left:
                break
            time.sleep(0.25)
            left = group_processes(p.pid)
        assert not left, f"left running after the interrupt: {left}"
        return subprocess.CompletedProcess(p.args, p.returncode, out, err), seconds
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.communicate()
