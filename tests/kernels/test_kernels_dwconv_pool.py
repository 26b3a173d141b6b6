"""Depthwise convolution (also in place), pooling, MEAN, PAD, CONCATENATION, TRANSPOSE,
RESHAPE/SQUEEZE: kernels in firmware/kernels/{dwconv,pool,shape} and their lowering
(tinyconv/codegen/lowering/dwconv_pool.py).

1. The whole pipeline against LiteRT BUILTIN_REF: one "battery" model holds every code
   path side by side (SIMD channel blocks and tails, 3x3 fast path, strides, dilations,
   paddings, batches, depth multipliers, in-place and out-of-place depthwise, DSP window
   limits of average pooling, every MEAN axis set with equal and different quantization,
   PAD/PADV2, concatenation on every axis, 1-5D transposes) and runs on the host under
   ASan/UBSan, on qemu-m3 (portable C), qemu-m4 (DSP) and qemu-m55 (Helium). One sample
   is made of extreme codes (-128/127 only) to push the accumulators to their limits.
2. Host, ctypes on the portable kernels (UBSan): the in-place depthwise kernel against
   the out-of-place one on exactly sized, guarded buffers; requantizing concatenation
   (which LiteRT's int8 kernel refuses) against a float32 rendition of TFLite's
   ConcatenationWithScaling; argument checks.
3. Random models from tests/support/tflite_builder.py on every board (CI: one small
   sample; slow: the long sweep), and the portable kernels (-DTC_REFERENCE_KERNELS) on the
   SIMD boards.
"""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest

import tflite_builder as tb
from battery import Battery, check_battery
from harness import board_params
from kernel_abi import KERNELS, Act, Context, Dims, PerChannelQuant, Tile, host_library
from tflite_builder import ModelBuilder, schema
from tinyconv import deploy, firmware, targets
from tinyconv.codegen.lowering.dwconv_pool import concat_input_quant
from tinyconv.errors import TinyconvError
from tinyconv.ir.ops import DepthwiseConv2D, Isa
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.planner import plan_memory
from tinyconv.quant import quantize_multiplier
from tinyconv.verify import samples_to_bytes, split_outputs, verify

SOURCES = sorted(p for d in ("dwconv", "pool", "shape") for p in (KERNELS / d).glob("*.c"))
FAST_BOARDS = board_params(["host", "qemu-m3", "qemu-m4", "qemu-m55"])
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]
PADDINGS = {"SAME": schema.Padding.SAME, "VALID": schema.Padding.VALID}


# -- 1. the battery model ---------------------------------------------------------------------

def _out_size(size: int, kernel: int, stride: int, dilation: int, padding: str) -> int:
    effective = (kernel - 1) * dilation + 1
    return (size + stride - 1) // stride if padding == "SAME" else \
        (size - effective + stride) // stride


def _battery_feed(shape, saturating: bool):
    """Uniform random codes, except sample 1: only -128 and 127 (accumulator limits); a
    saturating input is all -128 in sample 1 and all 127 in sample 2."""
    shape = tuple(shape)

    def feed(rng, k):
        if saturating and k in (1, 2):
            return np.full(shape, -128 if k == 1 else 127, np.int8)
        if k == 1:
            return rng.choice(np.array([-128, 127], np.int8), size=shape)
        return rng.integers(-128, 128, size=shape, dtype=np.int8)
    return feed


