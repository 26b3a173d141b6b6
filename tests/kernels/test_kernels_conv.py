"""CONV_2D and FULLY_CONNECTED kernels (firmware/kernels/conv) and their lowering.

Three layers of evidence, cheapest first:

1. Host, ctypes on the portable kernels (built with UBSan): the exact double-scale
   requantization of tc_fully_connected_f64_s8 against exact rational arithmetic, the
   fixed-point tc_fully_connected_s8 against the TFLite Micro runtime, argument checks.
2. QEMU, one firmware per SIMD board: the DSP (Cortex-M4/M7) and Helium (Cortex-M55)
   kernels against the portable kernels on hundreds of random shapes and parameters,
   with the scratch buffer misaligned and fenced by guard bytes.
3. The whole pipeline (tests/support/harness.py: import, plan, codegen, build, run) against
   LiteRT BUILTIN_REF, on the host under ASan/UBSan and on QEMU boards. Several
   single-op models are merged into one multi-input model so that one firmware build
   checks many configurations.
"""

from __future__ import annotations

import ctypes
import math
import os
import subprocess
from concurrent.futures import ThreadPoolExecutor
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

import harness
import tflite_builder as tb
from harness import bias_at_the_int32_limits, board_params
from kernel_abi import CFLAGS, KERNELS, Act, Context, Dims, PerChannelQuant, Tile, host_library
from tinyconv.codegen.lowering.conv import f64_scale
from tinyconv.quant import quantize_multiplier
from tinyconv.reference import litert_outputs, parse_model

# The int8 kernels (the 16x8 ones, *_s16, are tests/kernels/test_kernels_int16.py's).
CONV_SOURCES = sorted(p for p in (KERNELS / "conv").glob("*.c") if not p.stem.endswith("_s16"))

schema = tb.schema


# -- 1. host: ctypes on the portable kernels ----------------------------------------------

class F64Scale(ctypes.Structure):
    _fields_ = [("mantissa", ctypes.POINTER(ctypes.c_int64)),
                ("exponent", ctypes.POINTER(ctypes.c_int32))]


class ConvParams(ctypes.Structure):
    _fields_ = [("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32),
                ("stride", Tile), ("padding", Tile), ("dilation", Tile), ("activation", Act)]


class FcParams(ctypes.Structure):
    _fields_ = [("input_offset", ctypes.c_int32), ("filter_offset", ctypes.c_int32),
                ("output_offset", ctypes.c_int32), ("activation", Act)]


def _ptr(a: np.ndarray, ctype):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory) -> ctypes.CDLL:
    """The portable kernels as a shared library; UBSan aborts on undefined behaviour."""
    return host_library(CONV_SOURCES, tmp_path_factory.mktemp("conv_host") / "libtcconv.so")


def _round_half_away(x: float) -> int:
    """C's round() of a double, computed exactly on its rational value."""
    q = Fraction(x)
    magnitude = math.floor(abs(q) + Fraction(1, 2))
    return magnitude if q >= 0 else -magnitude


def _run_fc(lib, fn: str, params: FcParams, quant, x: np.ndarray, w: np.ndarray,
            bias: np.ndarray | None) -> tuple[int, np.ndarray]:
    batches, depth = x.shape
    units = w.shape[0]
    x, w = np.ascontiguousarray(x, np.int8), np.ascontiguousarray(w, np.int8)
    y = np.zeros((batches, units), np.int8)
    bias_ptr = None if bias is None else _ptr(np.ascontiguousarray(bias, np.int32),
                                              ctypes.c_int32)
    status = getattr(lib, fn)(
        ctypes.byref(Context(None, 0)), ctypes.byref(params), ctypes.byref(quant),
        ctypes.byref(Dims(batches, 1, 1, depth)), _ptr(x, ctypes.c_int8),
        ctypes.byref(Dims(units, 1, 1, depth)), _ptr(w, ctypes.c_int8),
        ctypes.byref(Dims(1, 1, 1, units)), bias_ptr,
        ctypes.byref(Dims(batches, 1, 1, units)), _ptr(y, ctypes.c_int8))
    return status, y


