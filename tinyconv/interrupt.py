"""Ctrl-C for the long commands (`train`, `search`): one SIGINT stops the process at once.

Python turns SIGINT into a KeyboardInterrupt raised wherever the main thread happens to
be. Inside TensorFlow that can be a weakref callback or a `__del__`, where Python prints
the traceback ("Exception ignored in ...") and carries on: a search then trained four more
candidates. So these commands replace the handler while they run: the first SIGINT kills
the worker processes, prints one line ("tinyconv: interrupted ...") and leaves with exit
code 130 (the CLI's code for an interrupt, the shell's for SIGINT) without unwinding.

That is safe because everything these commands write survives a kill at any moment:
candidates.jsonl is appended a whole line at a time and fsynced (a cut last line is
dropped by --resume), checkpoints, search.json and the result files are written to a
temporary name and renamed. Besides, the few writes that are quick but not atomic (a
candidate's line, an epoch's checkpoint) run in `saving()`: a SIGINT there exits when the
write is done, so nothing is left half-written. The handler runs in the main thread
between two Python bytecodes, which TensorFlow reaches every training step: the process
exits within a second or two, during TensorFlow's start-up too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable, Iterator

EXIT_CODE = 130

_saving = 0                               # depth of saving() blocks now running
_pending: Callable[[], None] | None = None  # the exit a SIGINT inside saving() deferred


@contextlib.contextmanager
def saving() -> Iterator[None]:
    """A short write that an interrupt must not cut: a SIGINT inside exits after it."""
    global _saving
    _saving += 1
    try:
        yield
    finally:
        _saving -= 1
        if _saving == 0 and _pending is not None:
            _pending()


@contextlib.contextmanager
def exit_on_interrupt(detail: Callable[[], str] = lambda: "") -> Iterator[None]:
    """Within the block, SIGINT prints `tinyconv: interrupted<detail()>` and exits 130.

    `detail` is called at the interrupt (e.g. to count the finished candidates); it should
    start with "; " or ", ". Must be entered in the main thread."""
    # fd 2 points at /dev/null while TensorFlow loads (tinyconv.quiet): keep the real one.
    err = os.dup(2)

    def leave() -> None:
        with contextlib.suppress(Exception):  # a write it interrupted may hold the buffer
            sys.stdout.flush()
        try:
            text = detail()
        except Exception:  # noqa: BLE001 - the message must not stop the exit
            text = ""
        with contextlib.suppress(OSError):
            os.write(err, f"tinyconv: interrupted{text}\n".encode())
        os._exit(EXIT_CODE)

    def handler(signum, frame) -> None:
        global _pending
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C changes nothing
        kill_worker_processes()
        if _saving:
            _pending = leave  # saving() calls it when the write is complete
        else:
            leave()

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        os.close(err)


def kill_worker_processes() -> None:
    """Kill the multiprocessing children (the search's spawned workers), if any."""
    if "multiprocessing" not in sys.modules:
        return
    import multiprocessing
    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.kill()


@contextlib.contextmanager
def sigint_blocked() -> Iterator[None]:
    """Hold SIGINT back (pending, not lost) while worker processes are started: they inherit
    the blocked mask and ignore SIGINT before unblocking it (`worker_ignores_sigint`), so a
    Ctrl-C at the terminal reaches only the parent, which kills them."""
    old = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def worker_ignores_sigint() -> None:
    """In a worker process: SIGINT is the parent's to handle (it kills its workers)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