class DwPoolBattery(Battery):
    """Many independent small int8 ops in one model: one firmware build checks them all.
    Quantizations and weights are drawn from the seed; check it with n=3 samples (sample
    1 is made of extreme codes, see _battery_feed)."""

    def __init__(self, seed: int):
        self.rng = np.random.default_rng(seed)
        super().__init__(f"dwconv/pool battery {seed}")

    # tensors
    def quant(self) -> tuple[float, int]:
        return (float(np.float32(10 ** self.rng.uniform(-3, 0))),
                int(self.rng.integers(-128, 128)))

    def input(self, shape, quant=None, saturating: bool = False) -> int:
        return super().input(shape, "int8", quant or self.quant(),
                             _battery_feed(shape, saturating))

    def output(self, shape, quant) -> int:
        return super().output(shape, "int8", quant)

    def q_of(self, t: int) -> tuple[float, int]:
        q = self.b.tensors[t].quantization
        return q.scale[0], q.zeroPoint[0]

    # ops
    def depthwise(self, x: int, kernel=(3, 3), stride=(1, 1), padding="SAME", dilation=(1, 1),
                  mult=1, activation="NONE", per_channel=True, bias=True,
                  gain: float | None = None) -> int:
        """`gain`: the output scale set to input scale * mean weight scale / gain (an
        effective scale near `gain`; from 1/2 up no right shift: not narrow)."""
        n, h, w, c = self.b.tensors[x].shape
        cout = c * mult
        s_in, zp_in = self.q_of(x)
        rng = self.rng
        weights = rng.integers(-127, 128, size=(1, *kernel, cout)).astype(np.int8)
        w_scales = np.float32(10 ** rng.uniform(-3, -1, size=cout if per_channel else 1))
        wt = self.b.const(weights, scale=w_scales, zero_point=[0] * len(w_scales),
                          quantized_dimension=3)
        # Accumulator spread: sqrt(taps) * |input - zp| * |weight|, in real units.
        real_std = math.sqrt(kernel[0] * kernel[1]) * math.hypot(74, zp_in) * 73 * s_in * float(
            np.mean(w_scales))
        operands = [x, wt]
        if bias:
            b_scales = np.float32(s_in) * np.broadcast_to(w_scales, (cout,))
            b_q = np.round(rng.normal(0, real_std, cout) / b_scales).astype(np.int32)
            operands.append(self.b.const(b_q, scale=b_scales if per_channel else b_scales[:1],
                                         zero_point=[0] * (cout if per_channel else 1)))
        oh = _out_size(h, kernel[0], stride[0], dilation[0], padding)
        ow = _out_size(w, kernel[1], stride[1], dilation[1], padding)
        out_scale = real_std / 40 if gain is None else s_in * float(np.mean(w_scales)) / gain
        y = self.output((n, oh, ow, cout), (float(np.float32(out_scale)),
                                            int(rng.integers(-60, 61))))
        self.b.op("DEPTHWISE_CONV_2D", operands, [y], schema.DepthwiseConv2DOptionsT(
            padding=PADDINGS[padding], strideH=stride[0], strideW=stride[1],
            depthMultiplier=mult, dilationHFactor=dilation[0], dilationWFactor=dilation[1],
            fusedActivationFunction=tb.ACTIVATIONS[activation]))
        return y

    def pool(self, kind: str, x: int, pool, stride=(1, 1), padding="VALID",
             activation="NONE") -> int:
        n, h, w, c = self.b.tensors[x].shape
        y = self.output((n, _out_size(h, pool[0], stride[0], 1, padding),
                         _out_size(w, pool[1], stride[1], 1, padding), c), self.q_of(x))
        self.b.op(kind, [x], [y], schema.Pool2DOptionsT(
            padding=PADDINGS[padding], strideH=stride[0], strideW=stride[1],
            filterHeight=pool[0], filterWidth=pool[1],
            fusedActivationFunction=tb.ACTIVATIONS[activation]))
        return y

    def mean(self, x: int, axes, keep_dims: bool, out_quant=None) -> int:
        shape = self.b.tensors[x].shape
        rank = len(shape)
        reduced = {a % rank for a in axes}
        out = [1 if i in reduced else d for i, d in enumerate(shape)] if keep_dims else \
            [d for i, d in enumerate(shape) if i not in reduced]
        y = self.output(out, out_quant or self.q_of(x))
        ax = self.b.const(np.array(axes, np.int32))
        self.b.op("MEAN", [x, ax], [y], schema.ReducerOptionsT(keepDims=keep_dims))
        return y

    def pad(self, x: int, paddings, constant: int | None = None) -> int:
        shape = self.b.tensors[x].shape
        out = [d + a + b for d, (a, b) in zip(shape, paddings)]
        y = self.output(out, self.q_of(x))
        p = self.b.const(np.array(paddings, np.int32))
        if constant is None:
            self.b.op("PAD", [x, p], [y], schema.PadOptionsT())
        else:
            cv = self.b.tensor((1,), "int8", *self.q_of(x), data=np.array([constant], np.int8))
            self.b.op("PADV2", [x, p, cv], [y], schema.PadV2OptionsT())
        return y

    def concat(self, shapes, axis: int) -> int:
        q = self.quant()
        xs = [self.input(s, q) for s in shapes]
        rank = len(shapes[0])
        out = list(shapes[0])
        out[axis % rank] = sum(s[axis % rank] for s in shapes)
        y = self.output(out, q)
        self.b.op("CONCATENATION", xs, [y], schema.ConcatenationOptionsT(axis=axis))
        return y

    def transpose(self, x: int, perm) -> int:
        shape = self.b.tensors[x].shape
        y = self.output([shape[p] for p in perm], self.q_of(x))
        p = self.b.const(np.array(perm, np.int32))
        self.b.op("TRANSPOSE", [x, p], [y], schema.TransposeOptionsT())
        return y

    def reshape(self, x: int, new_shape) -> int:
        y = self.output(new_shape, self.q_of(x))
        s = self.b.const(np.array(new_shape, np.int32))
        self.b.op("RESHAPE", [x, s], [y], schema.ReshapeOptionsT(newShape=list(new_shape)))
        return y