def _f64_cases(rng: np.random.Generator) -> tuple[list[int], list[float]]:
    """(acc, scale) pairs whose double product lands anywhere in the int8 range,
    including exact halves (power-of-two scales) and the extremes of int32."""
    accs, scales = [], []
    for _ in range(3000):  # random products
        acc = int(rng.integers(1, 2**31)) * int(rng.choice([-1, 1]))
        acc = int(min(max(acc >> int(rng.integers(0, 31)), -2**31), 2**31 - 1)) or 1
        target = rng.uniform(-127.4, 127.4)
        accs.append(acc)
        scales.append(abs(target / acc))
    for _ in range(1000):  # exact halves: odd * 2^(k-1) * 2^-k = odd / 2
        k = int(rng.integers(1, 24))
        odd = 2 * int(rng.integers(-127, 127)) + 1
        accs.append(odd << (k - 1))
        scales.append(2.0 ** -k)
    for _ in range(1000):  # one ulp either side of a half
        k = int(rng.integers(1, 20))
        odd = 2 * int(rng.integers(-127, 127)) + 1
        accs.append(odd << (k - 1))
        scales.append(float(np.nextafter(2.0 ** -k, 2.0 * int(rng.choice([0, 1])))))
    accs += [-2**31, 2**31 - 1, -2**31, 2**31 - 1, 1, -1, 7]
    scales += [2.0**-24, 2.0**-24, 1e-12, 1e-12, 100.0, 100.0, 0.0]
    return accs, scales


def test_f64_requantization_is_double_multiply_then_round(host_lib):
    """tc_fully_connected_f64_s8 computes round((double)acc * scale) bit for bit, with
    integers only: one unit per (acc, scale) pair, acc = 1 * (+-1) + bias."""
    accs, scales = _f64_cases(np.random.default_rng(7))
    mantissa, exponent = _assert_f64_kernel_rounds(host_lib, accs, scales)
    for m, e, s in zip(mantissa, exponent, scales):
        assert Fraction(int(m)) / Fraction(2) ** int(e) == Fraction(s)


def _assert_f64_kernel_rounds(host_lib, accs: list[int], scales: list[float]):
    """tc_fully_connected_f64_s8 with one unit per (acc, scale), acc = 1 * (+-1) + bias,
    equals round((double)acc * scale) clamped to int8; returns the scales' (mantissa,
    exponent) arrays."""
    mantissa = np.array([f64_scale(s)[0] for s in scales], np.int64)
    exponent = np.array([f64_scale(s)[1] for s in scales], np.int32)
    params = FcParams(0, 0, 0, Act(-128, 127))
    quant = F64Scale(_ptr(mantissa, ctypes.c_int64), _ptr(exponent, ctypes.c_int32))
    weights = np.array([[1 if a >= 0 else -1] for a in accs], np.int8)
    bias = np.array([a - int(w[0]) for a, w in zip(accs, weights)], np.int32)
    status, y = _run_fc(host_lib, "tc_fully_connected_f64_s8", params, quant,
                        np.ones((1, 1), np.int8), weights, bias)
    assert status == 0
    want = np.array([max(-128, min(127, _round_half_away(float(a) * s)))
                     for a, s in zip(accs, scales)])
    bad = np.flatnonzero(y[0] != want)
    assert bad.size == 0, [(accs[i], scales[i], int(y[0][i]), int(want[i])) for i in bad[:5]]
    return mantissa, exponent


def _fc_model(rng: np.random.Generator, depth: int, units: int, batches: int,
              input_quant: tuple[float, int], weight_scale, weight_zero_point: int,
              output_quant: tuple[float, int], activation: str, with_bias: bool,
              weight_limit: int = 127) -> bytes:
    """FULLY_CONNECTED with chosen scales, weight zero point (tflite_builder draws
    symmetric weights only) and weight range (small weights allow large multipliers)."""
    b = tb.ModelBuilder("FULLY_CONNECTED")
    x = b.tensor((batches, depth), "int8", *input_quant)
    scales = np.atleast_1d(np.asarray(weight_scale, np.float64))
    w = b.const(rng.integers(-weight_limit, weight_limit + 1, size=(units, depth)).astype(np.int8),
                scale=list(scales), zero_point=[weight_zero_point] * len(scales))
    bias = -1
    if with_bias:
        bias_limit = 150 * weight_limit * int(math.sqrt(depth) + 1)
        bias = b.const(rng.integers(-bias_limit, bias_limit, size=units).astype(np.int32),
                       scale=list(np.float32(input_quant[0]) * scales.astype(np.float32)),
                       zero_point=[0] * len(scales))
    y = b.tensor((batches, units), "int8", *output_quant)
    b.op("FULLY_CONNECTED", [x, w, bias], [y], schema.FullyConnectedOptionsT(
        fusedActivationFunction=tb.ACTIVATIONS[activation]))
    return b.build([x], [y])


def _fc_tensors(model: bytes):
    m = parse_model(model)
    g = m.subgraphs[0]
    op = g.operators[0]
    tensors = [g.tensors[i] if i >= 0 else None for i in op.inputs] + [g.tensors[op.outputs[0]]]

    def data(t, dtype):
        return np.frombuffer(bytes(np.asarray(m.buffers[t.buffer].data, np.uint8)),
                             dtype).reshape(t.shape)
    x, w, b, y = tensors
    return x, y, data(w, np.int8), (None if b is None else data(b, np.int32)), \
        w.quantization, op.builtinOptions.fusedActivationFunction


