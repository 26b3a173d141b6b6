"""16-bit activations (TFLite's 16x8 mode) vs LiteRT BUILTIN_REF, bit exact.

Every op of the 16x8 family is packed into one model per board ("battery", as in
test_kernels_elementwise.py): CONV_2D, DEPTHWISE_CONV_2D and FULLY_CONNECTED with int16
activations, int8 weights and int64 bias; ADD and SUB on both of LiteRT's int16 paths
(general scales, left shift 15; power-of-two scales, taken when pot_scale_int16 is set and
every scale is a power of two); MUL; the pools; PAD and PADV2; CONCATENATION on random
axes (int16, and int8 up to rank 5); RESHAPE; RELU, RELU6, LEAKY_RELU; QUANTIZE
float->int16, int8<->int16, int16->int16; DEQUANTIZE int16->float; LOGISTIC and TANH
(power-of-two and general input scales); SOFTMAX int16->int16; TRANSPOSE; and the edges of
the SIMD paths of the pools, ADD/SUB, MUL and LEAKY_RELU (tails, repeated operands, clipped
windows). Shapes, options and quantizations are drawn from a seed; inputs cover the whole
int16 range (with its extremes). HARD_SWISH int16 is refused: no reference runs it.
Boards: `host` (ASan/UBSan, portable C), qemu-m4 (Armv7E-M DSP paths), qemu-m55 (Helium),
qemu-m3 (portable C on Arm, slow). Also: a streamed plan of a 16x8
conv chain, 16x8 FULLY_CONNECTED against TFLite Micro (`--match tflm`), and a real 16x8
audio conv net made by the TFLite converter, on Cortex-M7 (slow: the converter).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tflite_builder as tb
from battery import Battery, check_battery, random_int8, random_int16
from harness import board_params
from tflite_builder import ModelBuilder, schema
from tinyconv import targets
from tinyconv.errors import TinyconvError
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.verify import verify

INT16_STD = 65536 / math.sqrt(12)  # std of int16 values drawn uniformly
TARGET_STD = 4000.0  # output spread in int16 units: rounding exercised, rare saturation
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


# int16 inputs: the full range with both extremes; int8 ones (requantizing casts, and the
# int8 inputs of mixed ops): uniform codes.
FEEDS = {"int16": random_int16, "int8": random_int8}


def int16_battery(name: str) -> Battery:
    """A battery whose tensors are int16 unless given another dtype."""
    return Battery(name, dtype="int16", feeds=FEEDS)


def _float_feed(shape, scale: float):
    """Codes beyond the int16 range, half-way points (rounding), and +-inf, NaN and
    |x / scale| >= 2^31 (where LiteRT's int32 conversion overflows)."""
    def feed(rng, _i):
        q = rng.integers(-34000, 34000, size=shape).astype(np.float32)
        half = rng.random(size=shape) < 0.3
        x = ((q + np.where(half, 0.5, 0.0)) * np.float32(scale)).astype(np.float32)
        x.reshape(-1)[:6] = [np.inf, -np.inf, np.nan, -0.0, 3e9 * scale, -3e9 * scale]
        return x
    return feed


def _scale(rng, low=1e-5, high=1e-3) -> float:
    return float(np.float32(math.exp(rng.uniform(math.log(low), math.log(high)))))


def _pow2(rng, low=-16, high=-8) -> float:
    return float(2.0 ** int(rng.integers(low, high + 1)))


def _weighted(bat: Battery, rng, x: int, w_shape, axis: int, reduction: int,
              per_channel: bool, with_bias: bool) -> tuple[int, int, float]:
    """int8 weights, int64 bias, and an output scale for an int16 layer on input x."""
    s_in = bat.b.tensors[x].quantization.scale[0]
    channels = w_shape[axis]
    n = channels if per_channel else 1
    w_scales = np.array([_scale(rng, 1e-3, 2e-2) for _ in range(n)], np.float32)
    weights = rng.integers(-127, 128, size=w_shape).astype(np.int8)
    w = bat.b.const(weights, scale=w_scales, zero_point=[0] * n, quantized_dimension=axis)
    acc_std = math.sqrt(reduction) * INT16_STD * 73
    bias = -1
    if with_bias:
        bias_q = np.round(rng.normal(0, acc_std, size=channels)).astype(np.int64)
        bias_q[0] = int(rng.integers(-(2**40), 2**40))  # far beyond int32
        bias = bat.b.const(bias_q, scale=np.broadcast_to(np.float32(s_in) * w_scales,
                                                          (channels,)),
                           zero_point=[0] * channels)
    out_scale = float(np.float32(acc_std * s_in * float(np.mean(w_scales)) / TARGET_STD
                                 * math.exp(rng.uniform(-0.5, 0.5))))
    return w, bias, out_scale


def add_weighted_ops(bat: Battery, rng) -> None:
    """CONV_2D (plain, strided, dilated, grouped, 1x1), DEPTHWISE_CONV_2D (multipliers 1
    and 2, dilated, padded) and FULLY_CONNECTED (per channel, per tensor, keep_num_dims)."""
    convs = [dict(k=3, stride=1, dil=1, pad=0, groups=1), dict(k=3, stride=2, dil=1, pad=1,
             groups=1), dict(k=2, stride=1, dil=2, pad=0, groups=1),
             dict(k=3, stride=1, dil=1, pad=0, groups=2), dict(k=1, stride=1, dil=1, pad=1,
                                                                groups=1)]
    for spec in convs:
        h, w = (int(v) for v in rng.integers(4, 9, size=2))
        ic = int(rng.choice([3, 4, 8, 6])) * spec["groups"]
        oc = int(rng.integers(2, 7)) * spec["groups"]
        k = spec["k"]
        kw = int(rng.choice([k, 1, k + 1])) if k > 1 else 1
        x = bat.input((1, h, w, ic), quant=(_scale(rng), 0))
        wt, bias, s_out = _weighted(bat, rng, x, (oc, k, kw, ic // spec["groups"]), 0,
                                    k * kw * ic // spec["groups"], rng.random() < 0.8,
                                    True)  # LiteRT's 16x8 CONV_2D requires a bias
        padding = "SAME" if spec["pad"] else "VALID"
        oh = tb._conv_output_size(h, k, spec["stride"], spec["dil"], padding)
        ow = tb._conv_output_size(w, kw, spec["stride"], spec["dil"], padding)
        act = str(rng.choice(ACTIVATIONS))
        y = bat.output((1, oh, ow, oc), quant=(s_out, 0))
        bat.b.op("CONV_2D", [x, wt, bias], [y], schema.Conv2DOptionsT(
            padding=0 if spec["pad"] else 1, strideH=spec["stride"], strideW=spec["stride"],
            dilationHFactor=spec["dil"], dilationWFactor=spec["dil"],
            fusedActivationFunction=tb.ACTIVATIONS[act]))
    for mult, dil, pad, stride in ((1, 1, 1, 1), (2, 1, 0, 1), (1, 2, 1, 2), (1, 1, 0, 2)):
        h, w = (int(v) for v in rng.integers(5, 10, size=2))
        ic = int(rng.choice([4, 5, 8, 11, 16]))
        k = int(rng.choice([3, 5]))
        x = bat.input((1, h, w, ic), quant=(_scale(rng), 0))
        wt, bias, s_out = _weighted(bat, rng, x, (1, k, k, ic * mult), 3, k * k,
                                    rng.random() < 0.8, True)  # required, as for CONV_2D
        padding = "SAME" if pad else "VALID"
        oh = tb._conv_output_size(h, k, stride, dil, padding)
        ow = tb._conv_output_size(w, k, stride, dil, padding)
        act = str(rng.choice(ACTIVATIONS))
        y = bat.output((1, oh, ow, ic * mult), quant=(s_out, 0))
        bat.b.op("DEPTHWISE_CONV_2D", [x, wt, bias], [y], schema.DepthwiseConv2DOptionsT(
            padding=0 if pad else 1, strideH=stride, strideW=stride, depthMultiplier=mult,
            dilationHFactor=dil, dilationWFactor=dil,
            fusedActivationFunction=tb.ACTIVATIONS[act]))
    for per_channel, batches, keep in ((True, 1, False), (False, 3, False), (True, 2, True)):
        depth = int(rng.integers(5, 300))
        units = int(rng.integers(2, 12))
        x = bat.input((batches, depth), quant=(_scale(rng), 0))
        wt, bias, s_out = _weighted(bat, rng, x, (units, depth), 0, depth, per_channel,
                                    rng.random() < 0.85)
        act = str(rng.choice(ACTIVATIONS))
        y = bat.output((batches, units), quant=(s_out, 0))
        bat.b.op("FULLY_CONNECTED", [x, wt, bias], [y], schema.FullyConnectedOptionsT(
            fusedActivationFunction=tb.ACTIVATIONS[act], keepNumDims=keep))


def _binary(bat: Battery, kind: str, sa, sb, qa, qb, qy, act: str, pot: bool | None) -> None:
    a = bat.input(sa, quant=qa)
    b = bat.input(sb, quant=qb)
    y = bat.output(tuple(np.broadcast_shapes(sa, sb)), quant=qy)
    options = {"ADD": schema.AddOptionsT, "SUB": schema.SubOptionsT,
               "MUL": schema.MulOptionsT}[kind]()
    options.fusedActivationFunction = tb.ACTIVATIONS[act]
    if pot is not None:
        options.potScaleInt16 = pot
    bat.b.op(kind, [a, b], [y], options)


def add_elementwise_ops(bat: Battery, rng) -> None:
    """ADD/SUB on both int16 paths, MUL, with broadcasts and fused activations."""
    pairs = [((1, 4, 5, 6), (1, 4, 5, 6)), ((1, 3, 4, 8), (1, 1, 1, 8)), ((2, 5), (1,)),
             ((1, 3, 1, 5), (1, 1, 4, 1))]
    for sa, sb in pairs:
        qa, qb = (_scale(rng), 0), (_scale(rng), 0)
        qy = (float(np.float32(max(qa[0], qb[0]) * rng.uniform(1.2, 3.0))), 0)
        _binary(bat, "ADD", sa, sb, qa, qb, qy, str(rng.choice(ACTIVATIONS)), False)
        _binary(bat, "SUB", sa, sb, qa, qb, qy, str(rng.choice(ACTIVATIONS)),
                bool(rng.random() < 0.5))
        qm = (float(np.float32(qa[0] * qb[0] * 2**28 / TARGET_STD / 4)), 0)
        _binary(bat, "MUL", sa, sb, qa, qb, qm, str(rng.choice(ACTIVATIONS)), None)
    # The power-of-two path: one input on the output's scale, the other finer.
    for kind, (sa, sb) in (("ADD", ((1, 3, 3, 5), (1, 3, 3, 5))), ("SUB", ((2, 3, 4), (4,))),
                           ("ADD", ((7,), (7,)))):
        out_log = int(rng.integers(-14, -8))
        finer = out_log - int(rng.integers(0, 6))
        logs = (out_log, finer) if rng.random() < 0.5 else (finer, out_log)
        _binary(bat, kind, sa, sb, (2.0**logs[0], 0), (2.0**logs[1], 0), (2.0**out_log, 0),
                str(rng.choice(["NONE", "RELU"])), None if rng.random() < 0.5 else True)


def add_movement_ops(bat: Battery, rng) -> None:
    """Pools, PAD, PADV2, CONCATENATION, RESHAPE, RELU(6), LEAKY_RELU, (DE)QUANTIZE."""
    for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for pad, f, s in ((0, 2, 2), (1, 3, 1), (1, 3, 2)):
            h, w, c = (int(v) for v in rng.integers(3, 8, size=3))
            q = (_scale(rng), 0)
            padding = "SAME" if pad else "VALID"
            x = bat.input((1, h, w, c), quant=q)
            y = bat.output((1, tb._conv_output_size(h, f, s, 1, padding),
                            tb._conv_output_size(w, f, s, 1, padding), c), quant=q)
            bat.b.op(kind, [x], [y], schema.Pool2DOptionsT(
                padding=0 if pad else 1, strideH=s, strideW=s, filterHeight=f, filterWidth=f,
                fusedActivationFunction=tb.ACTIVATIONS[str(rng.choice(ACTIVATIONS))]))
    for v2 in (False, True):
        shape = tuple(int(v) for v in rng.integers(1, 5, size=int(rng.integers(1, 5))))
        paddings = rng.integers(0, 3, size=(len(shape), 2))
        q = (_scale(rng), 0)
        x = bat.input(shape, quant=q)
        y = bat.output(tuple(d + a + b for d, (a, b) in zip(shape, paddings)), quant=q)
        pads = bat.b.const(paddings.astype(np.int32))
        inputs = [x, pads]
        if v2:
            inputs.append(bat.b.const(np.array([int(rng.integers(-32768, 32768))], np.int16),
                                      scale=q[0], zero_point=q[1]))
        bat.b.op("PADV2" if v2 else "PAD", inputs, [y])
    for _ in range(3):
        rank = int(rng.integers(1, 5))
        axis = int(rng.integers(-rank, rank))
        base = [int(v) for v in rng.integers(1, 5, size=rank)]
        q = (_scale(rng), 0)
        ins = []
        for _ in range(int(rng.integers(1, 4))):
            shape = list(base)
            shape[axis] = int(rng.integers(1, 4))
            ins.append(bat.input(tuple(shape), quant=q))
        out_shape = list(base)
        out_shape[axis] = sum(bat.b.tensors[t].shape[axis] for t in ins)
        y = bat.output(tuple(out_shape), quant=q)
        bat.b.op("CONCATENATION", ins, [y], schema.ConcatenationOptionsT(axis=axis))
    # int8 CONCATENATION on any axis too (rank 5, negative axes; LiteRT's int8 kernel takes
    # inputs quantized like the output only).
    for shape, axis in (((2, 1, 3, 2, 3), -2), ((3, 2, 5), 0), ((2, 3, 2, 2, 2), 4)):
        qy = (_scale(rng, 1e-2, 1e-1), int(rng.integers(-100, 100)))
        ins = []
        for k in range(3):
            part = list(shape)
            part[axis] = k + 1
            ins.append(bat.input(tuple(part), "int8", qy))
        out_shape = list(shape)
        out_shape[axis] = 6
        y = bat.output(tuple(out_shape), "int8", qy)
        bat.b.op("CONCATENATION", ins, [y], schema.ConcatenationOptionsT(axis=axis))
    q = (_scale(rng), 0)
    x = bat.input((2, 3, 4), quant=q)
    y = bat.output((4, 6), quant=q)
    bat.b.op("RESHAPE", [x, bat.b.const(np.array([4, 6], np.int32))], [y],
             schema.ReshapeOptionsT(newShape=[4, 6]))
    shape = (3, 40)
    for kind in ("RELU", "RELU6", "LEAKY_RELU"):
        qin = (_scale(rng, 1e-4, 3e-4), 0)
        qout = (_scale(rng, 1e-4, 3e-4), 0)
        options = schema.LeakyReluOptionsT(alpha=float(np.float32(rng.choice(
            [0.1, 0.2, 1.5, -0.3])))) if kind == "LEAKY_RELU" else None
        x = bat.input(shape, quant=qin)
        y = bat.output(shape, quant=qout)
        bat.b.op(kind, [x], [y], options)
    qf = (_scale(rng), 0)
    x = bat.input(shape, "float32", (None, None), _float_feed(shape, qf[0]))
    y = bat.output(shape, quant=qf)
    bat.b.op("QUANTIZE", [x], [y], schema.QuantizeOptionsT())
    for src, dst in (("int8", "int16"), ("int16", "int8"), ("int16", "int16")):
        qin = (_scale(rng, 1e-3, 1e-1) if src == "int8" else _scale(rng),
               int(rng.integers(-100, 100)) if src == "int8" else 0)
        qout = (_scale(rng, 1e-3, 1e-1) if dst == "int8" else _scale(rng),
                int(rng.integers(-100, 100)) if dst == "int8" else 0)
        if src == "int16" and dst == "int8":
            qout = (float(np.float32(qin[0] * 200)), qout[1])
        x = bat.input(shape, src, qin)
        y = bat.output(shape, dst, qout)
        bat.b.op("QUANTIZE", [x], [y], schema.QuantizeOptionsT())
    qd = (_scale(rng), 0)
    x = bat.input(shape, quant=qd)
    y = bat.output(shape, "float32")
    bat.b.op("DEQUANTIZE", [x], [y], schema.DequantizeOptionsT())
    # LOGISTIC and TANH: power-of-two input scales (LiteRT's shift-only path) and general
    # ones; the output scale is 2^-15 as LiteRT requires.
    for kind in ("LOGISTIC", "TANH"):
        for scale in (2.0**-12, _pow2(rng, -14, -11), _scale(rng, 3e-5, 2e-3)):
            x = bat.input(shape, quant=(scale, 0))
            y = bat.output(shape, quant=(1.0 / 32768, 0))
            bat.b.op(kind, [x], [y])
    for sm_shape in ((2, 10), (1, 3, 3, 7), (4, 1), (1, 300)):
        beta = float(np.float32(rng.choice([1.0, 0.5, 2.0, rng.uniform(0.2, 3.0)])))
        x = bat.input(sm_shape, quant=(_scale(rng, 1e-4, 3e-3), 0))
        y = bat.output(sm_shape, quant=(1.0 / 32768, 0))
        bat.b.op("SOFTMAX", [x], [y], schema.SoftmaxOptionsT(beta=beta))


def add_simd_edge_ops(bat: Battery, rng) -> None:
    """The edges of the int16 SIMD paths (DSP: 2 or 4 lanes, Helium: 4, 8 or 16): channel
    counts that leave tails, each input repeated along a run (broadcast on either side,
    scalars), the power-of-two ADD/SUB with no shift and with either input shifted,
    LEAKY_RELU with odd lengths and every kind of alpha, and pools with windows clipped at
    the borders, large windows and every fused activation."""
    c = int(rng.choice([1, 3, 5, 7, 9, 13, 17]))
    w = int(rng.integers(2, 6))
    for sa, sb in (((1, 2, w, c), (1, 2, w, c)), ((1, 1, 1, c), (1, 2, w, c)),
                   ((2, w, c), (1,)), ((1,), (w, c)), ((1, 2, 1, c), (1, 1, w, 1))):
        qa, qb = (_scale(rng), 0), (_scale(rng), 0)
        qy = (float(np.float32(max(qa[0], qb[0]) * rng.uniform(1.2, 3.0))), 0)
        kind = str(rng.choice(["ADD", "SUB"]))
        _binary(bat, kind, sa, sb, qa, qb, qy, str(rng.choice(ACTIVATIONS)), False)
        qm = (float(np.float32(qa[0] * qb[0] * 2**28 / TARGET_STD / 4)), 0)
        _binary(bat, "MUL", sa, sb, qa, qb, qm, str(rng.choice(ACTIVATIONS)), None)
        out_log = int(rng.integers(-14, -8))
        shift = int(rng.integers(1, 8))
        for logs in ((out_log, out_log), (out_log - shift, out_log), (out_log, out_log - shift)):
            # LiteRT's power-of-two ADD takes equal shapes only (its SUB broadcasts)
            pot_kind = str(rng.choice(["ADD", "SUB"])) if sa == sb else "SUB"
            _binary(bat, pot_kind, sa, sb, (2.0**logs[0], 0), (2.0**logs[1], 0),
                    (2.0**out_log, 0), str(rng.choice(ACTIVATIONS)), True)
    for alpha in (0.1, 0.7, 1.5, -0.3):  # LEAKY_RELU's Helium path: tails, alpha > 1 and < 0
        shape = (int(rng.integers(1, 4)), int(rng.integers(1, 38)))
        x = bat.input(shape, quant=(_scale(rng, 1e-4, 3e-4), 0))
        y = bat.output(shape, quant=(_scale(rng, 1e-4, 3e-4), 0))
        bat.b.op("LEAKY_RELU", [x], [y], schema.LeakyReluOptionsT(alpha=float(np.float32(alpha))))
    for kind in ("AVERAGE_POOL_2D", "MAX_POOL_2D"):
        for f, s, padding in ((3, 1, "SAME"), (2, 2, "VALID"), (5, 3, "SAME"), (7, 1, "VALID")):
            channels = int(rng.choice([1, 3, 4, 5, 8, 13, 17, 20, 33]))
            h, w = (int(v) for v in rng.integers(max(f, 3), 10, size=2))
            q = (_scale(rng), 0)
            x = bat.input((1, h, w, channels), quant=q)
            y = bat.output((1, tb._conv_output_size(h, f, s, 1, padding),
                            tb._conv_output_size(w, f, s, 1, padding), channels), quant=q)
            bat.b.op(kind, [x], [y], schema.Pool2DOptionsT(
                padding=0 if padding == "SAME" else 1, strideH=s, strideW=s, filterHeight=f,
                filterWidth=f,
                fusedActivationFunction=tb.ACTIVATIONS[str(rng.choice(ACTIVATIONS))]))


def add_transpose_ops(bat: Battery, rng) -> None:
    """TRANSPOSE on int16 (LiteRT moves the values): ranks 1 to 5, random permutations."""
    for rank in (1, 2, 3, 4, 5):
        shape = tuple(int(v) for v in rng.integers(1, 5, size=rank))
        perm = [int(p) for p in rng.permutation(rank)]
        q = (_scale(rng), 0)
        x = bat.input(shape, quant=q)
        y = bat.output(tuple(shape[p] for p in perm), quant=q)
        bat.b.op("TRANSPOSE", [x, bat.b.const(np.array(perm, np.int32))], [y])


def battery(seed: int) -> Battery:
    rng = np.random.default_rng(seed)
    bat = int16_battery(f"int16 battery {seed}")
    add_weighted_ops(bat, rng)
    add_elementwise_ops(bat, rng)
    add_movement_ops(bat, rng)
    add_simd_edge_ops(bat, rng)
    add_transpose_ops(bat, rng)
    return bat


@pytest.mark.parametrize("board", board_params(["host", "qemu-m4", "qemu-m55"])
                         + board_params(["qemu-m3"], slow=True))
def test_int16_battery(board):
    check_battery(battery(1), board, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4])
@pytest.mark.parametrize("board", board_params(["host", "qemu-m4", "qemu-m55"]))
def test_int16_sweep(board, seed):
    check_battery(battery(seed), board, seed)


def fully_connected_battery(seed: int) -> Battery:
    """16x8 FULLY_CONNECTED layers alone (per channel and per tensor, odd unit counts)."""
    rng = np.random.default_rng(seed)
    bat = int16_battery(f"int16 fully connected {seed}")
    for per_channel, batches, units in ((True, 1, 7), (False, 2, 4), (True, 3, 1)):
        depth = int(rng.integers(3, 200))
        x = bat.input((batches, depth), quant=(_scale(rng), 0))
        wt, bias, s_out = _weighted(bat, rng, x, (units, depth), 0, depth, per_channel, True)
        y = bat.output((batches, units), quant=(s_out, 0))
        bat.b.op("FULLY_CONNECTED", [x, wt, bias], [y], schema.FullyConnectedOptionsT())
    return bat


@pytest.mark.slow
def test_int16_fully_connected_matches_tflm_fixed_point():
    """`--match tflm`: 16x8 FULLY_CONNECTED requantized with TFLite Micro's fixed-point
    multiplier (tc_fully_connected_s16), compared with TFLite Micro's outputs."""
    bat = fully_connected_battery(9)
    check_battery(bat, "host", seed=9, match="tflm")

def _conv16(bias_dtype: str, zero_point: int = 0) -> bytes:
    b = ModelBuilder("16x8 conv")
    x = b.tensor((1, 4, 4, 2), "int16", 1e-4, zero_point)
    w = b.const(np.ones((3, 1, 1, 2), np.int8), scale=[0.01] * 3, zero_point=[0] * 3)
    bias = b.const(np.zeros(3, bias_dtype), scale=[1e-6] * 3, zero_point=[0] * 3)
    y = b.tensor((1, 4, 4, 3), "int16", 1e-3, 0)
    b.op("CONV_2D", [x, w, bias], [y], schema.Conv2DOptionsT(padding=1, strideH=1, strideW=1))
    return b.build([x], [y])


def _hard_swish16() -> bytes:
    b = ModelBuilder("int16 hard swish")
    x = b.tensor((1, 40), "int16", 1e-3, 0)
    y = b.tensor((1, 40), "int16", 2e-3, 0)
    b.op("HARD_SWISH", [x], [y])
    return b.build([x], [y])


def test_int16_hard_swish_is_refused_in_one_line_as_no_oracle_runs_it():
    """No reference runs an int16 HARD_SWISH: LiteRT 2.3's BUILTIN_REF kernel takes float32,
    uint8 and int8 only (and TFLite Micro's fails the same way; the TFLite converter's 16x8
    mode refuses a Keras hard_swish or keeps it float). So there is nothing to be bit exact
    with, and the lowering refuses it in one line. Should LiteRT gain one, the first
    assertion fails and the kernel can be written against it."""
    from tinyconv import deploy, worker
    from tinyconv.reference import litert_outputs
    model = _hard_swish16()
    with pytest.raises(worker.OracleError, match="Only float32, uint8 and int8"):
        litert_outputs(model, [[np.zeros((1, 40), np.int16)]])
    with pytest.raises(TinyconvError) as info:
        deploy.prepare(import_tflite(model), targets.get_board("host"), match="litert")
    text = str(info.value)
    assert "\n" not in text and "HARD_SWISH" in text and "no reference runs it" in text, text


def test_unsupported_16x8_cases_are_one_line_errors():
    """An int32 bias (which LiteRT 2.3's 16x8 kernels read as int64) and an asymmetric
    int16 input are refused at import, naming the op and the tensor."""
    import_tflite(_conv16("int64"))
    with pytest.raises(TinyconvError, match=r"CONV_2D.*int64 bias"):
        import_tflite(_conv16("int32"))
    with pytest.raises(TinyconvError, match=r"CONV_2D.*zero point 3"):
        import_tflite(_conv16("int64", zero_point=3))


# -- streamed plans -------------------------------------------------------------------------------

def add_stream_chain(bat: Battery, rng) -> None:
    """A conv -> depthwise -> conv -> max pool chain on int16 rows, big enough that the
    smallest plan streams the three convolutions row by row (tinyconv/stream.py)."""
    h = bat.input((1, 40, 24, 4), quant=(_scale(rng), 0))
    for kind in ("CONV_2D", "DEPTHWISE_CONV_2D", "CONV_2D"):
        _, rows, cols, channels = bat.b.tensors[h].shape
        conv = kind == "CONV_2D"
        wt, bias, s_out = _weighted(bat, rng, h, (8, 3, 3, channels) if conv else (1, 3, 3, 8),
                                    0 if conv else 3, 9 * channels if conv else 9, True, True)
        y = bat.b.tensor((1, rows, cols, 8), "int16", s_out, 0)
        options = (schema.Conv2DOptionsT(padding=0, strideH=1, strideW=1,
                                         fusedActivationFunction=1) if conv else
                   schema.DepthwiseConv2DOptionsT(padding=0, strideH=1, strideW=1,
                                                  depthMultiplier=1, fusedActivationFunction=1))
        bat.b.op(kind, [h, wt, bias], [y], options)
        h = y
    q = bat.b.tensors[h].quantization
    y = bat.output((1, 20, 12, 8), quant=(q.scale[0], 0))
    bat.b.op("MAX_POOL_2D", [h], [y], schema.Pool2DOptionsT(
        padding=1, strideH=2, strideW=2, filterHeight=2, filterWidth=2))


@pytest.mark.parametrize("board", board_params(["host"])
                         + board_params(["qemu-m4", "qemu-m55"], slow=True))
def test_int16_streamed_plan_bit_exact(board):
    """The smallest plan streams the chain row by row; streamed calls address their int16
    rows in bytes (codegen/emit.py), and the 16x8 kernels called strip by strip give
    LiteRT's bytes."""
    from tinyconv.ir.ops import Isa
    from tinyconv.stream import plan_model
    bat = int16_battery("int16 stream chain")
    add_stream_chain(bat, np.random.default_rng(5))
    plan = plan_model(import_tflite(bat.model()), Isa.REF, memory="min")
    assert "STREAMED" in plan.strategy
    check_battery(bat, board, seed=5, memory="min")

# -- a real 16x8 model from the TFLite converter ------------------------------------------------

def audio_convnet_tflite(mode: str = "16x8", seed: int = 0) -> bytes:
    """A small keyword-spotting-style conv net on a 49x10 MFCC-shaped input (conv, depthwise,
    1x1 conv, average pool, dense, softmax), trained on nothing (random weights), converted
    by the TFLite converter with a representative dataset: `mode` "16x8" uses
    EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8 (int16 activations, int8
    weights, float input and output through QUANTIZE / DEQUANTIZE), "int8" makes its int8
    twin (TFLITE_BUILTINS_INT8)."""
    import tensorflow as tf

    tf.keras.utils.set_random_seed(seed)
    layers = tf.keras.layers
    model = tf.keras.Sequential([
        layers.Input((49, 10, 1), batch_size=1),
        layers.Conv2D(16, (10, 4), strides=(2, 2), padding="same", activation="relu"),
        layers.DepthwiseConv2D((3, 3), padding="same", activation="relu"),
        layers.Conv2D(24, (1, 1), activation="relu"),
        layers.DepthwiseConv2D((3, 3), strides=(2, 2), padding="valid", activation="relu"),
        layers.Conv2D(24, (1, 1), activation="relu"),
        layers.AveragePooling2D((3, 2)),
        layers.Flatten(),
        layers.Dense(12),
        layers.Softmax(),
    ])
    rng = np.random.default_rng(seed)

    def representative():
        for _ in range(16):
            yield [rng.standard_normal((1, 49, 10, 1)).astype(np.float32)]

    converter = tf.lite.TFLiteConverter.from_keras_model(model)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.representative_dataset = representative
    if mode == "16x8":
        converter.target_spec.supported_ops = [
            tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    return converter.convert()


@pytest.mark.slow  # the TFLite converter alone takes 20-60 s here
@pytest.mark.parametrize("board", board_params(["qemu-m7"]))
def test_converter_16x8_audio_convnet_bit_exact(board):
    """One of the issue's real-world models: a 16x8 audio conv net made by the TFLite
    converter runs bit exact on Cortex-M7 (every op's output compared too, `layers`)."""
    model = audio_convnet_tflite("16x8")
    graph = import_tflite(model)
    kinds = {op.kind for op in graph.ops}
    assert {"CONV_2D", "DEPTHWISE_CONV_2D", "FULLY_CONNECTED", "SOFTMAX",
            "AVERAGE_POOL_2D", "QUANTIZE"} <= kinds
    assert any(t.dtype.name == "INT16" for op in graph.ops for t in op.outputs)
    report = verify(model, targets.get_board(board), source="16x8 audio convnet", n=4,
                    seed=3, count_instructions=False, layers=True)
    assert report.outputs_compared > 0
    assert report.mismatched_bytes == 0, "; ".join(report.mismatches)