def depthwise_battery(bat: DwPoolBattery) -> None:
    r = bat.rng
    for c in (4, 16, 19, 37):  # one DSP word / MVE vector, and tails after both
        bat.depthwise(bat.input((1, 6, 7, c)), activation=str(r.choice(ACTIVATIONS)))
    bat.depthwise(bat.input((1, 9, 8, 3)), stride=(2, 2))  # fewer channels than a block
    bat.depthwise(bat.input((1, 9, 10, 21)), kernel=(3, 3), stride=(2, 2), padding="VALID",
                  activation="RELU6")
    bat.depthwise(bat.input((1, 9, 9, 8)), kernel=(5, 5), dilation=(2, 2), padding="SAME",
                  per_channel=False, bias=False)
    bat.depthwise(bat.input((1, 7, 11, 17)), kernel=(2, 5), stride=(1, 2), dilation=(2, 1),
                  padding="VALID")
    bat.depthwise(bat.input((1, 4, 5, 12)), kernel=(1, 1))
    bat.depthwise(bat.input((2, 5, 6, 20)), kernel=(3, 3), activation="RELU")  # batches
    bat.depthwise(bat.input((1, 6, 6, 5)), mult=2, stride=(2, 1))  # depth multipliers
    bat.depthwise(bat.input((2, 5, 4, 3)), mult=3, kernel=(3, 2), padding="VALID", bias=False)
    bat.depthwise(bat.input((1, 5, 5, 18), (0.02, -128)), activation="RELU_N1_TO_1")
    bat.depthwise(bat.input((1, 5, 5, 18), (0.5, 127)))
    # Depth multipliers 4 and 8 (four output channels of one input channel), micro_speech's
    # 10x8 stride-2 kernel on one channel, and the general requantization (not narrow).
    bat.depthwise(bat.input((1, 13, 12, 1)), kernel=(10, 8), stride=(2, 2), mult=8,
                  activation="RELU")
    bat.depthwise(bat.input((1, 7, 6, 3)), mult=4, stride=(2, 1), activation="RELU6")
    bat.depthwise(bat.input((1, 6, 7, 8)), gain=0.8)
    bat.depthwise(bat.input((1, 5, 6, 2)), kernel=(2, 3), mult=8, gain=3.0, padding="VALID")
    for _ in range(4):  # random kernels, strides and multipliers
        kh, kw = (int(v) for v in r.choice([1, 2, 3, 5, 8, 10], size=2))
        sh, sw = (int(v) for v in r.integers(1, 4, size=2))
        mult = int(r.integers(1, 9))
        c = int(r.integers(1, 6)) if mult > 1 else int(r.integers(1, 12))
        bat.depthwise(bat.input((1, int(r.integers(kh, kh + 6)), int(r.integers(kw, kw + 6)), c)),
                      kernel=(kh, kw), stride=(sh, sw), mult=mult,
                      padding=str(r.choice(["SAME", "VALID"])),
                      activation=str(r.choice(ACTIVATIONS)))
    # One input read by two depthwise ops: the first cannot run in place (the second
    # still needs its input), the second can.
    shared = bat.input((1, 8, 8, 24))
    bat.depthwise(shared, kernel=(3, 3), stride=(1, 1))
    bat.depthwise(shared, kernel=(3, 3), stride=(2, 2), padding="SAME")


def pool_battery(bat: DwPoolBattery) -> None:
    r = bat.rng
    for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        bat.pool(kind, bat.input((1, 7, 9, 21)), (3, 3), (2, 2), "SAME",
                 str(r.choice(ACTIVATIONS)))
        bat.pool(kind, bat.input((2, 6, 5, 4)), (2, 3), (1, 2), "VALID", "RELU")
        bat.pool(kind, bat.input((1, 5, 5, 3)), (5, 5), (1, 1), "SAME")  # clipped windows
        bat.pool(kind, bat.input((1, 8, 8, 35), (0.05, -128)), (2, 2), (2, 2), "VALID", "RELU6")
    # Global average pools: 256 elements is the DSP 16-bit lane limit; 289 falls back.
    bat.pool("AVERAGE_POOL_2D", bat.input((1, 16, 16, 8), saturating=True), (16, 16))
    bat.pool("AVERAGE_POOL_2D", bat.input((1, 17, 17, 8), saturating=True), (17, 17))
    bat.pool("AVERAGE_POOL_2D", bat.input((1, 17, 17, 8)), (17, 17))