def test_fixed_point_fully_connected_matches_tflite_micro(host_lib):
    """tc_fully_connected_s8 (TFLite's fixed-point multiplier) is what TFLite Micro
    computes, per-tensor and per-channel: the export option for matching TFLM."""
    from tinyconv.ir.ops import Activation
    from tinyconv.quant import activation_range
    from tinyconv.tflm import tflm_outputs

    activations = [Activation.NONE, Activation.RELU, Activation.RELU_N1_TO_1, Activation.RELU6]
    rng = np.random.default_rng(3)
    compared = 0
    for case in range(12):
        depth, units = int(rng.integers(1, 200)), int(rng.integers(1, 24))
        per_channel = case % 2 == 1 and units > 1
        w_scale = (list(10 ** rng.uniform(-4, -1, size=units)) if per_channel
                   else float(10 ** rng.uniform(-4, -1)))
        model = _fc_model(rng, depth, units, 1, (float(10 ** rng.uniform(-3, -1)),
                                                 int(rng.integers(-128, 128))), w_scale, 0,
                          (float(10 ** rng.uniform(-2, 0)), int(rng.integers(-128, 128))),
                          str(rng.choice(list(tb.ACTIVATIONS))), True)
        x = rng.integers(-128, 128, size=(1, depth)).astype(np.int8)
        want = tflm_outputs(model, [[x]])[0][0].reshape(1, units)

        xt, yt, w, bias, wq, act = _fc_tensors(model)
        sx, zx = xt.quantization.scale[0], xt.quantization.zeroPoint[0]
        sy, zy = yt.quantization.scale[0], yt.quantization.zeroPoint[0]
        mults, shifts = zip(*(quantize_multiplier(float(sx) * float(wq.scale[
            u if len(wq.scale) > 1 else 0]) / float(sy)) for u in range(units)))
        mult, shift = np.array(mults, np.int32), np.array(shifts, np.int32)
        lo, hi = activation_range(activations[act], sy, zy)
        status, y = _run_fc(host_lib, "tc_fully_connected_s8", FcParams(-zx, 0, zy, Act(lo, hi)),
                            PerChannelQuant(_ptr(mult, ctypes.c_int32),
                                            _ptr(shift, ctypes.c_int32)), x, w, bias)
        assert status == 0
        assert np.array_equal(y, want), f"case {case}: {np.sum(y != want)} bytes differ"
        compared += y.size
    assert compared > 50


def test_kernels_reject_inconsistent_arguments(host_lib):
    one = np.zeros(4096, np.int8)
    mult, shift = np.full(64, 1 << 30, np.int32), np.zeros(64, np.int32)
    quant = PerChannelQuant(_ptr(mult, ctypes.c_int32), _ptr(shift, ctypes.c_int32))
    params = ConvParams(0, 0, Tile(1, 1), Tile(0, 0), Tile(1, 1), Act(-128, 127))
    no_scratch = Context(None, 0)

    def conv(fn, input_dims, filter_dims, output_dims, p=params):
        return getattr(host_lib, fn)(
            ctypes.byref(no_scratch), ctypes.byref(p), ctypes.byref(quant),
            ctypes.byref(Dims(*input_dims)), _ptr(one, ctypes.c_int8),
            ctypes.byref(Dims(*filter_dims)), _ptr(one, ctypes.c_int8),
            ctypes.byref(Dims(1, 1, 1, output_dims[3])), None,
            ctypes.byref(Dims(*output_dims)), _ptr(one, ctypes.c_int8))

    assert conv("tc_convolve_s8", (1, 4, 4, 6), (4, 3, 3, 3), (1, 2, 2, 4)) == 0  # 2 groups
    assert conv("tc_convolve_s8", (1, 4, 4, 6), (4, 3, 3, 4), (1, 2, 2, 4)) != 0  # 6 % 4
    assert conv("tc_convolve_s8", (1, 4, 4, 6), (3, 3, 3, 2), (1, 2, 2, 3)) == 0  # 3 groups
    assert conv("tc_convolve_s8", (1, 4, 4, 6), (4, 3, 3, 2), (1, 2, 2, 4)) != 0  # 4 % 3
    assert conv("tc_convolve_s8", (1, 4, 4, 6), (5, 3, 3, 6), (1, 2, 2, 4)) != 0  # 5 != 4
    assert conv("tc_convolve_s8", (2, 4, 4, 6), (4, 3, 3, 6), (1, 2, 2, 4)) != 0  # batches
    assert conv("tc_convolve_1x1_s8", (1, 4, 4, 6), (4, 1, 1, 6), (1, 4, 4, 4)) == 0
    assert conv("tc_convolve_1x1_s8", (1, 4, 4, 6), (4, 1, 1, 3), (1, 4, 4, 4)) != 0
    assert conv("tc_convolve_1x1_s8", (1, 4, 4, 6), (4, 3, 3, 6), (1, 2, 2, 4)) != 0
    strided = ConvParams(0, 0, Tile(2, 2), Tile(0, 0), Tile(1, 1), Act(-128, 127))
    assert conv("tc_convolve_1x1_s8", (1, 4, 4, 6), (4, 1, 1, 6), (1, 2, 2, 4), strided) != 0
    # Portable kernels need no scratch; the SIMD sizes are checked on QEMU below.
    assert host_lib.tc_convolve_s8_get_buffer_size(ctypes.byref(Dims(1, 9, 9, 8)),
                                                   ctypes.byref(Dims(4, 3, 3, 8))) == 0


