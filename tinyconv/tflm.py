"""The TensorFlow Lite Micro peer: its outputs and its arena, for comparison.

tinyconv is bit-exact with LiteRT's BUILTIN_REF interpreter (see reference.py). The TFLM
runtime (`tflite-micro` on PyPI, its reference kernels) is what tinyconv replaces on a
microcontroller, so `verify` also reports agreement with it, and the reports compare
tinyconv's planned arena with TFLM's.

Isolation. Every TFLM call runs in a child Python process (one, reused; restarted after
a crash): the runtime aborts or segfaults on some inputs (e.g. `GetTensor(i)` out of
range), which must not take the caller down, and `print_allocations()` writes to the
C-level stderr, which the child sends to a log file read back per request.

Arena. `tflm_arena` creates the interpreter with a generous arena, invokes it once and
parses the RecordingMicroAllocator report of `print_allocations()`: "head" is the
non-persistent area TFLM's greedy planner lays out for activations and kernel scratch
buffers (what tinyconv's planner competes with), "tail" the persistent runtime state
(tensor structs, quantization data, node registrations, op data; pointer-sized, so
larger on x86-64 than on a Cortex-M), "total" their sum. The report is exact and costs
one run. It is not quite the smallest `arena_size` that works: Prepare allocates
temporaries that are freed before the report, and the arena start is aligned to 16
bytes; `tflm_min_arena` finds that number by bisection (tens of cheap runs).

Where TFLM and LiteRT BUILTIN_REF disagree for int8 (measured: every op builder in
tests/tflite_builder.py, 150 random models each, 3 samples; tests/test_reference.py
keeps the decisive cases):

1. FULLY_CONNECTED, per-tensor and per-channel weights: ±1 LSB on some outputs.
   LiteRT's reference kernel does not use the fixed-point multiplier at all. Its
   tflite/kernels/fully_connected.cc (FullyConnectedInt8 / FullyConnectedPerChannelInt8,
   `kernel_type == kReference`) calls the overloads of
   tflite/kernels/internal/reference/integer_ops/fully_connected.h that take the float
   scales and compute, per output,
       M   = (double)s_in * (double)s_w[c] / (double)s_out      (left to right)
       out = clamp(zp_out + (int32)round((double)acc * M))      round = half away from 0
   i.e. ONE rounding, in double precision. TFLM's copy of the same header
   (tensorflow/lite/kernels/internal/reference/integer_ops/fully_connected.h in
   tflite-micro) has only the fixed-point overloads: QuantizeMultiplier(M) then
   MultiplyByQuantizedMultiplier = SaturatingRoundingDoublingHighMul followed by
   RoundingDivideByPOT, i.e. TWO roundings (gemmlowp "double rounding"). They differ
   when the first rounding lands on a tie of the second, roughly 2^-(r+1) of the
   outputs for a right shift r: ~0.1 % for typical layers (M ~ 1e-3), ~15 % when M is
   in [0.25, 1) (what the 640-128 autoencoder of ARCHITECTURE.md hit). Exact case:
   M = 0.75*0.25/1.0 = 0.1875, acc = 2: LiteRT round(0.375) = 0; TFLM rounds 1.5 -> 2,
   then 2/4 = 0.5 -> 1. The float-vs-double product of the scales is NOT the cause
   (both projects multiply the scales in double; predicting with a float product
   changes nothing measurable).
   CONV_2D and DEPTHWISE_CONV_2D use fixed-point double rounding in BOTH projects and
   agree exactly, even on tie-heavy models (M in [0.25, 1)).
2. RELU6 whose output quantization differs from its input's: TFLM's Relu6Prepare
   (tensorflow/lite/micro/kernels/activations_common.cc) keeps only the input's zero
   point and quantized 6.0 and clamps the raw codes (the output quantization is
   ignored), while LiteRT requantizes to the output scale/zero point. With equal
   quantization (what converters emit) they agree. RELU requantizes in both.

Everything else tinyconv supports agrees byte for byte: CONV_2D (incl. groups,
dilation), DEPTHWISE_CONV_2D, ADD, SUB, MUL (with broadcasting), AVERAGE/MAX_POOL_2D,
MEAN, PAD, PADV2, RESHAPE, SQUEEZE, CONCATENATION, SOFTMAX, LOGISTIC, TANH, HARD_SWISH,
RELU, LEAKY_RELU, TRANSPOSE, QUANTIZE (float->int8 and int8->int8), DEQUANTIZE.
So "match TFLM" means: FULLY_CONNECTED with the conv requantization (fixed-point,
double rounding), and RELU6 as a clamp in the input's quantization.
"""

from __future__ import annotations

import atexit
import os
import pickle
import re
import select
import signal
import struct
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

import numpy as np

from .errors import TinyconvError
from .reference import check_sample, model_io, parse_model

# The arena the child gives TFLM when measuring: large enough for any MCU-scale model.
_MEASURE_ARENA_FLOOR = 8 * 1024 * 1024
_CHILD_TIMEOUT_S = 300

_ALLOCATION_RE = re.compile(
    r"Arena allocation (head|tail|total) (\d+) bytes")


@dataclass(frozen=True)
class TflmArena:
    head_bytes: int  # activations + kernel scratch, planned by TFLM's greedy planner
    tail_bytes: int  # persistent runtime state
    total_bytes: int


def _measure_arena_size(model: bytes) -> int:
    return max(_MEASURE_ARENA_FLOOR, 10 * len(model))