def mean_battery(bat: DwPoolBattery) -> None:
    # LiteRT 2.3 computes every int8 MEAN with QuantizedMeanOrSum's multiplier; the
    # older truncating path for equal quantization would differ on these.
    for axes, keep in (([1, 2], True), ([1, 2], False), ([2, 1], True), ([3], False),
                       ([0, 3], True), ([1], False), ([-1, 1], True), ([0, 1, 2, 3], False)):
        x = bat.input((2, 5, 6, 7))
        bat.mean(x, axes, keep)
        bat.mean(x, axes, keep, bat.quant())
    bat.mean(bat.input((3, 10)), [1], False, bat.quant())  # 2D
    bat.mean(bat.input((4, 3, 9)), [0, 2], True, bat.quant())  # 3D
    # Shifts at the edges: a large count with a small scale ratio, a scale ratio above 1
    # (positive shift), and a ratio so tiny (~2^-23) that LiteRT caps the count's extra
    # shift at 31 + shift (count 576 wants 9 bits, the cap allows 8).
    x = bat.input((1, 24, 24, 3), (1e-3, 5))
    bat.mean(x, [1, 2], True, (30.0, -3))
    bat.mean(x, [1, 2], False, (1e-5, 7))
    bat.mean(x, [1, 2], True, (1e4, -3))
    # A power-of-two count (64: the multiplier is exact, only the shift drops) and a
    # count of 1 (reducing axes of extent 1: the plain scale ratio).
    bat.mean(bat.input((1, 8, 8, 5)), [1, 2], True, bat.quant())
    bat.mean(bat.input((1, 1, 1, 6)), [1, 2], False, bat.quant())


def shape_battery(bat: DwPoolBattery) -> None:
    r = bat.rng
    bat.pad(bat.input((1, 4, 5, 3)), [[0, 0], [1, 2], [2, 1], [0, 0]])
    bat.pad(bat.input((2, 3, 3, 5)), [[1, 1], [0, 2], [1, 0], [3, 2]], int(r.integers(-128, 128)))
    bat.pad(bat.input((3, 7)), [[2, 0], [1, 3]])
    bat.pad(bat.input((6,)), [[4, 5]], -128)
    bat.pad(bat.input((2, 3, 4)), [[0, 1], [2, 0], [1, 1]], 127)
    for rank in (1, 2, 3, 4):
        base = [int(d) for d in r.integers(1, 5, size=rank)]
        for axis in range(-rank, rank):
            shapes = []
            for _ in range(int(r.integers(2, 5))):
                s = list(base)
                s[axis] = int(r.integers(1, 4))
                shapes.append(s)
            bat.concat(shapes, axis)
    bat.transpose(bat.input((1, 3, 4, 2, 6)), [0, 1, 2, 4, 3])  # channel shuffle
    bat.transpose(bat.input((2, 3, 4, 5, 2)), [4, 2, 0, 3, 1])
    bat.transpose(bat.input((3, 4, 5, 6)), [2, 0, 1, 3])  # last dimension stays: row copies
    bat.transpose(bat.input((3, 4, 5)), [2, 0, 1])
    bat.transpose(bat.input((5, 7)), [1, 0])
    bat.transpose(bat.input((9,)), [0])
    x = bat.input((1, 4, 6, 8))
    bat.reshape(x, (1, 24, 8))


def full_battery(seed: int) -> DwPoolBattery:
    bat = DwPoolBattery(seed)
    depthwise_battery(bat)
    pool_battery(bat)
    mean_battery(bat)
    shape_battery(bat)
    return bat


@pytest.mark.parametrize("board", FAST_BOARDS)
def test_battery_matches_litert(board, tmp_path):
    check_battery(full_battery(seed=1), board, n=3, work_dir=tmp_path)