# -- 2. QEMU: SIMD kernels against the portable ones --------------------------------------

# Bare-metal test program (c/conv_simd_vs_portable.c): each optimized kernel (this ISA)
# against the portable kernel compiled into the same image under ref_* names, on random
# shapes and parameters, with a minimal runtime (c/cortex_m_test_startup.c).
C_DIR = Path(__file__).resolve().parent / "c"


# board: (QEMU machine, CPU flags, code origin, RAM origin, input channels per group that
# fill whole SIMD words/vectors: the direct path's fast case, drawn in half the cases)
SIMD_BOARDS = {
    "qemu-m4": ("mps2-an386", ["-mcpu=cortex-m4", "-mfpu=fpv4-sp-d16", "-mfloat-abi=hard"],
                "0x00000000", "0x20000000", 4),
    "qemu-m7": ("mps2-an500", ["-mcpu=cortex-m7", "-mfpu=fpv5-d16", "-mfloat-abi=hard"],
                "0x00000000", "0x20000000", 4),
    # AN547 fetches the reset vectors from ITCM (0x10000000); DTCM at 0x30000000.
    "qemu-m55": ("mps3-an547", ["-mcpu=cortex-m55", "-mfloat-abi=hard"],
                 "0x10000000", "0x30000000", 16),
}
RENAMED = ["tc_convolve_s8", "tc_convolve_s8_get_buffer_size",
           "tc_convolve_s8_get_fast_buffer_size", "tc_convolve_s8_get_stack_buffer_size",
           "tc_convolve_1x1_s8",
           "tc_convolve_1x1_s8_get_buffer_size", "tc_fully_connected_s8",
           "tc_fully_connected_f64_s8", "tc_fully_connected_s8_get_buffer_size"]

def _simd_vs_reference(board: str, work: Path, iterations: int) -> str:
    machine, cpu, flash, ram, direct_channels = SIMD_BOARDS[board]
    cc = ["arm-none-eabi-gcc", *CFLAGS, "-mthumb", *cpu, "-ffreestanding"]
    (work / "link.ld").write_text(
        (C_DIR / "cortex_m_test.ld.in").read_text().format(flash=flash, ram=ram))
    jobs = []  # (command, object)
    for src in CONV_SOURCES:
        for variant, defines in (("opt", []), ("ref", ["-DTC_REFERENCE_KERNELS"] + [
                f"-D{name}=ref_{name.removeprefix('tc_')}" for name in RENAMED])):
            obj = work / f"{src.stem}.{variant}.o"
            jobs.append(([*cc, *defines, "-c", str(src), "-o", str(obj)], obj))
    for name, extra in (("conv_simd_vs_portable", [f"-DITERATIONS={iterations}",
                                                   f"-DDIRECT_CHANNELS={direct_channels}"]),
                        ("cortex_m_test_startup", [])):
        obj = work / f"{name}.o"
        jobs.append(([*cc, *extra, "-c", str(C_DIR / f"{name}.c"), "-o", str(obj)], obj))
    with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
        for done in pool.map(lambda job: subprocess.run(job[0], capture_output=True, text=True),
                             jobs):
            assert done.returncode == 0, done.stderr
    objects = [str(obj) for _, obj in jobs]
    elf = work / "diff.elf"
    subprocess.run([*cc, "-nostdlib", "-T", str(work / "link.ld"), *objects, "-lgcc",
                    "-o", str(elf)], check=True)
    run = subprocess.run(
        ["timeout", "300", "qemu-system-arm", "-M", machine, "-display", "none", "-serial",
         "none", "-monitor", "none", "-chardev", "stdio,id=s", "-semihosting-config",
         "enable=on,target=native,chardev=s", "-kernel", str(elf)],
        capture_output=True, text=True)
    assert run.returncode == 0, f"{board}: exit {run.returncode}\n{run.stdout}{run.stderr}"
    return run.stdout


