"""Oracles run in child processes: a crash there is one clear line, never a dead tinyconv.

The oracles tinyconv compares with (LiteRT's reference kernels, the TFLite Micro runtime,
onnxruntime) are C++ libraries that can abort or corrupt their heap on some models
(measured: TFLM's `GetTensor(i)` out of range aborts; LiteRT 2.3.0's reference SVDF was
seen to corrupt the heap of the process on a keyword model). Each runs in a child Python
process of its own, one per oracle, reused across requests (spawning one costs 0.5-2 s of
imports) and restarted after it dies.

Protocol: length-prefixed pickles on the child's stdin and on a duplicate of its
original stdout. The child's fds 1 and 2 go to a log file, so anything the library
prints (errors, TFLM's allocation report) is read back per request and can never block a
pipe. A request is served by `<module>._serve(request)`; a Python exception there comes
back as data (`OracleError`), the child's death as `OracleCrashed`.
"""

from __future__ import annotations

import atexit
import importlib
import os
import pickle
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time

from .errors import TinyconvError

DEFAULT_TIMEOUT_S = 300


class OracleError(TinyconvError):
    """The oracle ran but refused the request (cannot load the model, failed an op)."""


class OracleCrashed(TinyconvError):
    """The oracle's process died (abort, segfault, heap corruption) or hung."""


class Worker:
    """One child process serving requests of `module` (its `_serve` function)."""

    def __init__(self, module: str, name: str) -> None:
        self.module, self.name = module, name
        self._log = tempfile.NamedTemporaryFile(prefix=f"tinyconv-{module.split('.')[-1]}-",
                                                suffix=".log")
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            [package_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        self._proc = subprocess.Popen(
            [sys.executable, "-c", f"import tinyconv.worker as w; w._child_main({module!r})"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env)

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        return self._proc.poll() is None

    def request(self, request: dict, timeout_s: float) -> tuple[dict, str]:
        """(reply, what the library printed while serving it)."""
        log_start = os.path.getsize(self._log.name)
        payload = pickle.dumps(request, protocol=pickle.HIGHEST_PROTOCOL)
        try:
            self._proc.stdin.write(struct.pack("<Q", len(payload)) + payload)
            self._proc.stdin.flush()
            deadline = time.monotonic() + timeout_s
            (size,) = struct.unpack("<Q", self._read(8, deadline))
            reply = pickle.loads(self._read(size, deadline))
        except (BrokenPipeError, EOFError, TimeoutError) as exc:
            self.close()
            log = self._log_since(log_start)
            if isinstance(exc, TimeoutError):
                raise OracleCrashed(f"{self.name} did not finish within {timeout_s:.0f} s") \
                    from None
            raise OracleCrashed(f"{self.name} crashed ({describe_exit(self._proc.returncode)}): "
                                f"{last_message(log)}") from None
        log = self._log_since(log_start)
        if "error" in reply:
            raise OracleError(reply["error"] if reply.get("plain")
                              else f"{self.name} failed: "
                                   f"{last_message(log + chr(10) + reply['error'])}")
        return reply, log

    def _read(self, n: int, deadline: float) -> bytes:
        chunks, fd = [], self._proc.stdout.fileno()
        while n > 0:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([fd], [], [], left)[0]:
                raise TimeoutError
            chunk = os.read(fd, n)
            if not chunk:
                self._proc.wait()
                raise EOFError
            chunks.append(chunk)
            n -= len(chunk)
        return b"".join(chunks)

    def _log_since(self, offset: int) -> str:
        with open(self._log.name, "rb") as f:
            f.seek(offset)
            return f.read().decode(errors="replace")

    def close(self) -> None:
        if self._proc.poll() is None:
            self._proc.kill()
        self._proc.wait()


_workers: dict[str, Worker] = {}


def worker(module: str, name: str) -> Worker:
    """The live worker of `module`, started (or restarted after a crash) on demand."""
    w = _workers.get(module)
    if w is None or not w.alive():
        w = _workers[module] = Worker(module, name)
    return w


def run(module: str, name: str, request: dict,
        timeout_s: float = DEFAULT_TIMEOUT_S) -> tuple[dict, str]:
    """Serve `request` in `module`'s child process; (reply, what the library printed)."""
    return worker(module, name).request(request, timeout_s)


@atexit.register
def _stop_workers() -> None:
    for w in _workers.values():
        w.close()


def describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def last_message(log: str) -> str:
    """The last meaningful lines a library printed, on one line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("Traceback")]
    return " | ".join(lines[-3:]) if lines else "no message"


def _child_main(module: str) -> None:
    """Child side: serve requests until stdin closes."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # the library or numpy printing to stdout must not corrupt the replies
    serve = importlib.import_module(module)._serve
    requests = sys.stdin.buffer
    while True:
        header = requests.read(8)
        if len(header) < 8:
            return
        (size,) = struct.unpack("<Q", header)
        request = pickle.loads(requests.read(size))
        try:
            reply = serve(request)
        except TinyconvError as exc:  # already one clear line: pass it on as it is
            reply = {"error": str(exc), "plain": True}
        except Exception as exc:  # report Python-level failures as data, not a traceback
            reply = {"error": " ".join(str(exc).split()) or type(exc).__name__}
        sys.stderr.flush()
        payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(struct.pack("<Q", len(payload)) + payload)
        replies.flush()