def test_battery_runs_depthwise_both_in_place_and_not():
    """The battery above really exercises both depthwise kernels on every ISA."""
    graph = import_tflite(full_battery(seed=1).model(), source="battery")
    for isa in Isa:
        plan = plan_memory(graph, isa)
        dws = [op for op in graph.ops if isinstance(op, DepthwiseConv2D)]
        in_place = [op for op in dws if op.index in plan.inplace_ops]
        assert 0 < len(in_place) < len(dws), (isa, plan.strategy)


# -- 2. host: ctypes on the portable kernels ------------------------------------------------

class DwParams(ctypes.Structure):
    _fields_ = [("input_offset", ctypes.c_int32), ("output_offset", ctypes.c_int32),
                ("ch_mult", ctypes.c_int32), ("stride", Tile), ("padding", Tile),
                ("dilation", Tile), ("activation", Act)]


class ConcatInput(ctypes.Structure):
    _fields_ = [("copy_size", ctypes.c_int32), ("requantize", ctypes.c_int32),
                ("scale", ctypes.c_float), ("bias", ctypes.c_float)]


class ConcatParams(ctypes.Structure):
    _fields_ = [("num_inputs", ctypes.c_int32), ("outer_size", ctypes.c_int32),
                ("output_offset", ctypes.c_int32), ("activation", Act)]


class TransposeParams(ctypes.Structure):
    _fields_ = [("input_shape", ctypes.c_int32 * 5), ("perm", ctypes.c_int32 * 5)]


class PadParams(ctypes.Structure):
    _fields_ = [("before", Dims), ("pad_value", ctypes.c_int32)]


I8P = ctypes.POINTER(ctypes.c_int8)


def _ptr(a: np.ndarray, ctype=ctypes.c_int8):
    return a.ctypes.data_as(ctypes.POINTER(ctype))


@pytest.fixture(scope="module")
def host_lib(tmp_path_factory) -> ctypes.CDLL:
    """The portable kernels as a shared library; UBSan aborts on undefined behaviour."""
    return host_library(SOURCES, tmp_path_factory.mktemp("dwconv_host") / "libtcdwconv.so")


GUARD = 64  # bytes of a known pattern after each buffer: any overrun changes them


def _guarded(size: int, fill: np.ndarray | None = None) -> np.ndarray:
    buf = np.full(size + GUARD, 0x5A, np.uint8).view(np.int8)
    if fill is not None:
        buf[:size] = fill.reshape(-1)
    return buf


def _guard_intact(buf: np.ndarray, size: int) -> bool:
    return bool(np.all(buf[size:].view(np.uint8) == 0x5A))