@pytest.mark.arm
@pytest.mark.parametrize("board", sorted(SIMD_BOARDS))
def test_simd_kernels_equal_portable_kernels(board, tmp_path):
    out = _simd_vs_reference(board, tmp_path, iterations=250)
    assert "failures 0" in out, out
    compared = int(out.split("compared ")[1].split()[0])
    assert compared > 100_000, out
    # Both requantization paths ran: cases with tc_per_channel_quant_params.narrow set (the
    # harness sets it only where tinyconv.quant.narrow_requantization's rule holds).
    assert int(out.split("narrow ")[1].split()[0]) > 100, out


# -- 3. the pipeline against LiteRT -------------------------------------------------------



def merge_models(models: list[bytes]) -> bytes:
    return tb.merge_models(models, "merged conv/fc test ops")


def _conv_cases(rng: np.random.Generator) -> list[bytes]:
    """Every code path of the convolution kernels, with random quantization."""
    wide = (float(10 ** rng.uniform(-4, 0)), int(rng.choice([-128, 127])))
    return [
        # im2col path: 3x3 SAME, pixel pairs and an odd pixel left over, odd channels
        tb.conv2d_model(rng, input_shape=(1, 5, 7, 3), filters=5, kernel=(3, 3), stride=(1, 1),
                        padding="SAME", dilation=(1, 1), groups=1),
        # pointwise -> tc_convolve_1x1_s8, depth not a multiple of 4 or 16
        tb.conv2d_model(rng, input_shape=(2, 3, 5, 19), filters=7, kernel=(1, 1),
                        stride=(1, 1), groups=1, activation="RELU6"),
        # 1x1 strided goes through the general kernel
        tb.conv2d_model(rng, input_shape=(1, 7, 6, 8), filters=4, kernel=(1, 1), stride=(2, 2),
                        padding="SAME", groups=1),
        # grouped, dilated, strided, VALID, extreme input zero point, tiny/huge scales
        tb.conv2d_model(rng, input_shape=(1, 9, 10, 6), filters=9, kernel=(3, 2),
                        stride=(2, 1), padding="VALID", dilation=(2, 2), groups=3,
                        input_quant=wide),
        # batches, wide rectangular kernel, depth 40 (> one 16-byte MVE vector, + tail)
        tb.conv2d_model(rng, input_shape=(2, 6, 8, 8), filters=6, kernel=(1, 5),
                        stride=(1, 2), padding="SAME", dilation=(1, 1), groups=1,
                        activation="RELU"),
        # 16 channels per group: the MVE direct path too; a channel quad + 1 per group
        tb.conv2d_model(rng, input_shape=(1, 6, 5, 32), filters=10, kernel=(3, 3), stride=(1, 1),
                        padding="SAME", dilation=(1, 1), groups=2),
        # per-tensor weights, 5x5 SAME with stride 2 and big padding
        tb.conv2d_model(rng, input_shape=(1, 6, 6, 4), filters=3, kernel=(5, 5), stride=(2, 2),
                        padding="SAME", dilation=(1, 1), groups=1, per_channel=False,
                        activation="RELU_N1_TO_1"),
    ]


def _fc_cases(rng: np.random.Generator) -> list[bytes]:
    return [
        tb.fully_connected_model(rng, input_shape=(1, 37), units=9, per_channel=False,
                                 keep_num_dims=False),
        tb.fully_connected_model(rng, input_shape=(3, 70), units=6, per_channel=True,
                                 keep_num_dims=False, activation="RELU"),
        tb.fully_connected_model(rng, input_shape=(1, 2, 3, 20), units=5, per_channel=True,
                                 keep_num_dims=True),
        tb.fully_connected_model(rng, input_shape=(2, 33), units=3, with_bias=False),
        # weight zero point (per-tensor: LiteRT applies it)
        _fc_model(rng, 45, 7, 2, (0.02, -7), 0.01, 13, (0.3, 5), "NONE", True),
        # power-of-two scales: exact halves
        _fc_model(rng, 64, 11, 1, (2.0**-4, 3), 2.0**-7, 0, (2.0**2, -10), "NONE", True),
        # a large multiplier (~1/8): LiteRT's double rounding and TFLite Micro's
        # fixed-point rounding disagree on ~10 % of these outputs
        _fc_model(rng, 8, 32, 8, (0.05, 3), 0.01, 0, (0.004, -4), "NONE", True,
                  weight_limit=2),
    ]


def _assert_matches_litert(model: bytes, board: str, tmp_path: Path, n_inputs: int = 2,
                           seed: int = 0) -> None:
    result = harness.compare_single_op(model, board=board, n_inputs=n_inputs, seed=seed,
                                       work_dir=tmp_path)
    assert result.outputs_compared > 0
    assert result.mismatched_bytes == 0, result.detail


PIPELINE_BOARDS = ["host", "qemu-m3", "qemu-m4", "qemu-m55"]