class _Worker:
    """A child Python process that runs TFLM requests, restarted after it dies.

    One child serves many requests (spawning one per call costs ~0.6 s). Messages are
    length-prefixed pickles on the child's stdin and on a duplicate of its original
    stdout; the child's fds 1 and 2 go to a log file, so anything TFLM prints (errors,
    the allocation report) is read back from the file and can never block a pipe.
    """

    def __init__(self) -> None:
        self._log = tempfile.NamedTemporaryFile(prefix="tinyconv-tflm-", suffix=".log")
        env = dict(os.environ)
        package_root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
        env["PYTHONPATH"] = os.pathsep.join(
            [package_root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
        self._proc = subprocess.Popen(
            [sys.executable, "-c", "import tinyconv.tflm as t; t._child_main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._log, env=env)

    def alive(self) -> bool:
        return self._proc.poll() is None

    def request(self, request: dict, timeout_s: float) -> tuple[dict, str]:
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
                raise TinyconvError(f"TFLM did not finish within {timeout_s:.0f} s") from None
            raise TinyconvError(f"TFLM crashed ({_describe_exit(self._proc.returncode)}): "
                                f"{_last_message(log)}") from None
        log = self._log_since(log_start)
        if "error" in reply:
            raise TinyconvError(f"TFLM failed: {_last_message(log + chr(10) + reply['error'])}")
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


_worker: _Worker | None = None


def _run_child(request: dict) -> tuple[dict, str]:
    """Send `request` to the TFLM child process; returns (reply, what TFLM printed)."""
    global _worker
    if _worker is None or not _worker.alive():
        _worker = _Worker()
    return _worker.request(request, _CHILD_TIMEOUT_S)


@atexit.register
def _stop_worker() -> None:
    if _worker is not None:
        _worker.close()


def _describe_exit(code: int | None) -> str:
    if code is not None and code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit {code}"


def _last_message(log: str) -> str:
    """The last meaningful lines TFLM printed, on one line."""
    lines = [ln.strip() for ln in log.splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith("Traceback")]
    return " | ".join(lines[-3:]) if lines else "no message"


def _child_main() -> None:
    """Child side: serve requests until stdin closes; TFLM's prints go to the log file."""
    replies = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # TFLM or numpy printing to stdout must not corrupt the reply channel
    requests = sys.stdin.buffer
    while True:
        header = requests.read(8)
        if len(header) < 8:
            return
        (size,) = struct.unpack("<Q", header)
        request = pickle.loads(requests.read(size))
        try:
            reply = _serve(request)
        except Exception as exc:  # report Python-level failures as data, not a traceback
            reply = {"error": " ".join(str(exc).split()) or type(exc).__name__}
        sys.stderr.flush()
        payload = pickle.dumps(reply, protocol=pickle.HIGHEST_PROTOCOL)
        replies.write(struct.pack("<Q", len(payload)) + payload)
        replies.flush()


def _serve(request: dict) -> dict:
    from tflite_micro.python.tflite_micro import runtime

    interpreter = runtime.Interpreter.from_bytes(request["model"],
                                                 arena_size=request["arena_size"])
    outputs = []
    for sample in request["samples"]:
        for i, x in enumerate(sample):
            interpreter.set_input(x, i)
        interpreter.invoke()
        outputs.append([np.array(interpreter.get_output(j), copy=True)
                        for j in range(request["n_outputs"])])
    if request.get("print_allocations"):
        interpreter.print_allocations()
    return {"outputs": outputs}


def tflm_outputs(model: bytes, samples: list[list[np.ndarray]],
                 arena_size: int | None = None) -> list[list[np.ndarray]]:
    """Run every sample through one TFLM interpreter (in a child process)."""
    inputs, outputs = model_io(model)
    checked = [check_sample(s, inputs, k) for k, s in enumerate(samples)]
    reply, _ = _run_child({
        "model": bytes(model), "samples": checked, "n_outputs": len(outputs),
        "arena_size": arena_size or _measure_arena_size(model)})
    return [[y.reshape(t.shape) for y, t in zip(sample_out, outputs)]
            for sample_out in reply["outputs"]]


def tflm_arena(model: bytes) -> TflmArena:
    """TFLM's arena for `model`, from its RecordingMicroAllocator report after one invoke."""
    inputs, outputs = model_io(model)
    sample = [np.zeros(t.shape, t.dtype) for t in inputs]
    _, stderr = _run_child({
        "model": bytes(model), "samples": [sample], "n_outputs": len(outputs),
        "arena_size": _measure_arena_size(model), "print_allocations": True})
    found = dict((k, int(v)) for k, v in _ALLOCATION_RE.findall(stderr))
    if set(found) != {"head", "tail", "total"}:
        raise TinyconvError("TFLM printed no arena report: " + _last_message(stderr))
    return TflmArena(found["head"], found["tail"], found["total"])


def tflm_min_arena(model: bytes) -> int:
    """The smallest `arena_size` TFLM accepts for `model`, by bisection (~15 runs).

    It can exceed head + tail: Prepare allocates temporaries between head and tail that
    are freed before the report, and the arena's start is aligned to 16 bytes.
    """
    high = max(_measure_arena_size(model), 1024)
    if not tflm_loads(model, high):
        raise TinyconvError(f"TFLM cannot run the model even with a {high}-byte arena")
    low = 0  # invariant: low fails, high works
    while high - low > 1:
        middle = (low + high) // 2
        if tflm_loads(model, middle):
            high = middle
        else:
            low = middle
    return high


def tflm_loads(model: bytes, arena_size: int) -> bool:
    """Whether TFLM can allocate and invoke `model` within `arena_size` bytes."""
    parse_model(model)
    inputs, outputs = model_io(model)
    sample = [np.zeros(t.shape, t.dtype) for t in inputs]
    try:
        _run_child({"model": bytes(model), "samples": [sample], "n_outputs": len(outputs),
                    "arena_size": int(arena_size)})
    except TinyconvError:
        return False
    return True
