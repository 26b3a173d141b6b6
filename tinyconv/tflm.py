"""The TensorFlow Lite Micro peer: its outputs and its arena, for comparison.

tinyconv is bit-exact with LiteRT's BUILTIN_REF interpreter (see reference.py). The TFLM
runtime (`tflite-micro` on PyPI, its reference kernels) is what tinyconv replaces on a
microcontroller, so `verify` also reports agreement with it, and the reports compare
tinyconv's planned arena with TFLM's.

Isolation. Every TFLM call runs in a child Python process (tinyconv/worker.py: one,
reused; restarted after a crash): the runtime aborts or segfaults on some inputs (e.g.
`GetTensor(i)` out of range), which must not take the caller down, and
`print_allocations()` writes to the C-level stderr, which the child sends to a log file
read back per request.

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

import re
from dataclasses import dataclass

import numpy as np

from . import worker
from .errors import TinyconvError
from .reference import check_sample, model_io, parse_model

# The arena the child gives TFLM when measuring: large enough for any MCU-scale model.
_MEASURE_ARENA_FLOOR = 8 * 1024 * 1024

_ALLOCATION_RE = re.compile(
    r"Arena allocation (head|tail|total) (\d+) bytes")


@dataclass(frozen=True)
class TflmArena:
    head_bytes: int  # activations + kernel scratch, planned by TFLM's greedy planner
    tail_bytes: int  # persistent runtime state
    total_bytes: int


def _measure_arena_size(model: bytes) -> int:
    return max(_MEASURE_ARENA_FLOOR, 10 * len(model))


def _run_child(request: dict) -> tuple[dict, str]:
    """Serve `request` in TFLM's child process (tinyconv/worker.py); returns (reply, what
    TFLM printed)."""
    return worker.run(__name__, "TFLM", request)


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
        raise TinyconvError("TFLM printed no arena report: " + worker.last_message(stderr))
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