@pytest.mark.parametrize("board", board_params(PIPELINE_BOARDS))
def test_conv_and_fc_match_litert(board, tmp_path):
    rng = np.random.default_rng(2024)
    model = merge_models(_conv_cases(rng) + _fc_cases(rng))
    _assert_matches_litert(model, board, tmp_path)


def _dw_cases(rng: np.random.Generator) -> list[bytes]:
    """The depthwise kernel's paths: 3x3 runs and borders, channel tails, multipliers."""
    return [
        tb.depthwise_conv2d_model(rng, input_shape=(1, 6, 7, 9), depth_multiplier=1,
                                  kernel=(3, 3), stride=(1, 1), padding="SAME", dilation=(1, 1)),
        tb.depthwise_conv2d_model(rng, input_shape=(1, 7, 6, 20), depth_multiplier=1,
                                  kernel=(5, 3), stride=(2, 1), padding="VALID",
                                  dilation=(1, 1)),
        tb.depthwise_conv2d_model(rng, input_shape=(2, 5, 6, 3), depth_multiplier=4,
                                  kernel=(2, 3), stride=(1, 2), padding="SAME",
                                  dilation=(2, 1)),
    ]


@pytest.mark.parametrize("board", board_params(PIPELINE_BOARDS + ["qemu-m7"]))
def test_bias_at_the_int32_limits_wraps_as_litert(board, tmp_path):
    """LiteRT's int32 accumulator wraps when the bias and the taps' sum leave the int32
    range, and the result is the reference's bytes: every kernel (portable, DSP, Helium;
    conv, 1x1, depthwise, fully connected) adds the bias modulo 2^32 as well. The host
    build runs under UBSan, which fails the run on a signed overflow in C."""
    rng = np.random.default_rng(2031)
    models = _conv_cases(rng) + _dw_cases(rng) + _fc_cases(rng)
    model = tb.merge_models(models, "conv/dw/fc with biases at the int32 limits",
                            bias=bias_at_the_int32_limits(rng))
    _assert_matches_litert(model, board, tmp_path, n_inputs=3)


@pytest.mark.arm
@pytest.mark.parametrize("scratch", ["always", "never"])
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m55"])
def test_conv_with_and_without_im2col_scratch_matches_litert(board, scratch, monkeypatch,
                                                             tmp_path):
    """The planner grants tc_convolve_s8 its optional im2col scratch only where the arena
    has room; force each extreme. "always": every SIMD conv takes its im2col path.
    "never": every one reads its taps in place, whatever its channel count."""
    from tinyconv.ir.ops import Conv2D

    if scratch == "always":
        monkeypatch.setattr(Conv2D, "scratch_bytes",
                            lambda self, isa, inplace=False: self.fast_scratch_bytes(isa))
    else:
        monkeypatch.setattr(Conv2D, "fast_scratch_bytes", lambda self, isa: 0)
    model = merge_models(_conv_cases(np.random.default_rng(77)))
    _assert_matches_litert(model, board, tmp_path)


def _few_channel_cases(rng: np.random.Generator) -> list[bytes]:
    """First-layer shapes of tc_convolve_s8: 1-4 input channels (RGB stems, spectrograms),
    so K = kh * kw * cin rarely a multiple of 4 (the DSP im2col path's last, overlapping
    group of four), strides 1 and 2, SAME and VALID, dilation, K < 4 (the direct path)."""
    shapes = [  # cin, kernel, stride, padding, dilation
        (3, (3, 3), (2, 2), "SAME", (1, 1)),   # VWW / MobileNet stem
        (3, (3, 3), (1, 1), "SAME", (1, 1)),   # ResNet stem
        (1, (10, 4), (2, 2), "SAME", (1, 1)),  # DS-CNN
        (2, (3, 2), (1, 2), "VALID", (1, 1)),
        (4, (2, 3), (2, 1), "SAME", (2, 1)),
        (3, (3, 3), (1, 2), "SAME", (1, 2)),   # horizontal dilation: tap by tap
        (1, (3, 1), (1, 1), "SAME", (1, 1)),   # K = 3
        (3, (1, 1), (2, 2), "VALID", (1, 1)),  # 1x1 strided, K = 3
    ]
    cases = [tb.conv2d_model(rng, input_shape=(1, int(rng.integers(5, 13)),
                                               int(rng.integers(5, 13)), cin),
                             filters=int(rng.integers(1, 10)), kernel=kernel, stride=stride,
                             padding=padding, dilation=dilation, groups=1)
             for cin, kernel, stride, padding, dilation in shapes]
    # A tiny output scale: a left-shifting multiplier, so the general requantization
    # (tc_per_channel_quant_params.narrow = 0) where the others take the narrow one.
    cases.append(tb.conv2d_model(rng, input_shape=(1, 7, 9, 3), filters=5, kernel=(3, 3),
                                 stride=(2, 2), padding="SAME", dilation=(1, 1), groups=1,
                                 output_quant=(1e-4, 3)))
    return cases


