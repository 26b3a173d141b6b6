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
write is done, so nothing is left half-written. The exit comes from whichever is first:
the handler in the main thread (between two Python bytecodes, which TensorFlow reaches
every training step) or a watcher thread woken by the signal itself (while the main thread
is inside a long TensorFlow call): within a second or two, during TensorFlow's start-up too.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterator

EXIT_CODE = 130

_saving = 0                               # depth of saving() blocks now running
_pending: Callable[[], None] | None = None  # the exit a SIGINT inside saving() deferred


_lock = threading.RLock()                 # guards _saving and _pending between threads
_leaving = threading.Event()              # set by the first SIGINT: later ones change nothing


@contextlib.contextmanager
def saving() -> Iterator[None]:
    """A short write that an interrupt must not cut: a SIGINT inside exits after it."""
    global _saving
    with _lock:
        _saving += 1
    try:
        yield
    finally:
        with _lock:
            _saving -= 1
            deferred = _pending if _saving == 0 else None
        if deferred is not None:
            deferred()


@contextlib.contextmanager
def exit_on_interrupt(detail: Callable[[], str] = lambda: "") -> Iterator[None]:
    """Within the block, SIGINT prints `tinyconv: interrupted<detail()>` and exits 130.

    `detail` is called at the interrupt (e.g. to count the finished candidates); it should
    start with "; " or ", ". Must be entered in the main thread.

    Python runs a signal handler in the main thread between two bytecodes, which it may
    not reach for seconds while a long TensorFlow call runs (a graph function, the TFLite
    converter). So the C-level handler also writes the signal's number to a pipe
    (`signal.set_wakeup_fd`) that a watcher thread reads: whichever of the two comes first
    exits, the other finds `_leaving` set."""
    global _pending
    # fd 2 points at /dev/null while TensorFlow loads (tinyconv.quiet): keep the real one.
    err = os.dup(2)
    _leaving.clear()
    _pending = None

    def leave() -> None:
        # In a helper thread, waited for at most half a second: the write the signal cut
        # (or one blocked on a full pipe) may hold stdout's buffer.
        flusher = threading.Thread(target=_flush_stdout, daemon=True)
        flusher.start()
        flusher.join(timeout=0.5)
        try:
            text = detail()
        except Exception:  # noqa: BLE001 - the message must not stop the exit
            text = ""
        with contextlib.suppress(OSError):
            os.write(err, f"tinyconv: interrupted{text}\n".encode())
        os._exit(EXIT_CODE)

    def interrupted() -> None:
        global _pending
        with _lock:
            if _leaving.is_set():   # a second Ctrl-C, or the other path of the same one
                return
            _leaving.set()
            now = _saving == 0
            if not now:
                _pending = leave  # saving() calls it when the write is complete
        kill_worker_processes()
        if now:
            leave()

    def handler(signum, frame) -> None:
        interrupted()

    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)

    def watch() -> None:
        while True:
            try:
                data = os.read(read_end, 64)   # blocks without the GIL
            except OSError:
                return
            if not data:
                return
            if signal.SIGINT in data:
                interrupted()

    previous = signal.signal(signal.SIGINT, handler)
    previous_fd = signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    watcher = threading.Thread(target=watch, name="tinyconv-interrupt", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        signal.set_wakeup_fd(previous_fd)
        signal.signal(signal.SIGINT, previous)
        os.close(write_end)          # ends the watcher
        watcher.join(timeout=1)
        os.close(read_end)
        os.close(err)


def _flush_stdout() -> None:
    with contextlib.suppress(Exception):
        sys.stdout.flush()


def kill_worker_processes() -> None:
    """Kill the multiprocessing children (the search's spawned workers), if any, and run
    the `on_interrupt` cleanups (e.g. shutting down the Ray instance the search started)."""
    for cleanup in list(_cleanups):
        with contextlib.suppress(Exception):
            cleanup()
    if "multiprocessing" not in sys.modules:
        return
    import multiprocessing
    for child in multiprocessing.active_children():
        with contextlib.suppress(Exception):
            child.kill()


_cleanups: list[Callable[[], None]] = []


@contextlib.contextmanager
def on_interrupt(cleanup: Callable[[], None]) -> Iterator[None]:
    """Within the block, an interrupt calls `cleanup()` before the exit: it must return
    within a few seconds (e.g. stop worker processes that are not multiprocessing's)."""
    _cleanups.append(cleanup)
    try:
        yield
    finally:
        _cleanups.remove(cleanup)


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
