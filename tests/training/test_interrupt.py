"""tinyconv.interrupt: one SIGINT ends `train`/`search` at once, also while the main thread
is inside a long native call (a TensorFlow graph, the converter, BLAS), and never in the
middle of a `saving()` write."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

from tinyconv.interrupt import EXIT_CODE

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _start(body: str) -> subprocess.Popen:
    script = textwrap.dedent(body)
    p = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, cwd=REPO)
    assert p.stdout.readline().strip() == "ready", p.communicate()
    return p


def test_exits_at_once_while_the_main_thread_is_in_a_long_native_call():
    """A 6000x6000 matmul holds the main thread in BLAS (GIL released) for seconds (6.6 s
    each here while other work ran), where Python's own handler cannot run: the watcher
    thread exits within a fraction of a second (the handler alone took 5.3 s)."""
    p = _start("""
        import numpy as np
        from tinyconv.interrupt import exit_on_interrupt
        a = np.ones((6000, 6000), np.float32)
        with exit_on_interrupt(lambda: "; in BLAS"):
            print("ready", flush=True)
            for _ in range(20):
                a @ a
            print("finished", flush=True)
    """)
    time.sleep(0.5)   # inside the first matmul
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    seconds = time.monotonic() - sent
    assert p.returncode == EXIT_CODE == 130, err
    assert err == "tinyconv: interrupted; in BLAS\n" and "finished" not in out
    assert seconds < 1.5, f"exited {seconds:.1f} s after SIGINT"


def test_a_sigint_inside_saving_exits_once_the_write_is_done():
    """Two Ctrl-C during a `saving()` write: the write completes, then one line and exit
    130; the code after the block never runs."""
    p = _start("""
        import os, signal, time
        from tinyconv.interrupt import exit_on_interrupt, saving
        with exit_on_interrupt(lambda: ", after the write"):
            print("ready", flush=True)
            with saving():
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.3)
                print("written", flush=True)
            print("after", flush=True)
    """)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, err
    assert out.split() == ["written"] and err == "tinyconv: interrupted, after the write\n"


def test_outside_the_block_sigint_is_python_s_again():
    p = _start("""
        import signal, time
        from tinyconv.interrupt import exit_on_interrupt
        before = signal.getsignal(signal.SIGINT)
        with exit_on_interrupt():
            pass
        assert signal.getsignal(signal.SIGINT) is before and signal.set_wakeup_fd(-1) == -1
        try:
            print("ready", flush=True)
            time.sleep(30)
        except KeyboardInterrupt:
            print("KeyboardInterrupt", flush=True)
    """)
    sent = time.monotonic()
    p.send_signal(signal.SIGINT)
    out, err = p.communicate(timeout=60)
    # (Failed once, in a full run under load beside a training: exit 0 and no output. The
    # time tells whether the signal was lost (the 30 s sleep ran out) or never sent.)
    assert p.returncode == 0 and out.split() == ["KeyboardInterrupt"], \
        (err, f"exit {p.returncode} {time.monotonic() - sent:.1f} s after the SIGINT")