# The scratch forced everywhere only on the SIMD boards: the portable kernel has none.
@pytest.mark.parametrize("board, scratch", [
    *[pytest.param(*p.values, "planned", id=f"{p.id}-planned", marks=p.marks)
      for p in board_params(["host", "qemu-m4", "qemu-m55"])],
    *[pytest.param(*p.values, "always", id=f"{p.id}-always", marks=p.marks)
      for p in board_params(["qemu-m4", "qemu-m55"])]])
def test_few_input_channel_convs_match_litert(board, scratch, monkeypatch, tmp_path):
    """The convolutions with few input channels, as the planner grants the im2col scratch
    and with it forced everywhere, both requantizations (checked below)."""
    from tinyconv.codegen.lowering import conv as conv_lowering
    from tinyconv.ir.ops import Conv2D

    if scratch == "always":
        monkeypatch.setattr(Conv2D, "scratch_bytes",
                            lambda self, isa, inplace=False: self.fast_scratch_bytes(isa))
    narrow_of = conv_lowering.narrow_requantization
    narrow = []
    monkeypatch.setattr(conv_lowering, "narrow_requantization",
                        lambda *args: narrow.append(narrow_of(*args)) or narrow[-1])
    _assert_matches_litert(merge_models(_few_channel_cases(np.random.default_rng(31))),
                           board, tmp_path)
    assert len(narrow) == 9 and True in narrow and False in narrow, narrow


@pytest.mark.arm
def test_fixed_point_lowering_matches_tflite_micro_end_to_end(tmp_path):
    """`match="tflm"` (the CLI's --match tflm) gives TFLite Micro's bytes on QEMU with the DSP
    kernels, and differs from LiteRT on the large-multiplier case: the two references really
    disagree, and each lowering matches its own."""
    from tinyconv import targets
    from tinyconv.verify import verify

    model = merge_models(_fc_cases(np.random.default_rng(11)))
    board = targets.get_board("qemu-m4")
    as_tflm = verify(model, board, n=2, count_instructions=False, compare_tflm=True,
                     work_dir=tmp_path / "tflm", match="tflm")
    assert as_tflm.outputs_compared > 500 and as_tflm.reference == "tflm"
    assert as_tflm.mismatched_bytes == 0 and as_tflm.tflm_mismatched_bytes == 0
    as_litert = verify(model, board, n=2, count_instructions=False, compare_tflm=True,
                       work_dir=tmp_path / "litert")
    assert as_litert.mismatched_bytes == 0
    assert as_litert.tflm_mismatched_bytes > 0  # the references disagree on these cases


def test_merged_model_is_the_sum_of_its_parts():
    """The merge used above changes nothing: LiteRT gives each part's outputs."""
    rng = np.random.default_rng(5)
    parts = _conv_cases(rng)[:2] + _fc_cases(rng)[:2]
    merged = merge_models(parts)
    from tinyconv.reference import random_inputs
    samples = random_inputs(merged, 1, 0)
    merged_out = litert_outputs(merged, samples)[0]
    for k, part in enumerate(parts):
        assert np.array_equal(litert_outputs(part, [[samples[0][k]]])[0][0], merged_out[k])


# CI runs a sample of the random sweep on every board (one build of 8 conv + 4 FC ops);
# the slow marker keeps the long sweep (three builds of 16 + 8) and adds Cortex-M7.
SWEEP = [pytest.param((1, 8, 4), id="sample"),
         pytest.param((3, 16, 8), id="sweep", marks=pytest.mark.slow)]


@pytest.mark.parametrize("size", SWEEP)
@pytest.mark.parametrize("board", board_params(PIPELINE_BOARDS)
                         + board_params(["qemu-m7"], slow=True))
def test_random_conv_and_fc_sweep_match_litert(board, size, tmp_path):
    """Random configurations from tflite_builder's own distributions."""
    batches, convs, fcs = size
    for batch in range(batches):
        rng = np.random.default_rng(100 + batch)
        models = []
        for _ in range(convs):
            models.append(tb.conv2d_model(rng, input_shape=None if rng.random() < 0.7 else (
                int(rng.integers(1, 3)), int(rng.integers(3, 14)), int(rng.integers(3, 14)),
                int(rng.integers(1, 5)) * 2), groups=None if rng.random() < 0.7 else 2,
                input_quant=(float(10 ** rng.uniform(-4, 1)), int(rng.integers(-128, 128)))))
        for _ in range(fcs):
            models.append(tb.fully_connected_model(rng, input_quant=(
                float(10 ** rng.uniform(-4, 1)), int(rng.integers(-128, 128)))))
        _assert_matches_litert(merge_models(models), board, tmp_path / f"b{batch}",
                               n_inputs=2, seed=batch)