def _depthwise_case(rng: np.random.Generator):
    h, w, c = (int(v) for v in rng.integers(1, 12, size=3))
    c = int(rng.choice([c, 4, 16, 3, 33]))
    kh, kw = (int(v) for v in rng.integers(1, 6, size=2))
    sh, sw = (int(v) for v in rng.integers(1, 4, size=2))
    dh, dw = (int(v) for v in rng.integers(1, 3, size=2))
    same = bool(rng.random() < 0.6)
    eh, ew = (kh - 1) * dh + 1, (kw - 1) * dw + 1
    if not same:
        h, w = max(h, eh), max(w, ew)
    oh = (h + sh - 1) // sh if same else (h - eh + sh) // sh
    ow = (w + sw - 1) // sw if same else (w - ew + sw) // sw
    pad_h = max(((oh - 1) * sh + eh - h) // 2, 0)
    pad_w = max(((ow - 1) * sw + ew - w) // 2, 0)
    mults, shifts = zip(*(quantize_multiplier(float(10 ** rng.uniform(-4, -1)))
                          for _ in range(c)))
    lo = int(rng.integers(-128, 0))
    params = DwParams(int(rng.integers(-127, 129)), int(rng.integers(-128, 128)), 1,
                      Tile(sh, sw), Tile(pad_h, pad_w), Tile(dh, dw), Act(lo, 127))
    return dict(
        params=params, in_dims=Dims(1, h, w, c), out_dims=Dims(1, oh, ow, c),
        filter_dims=Dims(1, kh, kw, c), bias_dims=Dims(1, 1, 1, c),
        x=rng.integers(-128, 128, size=(h, w, c), dtype=np.int8),
        filt=rng.integers(-127, 128, size=(kh, kw, c), dtype=np.int8),
        bias=rng.integers(-20000, 20000, size=c).astype(np.int32) if rng.random() < 0.7
        else None,
        mult=np.array(mults, np.int32), shift=np.array(shifts, np.int32))


def test_inplace_depthwise_equals_out_of_place_on_exact_buffers(host_lib):
    """In place (output over the input, scratch of exactly get_buffer_size bytes) gives
    the out-of-place kernel's bytes and writes nothing outside either buffer."""
    rng = np.random.default_rng(7)
    host_lib.tc_depthwise_conv_inplace_s8_get_buffer_size.restype = ctypes.c_int32
    for _ in range(150):
        case = _depthwise_case(rng)
        in_dims, out_dims = case["in_dims"], case["out_dims"]
        quant = PerChannelQuant(_ptr(case["mult"], ctypes.c_int32),
                                _ptr(case["shift"], ctypes.c_int32))
        bias = None if case["bias"] is None else _ptr(case["bias"], ctypes.c_int32)
        out_size = out_dims.h * out_dims.w * out_dims.c
        expected = _guarded(out_size)
        no_scratch = Context(None, 0)
        assert host_lib.tc_depthwise_conv_s8(
            ctypes.byref(no_scratch), ctypes.byref(case["params"]), ctypes.byref(quant),
            ctypes.byref(in_dims), _ptr(case["x"]), ctypes.byref(case["filter_dims"]),
            _ptr(case["filt"]), ctypes.byref(case["bias_dims"]), bias,
            ctypes.byref(out_dims), _ptr(expected)) == 0
        assert _guard_intact(expected, out_size)

        scratch_size = host_lib.tc_depthwise_conv_inplace_s8_get_buffer_size(
            ctypes.byref(out_dims))
        assert scratch_size == out_dims.h * out_dims.w * min(out_dims.c, 4)
        scratch = _guarded(scratch_size)
        in_size = case["x"].size
        buf = _guarded(in_size, case["x"])
        ctx = Context(scratch.ctypes.data, scratch_size)
        assert host_lib.tc_depthwise_conv_inplace_s8(
            ctypes.byref(ctx), ctypes.byref(case["params"]), ctypes.byref(quant),
            ctypes.byref(in_dims), _ptr(buf), ctypes.byref(case["filter_dims"]),
            _ptr(case["filt"]), ctypes.byref(case["bias_dims"]), bias,
            ctypes.byref(out_dims), _ptr(buf)) == 0
        assert _guard_intact(buf, in_size) and _guard_intact(scratch, scratch_size)
        assert np.array_equal(buf[:out_size], expected[:out_size])


def _round_half_away(v: np.ndarray) -> np.ndarray:
    v = v.astype(np.float64)  # exact copies of the float32 values
    return (np.sign(v) * np.floor(np.abs(v) + 0.5)).astype(np.int64)


def _concat_with_scaling(x: np.ndarray, in_q, out_q, act) -> np.ndarray:
    """TFLite's ConcatenationWithScaling for one input, in float32 as its C++ does."""
    scale, bias = concat_input_quant(in_q[0], in_q[1], out_q[0])
    # The same float32 steps, derived here independently of the lowering's helper.
    inv = np.float32(1.0) / np.float32(out_q[0])
    assert np.float32(scale) == np.float32(in_q[0]) * inv
    assert np.float32(bias) == np.float32(-in_q[1]) * np.float32(scale)
    v = x.astype(np.float32) * np.float32(scale) + np.float32(bias)
    return np.clip(_round_half_away(v) + out_q[1], *act).astype(np.int8)


def test_requantizing_concatenation_matches_tflite_float_rendition(host_lib):
    """LiteRT refuses int8 inputs quantized unlike the output; tinyconv rescales them as
    TFLite's (uint8) ConcatenationWithScaling does, and clamps a fused activation."""
    rng = np.random.default_rng(3)
    for trial in range(60):
        n_in = int(rng.integers(1, 5))
        outer, inner = int(rng.integers(1, 5)), int(rng.integers(1, 6))
        out_q = (float(np.float32(10 ** rng.uniform(-3, 0))), int(rng.integers(-128, 128)))
        act = (-128, 127) if trial % 3 else tuple(sorted(rng.integers(-128, 128, size=2)))
        xs, infos, expected = [], [], []
        for _ in range(n_in):
            axis_len = int(rng.integers(1, 4))
            x = rng.integers(-128, 128, size=(outer, axis_len * inner), dtype=np.int8)
            if rng.random() < 0.3:
                in_q = out_q
                infos.append(ConcatInput(axis_len * inner, 0, 1.0, 0.0))
                expected.append(np.clip(x, *act))
            else:
                # Ties: a scale ratio of exactly 1/2 or 1/4 puts many values on .5.
                ratio = float(rng.choice([0.5, 0.25, 10 ** rng.uniform(-1.5, 1.5)]))
                in_q = (float(np.float32(out_q[0] * ratio)), int(rng.integers(-128, 128)))
                scale, bias = concat_input_quant(in_q[0], in_q[1], out_q[0])
                infos.append(ConcatInput(axis_len * inner, 1, scale, bias))
                expected.append(_concat_with_scaling(x, in_q, out_q, act))
            xs.append(x)
        want = np.concatenate(expected, axis=1).reshape(-1)
        out = _guarded(want.size)
        pointers = (I8P * n_in)(*[_ptr(x) for x in xs])
        params = ConcatParams(n_in, outer, out_q[1], Act(*map(int, act)))
        assert host_lib.tc_concatenation_s8(ctypes.byref(params), (ConcatInput * n_in)(*infos),
                                            pointers, _ptr(out)) == 0
        assert _guard_intact(out, want.size)
        assert np.array_equal(out[:want.size], want), trial


def test_transpose_matches_numpy_for_every_permutation_of_5d(host_lib):
    import itertools
    rng = np.random.default_rng(4)
    shape = (2, 3, 1, 4, 5)
    x = rng.integers(-128, 128, size=shape, dtype=np.int8)
    for perm in itertools.permutations(range(5)):
        want = np.ascontiguousarray(np.transpose(x, perm)).reshape(-1)
        out = _guarded(want.size)
        params = TransposeParams((ctypes.c_int32 * 5)(*shape), (ctypes.c_int32 * 5)(*perm))
        assert host_lib.tc_transpose_s8(ctypes.byref(params), _ptr(x), _ptr(out)) == 0
        assert _guard_intact(out, want.size) and np.array_equal(out[:want.size], want), perm


def test_kernels_reject_inconsistent_arguments(host_lib):
    x = np.zeros(4 * 4 * 8, np.int8)
    out = np.zeros(4 * 4 * 16, np.int8)
    mult = np.full(16, 1 << 30, np.int32)
    shift = np.zeros(16, np.int32)
    quant = PerChannelQuant(_ptr(mult, ctypes.c_int32), _ptr(shift, ctypes.c_int32))
    scratch = np.zeros(256, np.int8)
    ctx = Context(scratch.ctypes.data, 256)
    in_dims, f_dims = Dims(1, 4, 4, 8), Dims(1, 3, 3, 16)

    def dw(fn, params, out_dims, context=ctx):
        return getattr(host_lib, fn)(
            ctypes.byref(context), ctypes.byref(params), ctypes.byref(quant),
            ctypes.byref(in_dims), _ptr(x), ctypes.byref(f_dims), _ptr(out),
            ctypes.byref(Dims(1, 1, 1, 16)), None, ctypes.byref(out_dims), _ptr(out))

    def dw_params(mult):
        return DwParams(0, 0, mult, Tile(1, 1), Tile(1, 1), Tile(1, 1), Act(-128, 127))

    err = -1
    assert dw("tc_depthwise_conv_s8", dw_params(2), Dims(1, 4, 4, 16)) == 0
    assert dw("tc_depthwise_conv_s8", dw_params(3), Dims(1, 4, 4, 16)) == err  # 8 * 3 != 16
    assert dw("tc_depthwise_conv_s8", dw_params(2), Dims(2, 4, 4, 16)) == err  # batches
    # In place needs depth multiplier 1 and enough scratch.
    assert dw("tc_depthwise_conv_inplace_s8", dw_params(2), Dims(1, 4, 4, 16)) == err
    f_dims = Dims(1, 3, 3, 8)
    assert dw("tc_depthwise_conv_inplace_s8", dw_params(1), Dims(1, 4, 4, 8)) == 0
    assert dw("tc_depthwise_conv_inplace_s8", dw_params(1), Dims(1, 4, 4, 8),
              Context(scratch.ctypes.data, 4 * 4 * 4 - 1)) == err
    assert dw("tc_depthwise_conv_inplace_s8", dw_params(1), Dims(1, 4, 4, 8),
              Context(None, 0)) == err

    bad_perm = TransposeParams((ctypes.c_int32 * 5)(1, 1, 1, 2, 2),
                               (ctypes.c_int32 * 5)(0, 1, 2, 3, 3))
    assert host_lib.tc_transpose_s8(ctypes.byref(bad_perm), _ptr(x), _ptr(out)) == err
    pad = PadParams(Dims(0, 1, 0, 0), 0)
    assert host_lib.tc_pad_s8(ctypes.byref(pad), ctypes.byref(Dims(1, 2, 2, 2)), _ptr(x),
                              ctypes.byref(Dims(1, 2, 2, 2)), _ptr(out)) == err


# -- lowering: what is not supported is said clearly ---------------------------------------

def test_unsupported_cases_name_the_op():
    """A 5-D PAD: refused with the op named, by the importer's checks or the lowering."""
    from tinyconv.codegen import emit
    b = ModelBuilder("pad 5d")
    x = b.tensor((1, 2, 2, 2, 2), "int8", 0.1, 0)
    p = b.const(np.ones((5, 2), np.int32))
    y = b.tensor((3, 4, 4, 4, 4), "int8", 0.1, 0)
    b.op("PAD", [x, p], [y], schema.PadOptionsT())
    with pytest.raises(TinyconvError, match=r"PAD.*(5 dimensions|rank 1 to 4)"):
        graph = import_tflite(b.build([x], [y]), source="pad5d")
        emit.generate(graph, plan_memory(graph))


# -- the same through the pipeline, for what LiteRT cannot check ----------------------------

def test_requantizing_concatenation_end_to_end_on_host(tmp_path):
    """The lowering's scale/bias reach the generated C intact (no LiteRT oracle here)."""
    rng = np.random.default_rng(9)
    model = tb.concatenation_model(rng, shapes=[(1, 3, 4, 5), (1, 3, 4, 2), (1, 3, 4, 3)],
                                   axis=3, same_quant=False)
    graph = import_tflite(model, source="concat")
    board = targets.get_board("host")
    deployment = deploy.prepare(graph, board)
    deploy.write_model_dir(deployment, tmp_path / "model")
    built = firmware.build(tmp_path / "model", board, tmp_path / "build")
    samples = [[rng.integers(-128, 128, size=t.shape, dtype=np.int8) for t in graph.inputs]
               for _ in range(2)]
    ours = split_outputs(firmware.run(built, samples_to_bytes(samples), 2).outputs, graph, 2)
    y = graph.outputs[0]
    out_q = (y.quant.s, y.quant.zp)
    for sample, (got,) in zip(samples, ours):
        parts = []
        for x, t in zip(sample, graph.inputs):
            q = (t.quant.s, t.quant.zp)
            parts.append(x if q == out_q else _concat_with_scaling(x, q, out_q, (-128, 127)))
        assert np.array_equal(got, np.concatenate(parts, axis=3))


# -- 3. random sweeps, and the portable kernels on SIMD boards -----------------------------

SWEEP_BUILDERS = ["depthwise_conv2d_model", "average_pool2d_model", "max_pool2d_model",
                  "mean_model", "pad_model", "concatenation_model", "transpose_model",
                  "reshape_model", "squeeze_model"]


def _merged_random_model(seed: int, per_builder: int) -> bytes:
    """Random single-op models from the shared builders, merged side by side."""
    rng = np.random.default_rng(seed)
    return tb.merge_models([getattr(tb, name)(rng) for name in SWEEP_BUILDERS
                            for _ in range(per_builder)], f"dwconv/pool sweep {seed}")


# CI: one seed, two models per builder; slow: three seeds of six, and Cortex-M7.
SWEEP = [pytest.param((21, 2), id="sample")] + [
    pytest.param((seed, 6), id=f"sweep{seed}", marks=pytest.mark.slow) for seed in (21, 22, 23)]


@pytest.mark.parametrize("sweep", SWEEP)
@pytest.mark.parametrize("board", FAST_BOARDS + board_params(["qemu-m7"], slow=True))
def test_random_sweep_matches_litert(board, sweep, tmp_path):
    seed, per_builder = sweep
    model = _merged_random_model(seed, per_builder=per_builder)
    report = verify(model, targets.get_board(board), source=f"sweep {seed}", n=2, seed=seed,
                    count_instructions=False, work_dir=tmp_path)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, "; ".join(report.mismatches)


@pytest.mark.arm
@pytest.mark.parametrize("board", ["qemu-m4", "qemu-m55"])
def test_reference_kernels_on_simd_boards(board, tmp_path):
    check_battery(full_battery(seed=2), board, seed=2, kernels="ref", n=3, work_dir=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("board", FAST_BOARDS + board_params(["qemu-m7"]))
@pytest.mark.parametrize("seed", [31, 32])
def test_other_batteries_match_litert(board, seed, tmp_path):
    check_battery(full_battery(seed=seed), board, seed=seed, n=3, work_dir=tmp_path)