@pytest.mark.slow
@pytest.mark.arm
@pytest.mark.parametrize("board", sorted(SIMD_BOARDS))
def test_simd_kernels_equal_portable_kernels_long(board, tmp_path):
    out = _simd_vs_reference(board, tmp_path, iterations=4000)
    assert "failures 0" in out, out


def test_f64_requantization_near_halves_at_every_exponent(host_lib):
    """The double requantization's 32-bit fast path (tc_fc_round_scaled_fast) and its
    hand-over to the exact routine: products a hair either side of k + 1/2 and exact halves,
    for scales from 2^-40 to 1/2 (every fast-path exponent, its edges and beyond), against
    round((double)acc * scale) computed on the rationals."""
    rng = np.random.default_rng(11)
    accs, scales = [], []
    for _ in range(6000):
        scale = 2.0 ** -float(rng.uniform(1.0, 31.5))
        limit = min(127, int(2**31 * scale - 0.5))  # |acc| < 2^31
        half = int(rng.integers(-limit - 1, limit)) + 0.5
        acc = int(round(half / scale))
        if acc == 0 or abs(acc) >= 2**31:
            continue
        near = half / acc  # acc * near is within an ulp of the half, often exactly it
        for s in (near, float(np.nextafter(near, 0.0)), float(np.nextafter(near, 1.0)), scale):
            accs.append(acc)
            scales.append(abs(s))
    for s in (2.0**-32, 2.0**-33, 2.0**-31, 0.25, 0.125):  # the fast path's edges
        for acc in (-2**31, 2**31 - 1, -2**30, 2**30 + 1, 3, -5):
            for t in (s, float(np.nextafter(s, 0.0)), float(np.nextafter(s, 1.0))):
                accs.append(acc)
                scales.append(t)
    _, exponent = _assert_f64_kernel_rounds(host_lib, accs, scales)
    fast_exponents = set(range(55, 86))
    assert fast_exponents <= set(exponent.tolist()) and exponent.min() < 55 < 86 <= exponent.max()
    ties = sum(abs(float(a) * s) % 1.0 == 0.5 for a, s in zip(accs, scales))
    assert ties > 1000  # double products exactly on a half


@pytest.mark.parametrize("board", board_params(["qemu-m4", "qemu-m55"]))
def test_fc_unit_groups_and_depth_tails_match_litert(board, tmp_path):
    """The SIMD fully connected loops' shapes: 1 to 9 units (two-row and four-row passes, a
    last group that overlaps the one before, the 32-unit requantization batches), depths
    with an odd number of words, a byte tail, under one vector and over two."""
    rng = np.random.default_rng(31)
    models = [_fc_model(rng, depth, units, batches, (0.03, int(rng.integers(-128, 128))),
                        0.004, 0, (0.05, int(rng.integers(-20, 20))), "NONE", True)
              for depth, units, batches in [(4, 1, 2), (7, 2, 1), (12, 3, 2), (21, 4, 1),
                                            (36, 5, 1), (13, 6, 2), (40, 9, 1), (3, 37, 1)]]
    _assert_matches_litert(merge_models(models), board, tmp_path, n_inputs=3)


def test_pointwise_input_offset_is_folded_into_the_bias_without_extra_flash():
    """A 1x1 convolution's input zero point goes into its bias at export (the kernel runs
    with input_offset 0): bias' = bias - x_zp * sum(w) in int32, the op's own bias array
    replaced, so the constants are exactly the filter, the folded bias and the per-channel
    multipliers and shifts."""
    from tinyconv.deploy import prepare
    from tinyconv.ir.tflite_import import import_tflite
    from tinyconv.targets import get_board

    model = tb.conv2d_model(np.random.default_rng(5), input_shape=(1, 4, 4, 24), filters=7,
                            kernel=(1, 1), stride=(1, 1), padding="VALID", dilation=(1, 1),
                            groups=1, input_quant=(0.05, -17))
    graph = import_tflite(model)
    (op,) = graph.ops
    assert op.is_pointwise and op.bias is not None and op.x.quant.zp == -17
    source = prepare(graph, get_board("qemu-m7"), sram=1 << 30, flash=1 << 30).source
    assert source.weights_bytes == op.filter.nbytes + 3 * 4 * 7  # bias', multipliers, shifts
    (folded,) = [a for a in source.arrays if "_bias" in a.name]
    sums = op.filter.data.astype(np.int64).reshape(7, -1).sum(axis=1)
    assert folded.values.tolist() == (op.bias.data + 17 * sums).tolist()
    assert any(".input_offset = 0" in p.init for p in source.params)
