"""Elementwise, activation, softmax and (de)quantize kernels vs LiteRT BUILTIN_REF, bit exact.

Builds are the cost, so each test packs many independent ops into one model ("battery"):
every op gets its own graph inputs and random quantization, and every output is compared
byte for byte with LiteRT's reference interpreter. Unary int8 ops see all 256 input codes
(inputs are given explicitly, not drawn), so their whole input domain is covered for each
quantization. Chains of ops make the planner run some of them in place.

Boards: `host` builds with -fsanitize=address,undefined; qemu-m3 runs the portable C
kernels, qemu-m4 the Armv7E-M DSP paths, qemu-m55 the Helium paths.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

import tflite_builder as tb
from battery import Battery, check_battery, random_int8
from harness import board_params, compare_single_op
from tflite_builder import ModelBuilder, schema
from tinyconv.codegen.lowering.elementwise import (hard_swish_lut, hard_swish_params, lut_int8,
                                                   sigmoid_f32, tanh_f32)

FAST_BOARDS = board_params(["host", "qemu-m3", "qemu-m4", "qemu-m55"])
ACTIVATIONS = ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]


# -- model batteries ---------------------------------------------------------------------------

def _float_feed(shape, scale: float, zero_point: int):
    """Floats for QUANTIZE: exact codes, half-way points (rounding), random values, values
    far outside the int8 range (clamping), and +-inf, NaN and |x / scale| >= 2^31 (where
    LiteRT's int32 conversion overflows)."""
    size = math.prod(shape)

    def feed(rng, _i):
        codes = rng.integers(-140, 141, size=size).astype(np.float32)
        kind = rng.integers(0, 4, size=size)
        q = np.where(kind == 0, codes, np.where(kind == 1, codes + np.float32(0.5),
                     codes + rng.uniform(-0.5, 0.5, size=size).astype(np.float32)))
        x = ((q - zero_point) * np.float32(scale)).astype(np.float32)
        x = np.where(kind == 3, rng.standard_normal(size).astype(np.float32) * 1e3, x)
        x = x.astype(np.float32).reshape(-1)
        x[:7] = [np.inf, -np.inf, 0.0, -0.0, np.nan, 3e9 * scale, -3e9 * scale]
        return x[:size].reshape(shape)
    return feed


def _quant(rng, low=1e-3, high=0.5) -> tuple[float, int]:
    return tb.random_scale(rng, low, high), int(rng.integers(-128, 128))


def _unary(bat: Battery, kind: str, shape, qin, qout, options=None, in_dtype="int8",
           out_dtype="int8", feed=None) -> None:
    x = bat.input(shape, in_dtype, qin, feed)
    y = bat.output(shape, out_dtype, qout)
    bat.b.op(kind, [x], [y], options)


def add_unary_ops(bat: Battery, rng, quantizations: int = 2) -> None:
    """Every unary op, each with `quantizations` random input/output quantizations."""
    shape = (1, 16, 16)
    for _ in range(quantizations):
        qin = _quant(rng)
        qout = _quant(rng)
        same = qin if rng.random() < 0.3 else qout  # equal quantization: identity fast path
        _unary(bat, "RELU", shape, qin, same)
        _unary(bat, "RELU6", shape, qin, _quant(rng, 2e-3, 0.1))
        alpha = float(np.float32(rng.choice([0.1, 0.2, 0.01, 0.5, 1.7, -0.25])))
        _unary(bat, "LEAKY_RELU", shape, qin, qout, schema.LeakyReluOptionsT(alpha=alpha))
        _unary(bat, "LOGISTIC", shape, _quant(rng, 1e-3, 0.2), (1.0 / 256, -128))
        _unary(bat, "TANH", shape, _quant(rng, 1e-3, 0.2),
               (1.0 / 128, 0) if rng.random() < 0.5 else _quant(rng, 2e-3, 0.05))
        hin = _quant(rng, 5e-3, 0.2)
        _unary(bat, "HARD_SWISH", shape, hin, (hin[0] * float(rng.uniform(0.1, 2.0)),
                                                int(rng.integers(-128, 128))),
               schema.HardSwishOptionsT())
        _unary(bat, "QUANTIZE", shape, qin, qout, schema.QuantizeOptionsT())
        _unary(bat, "DEQUANTIZE", shape, qin, (None, None), schema.DequantizeOptionsT(),
               out_dtype="float32")
        qf = _quant(rng, 1e-3, 0.2)
        _unary(bat, "QUANTIZE", (3, 50), (None, None), qf, schema.QuantizeOptionsT(),
               in_dtype="float32", feed=_float_feed((3, 50), *qf))
        beta = float(np.float32(rng.choice([1.0, 0.5, 2.0, rng.uniform(0.2, 3.0)])))
        sm_shapes = [(2, 10), (1, 3, 3, 7), (4, 1), (1, 100)]
        sm_shape = sm_shapes[int(rng.integers(0, len(sm_shapes)))]
        for out_dtype, qo in (("int8", (1.0 / 256, -128)), ("int16", (1.0 / 65536, -32768))):
            _unary(bat, "SOFTMAX", sm_shape, _quant(rng, 5e-3, 0.3), qo,
                   schema.SoftmaxOptionsT(beta=beta), out_dtype=out_dtype,
                   feed=random_int8(sm_shape))
    # A chain whose intermediate tensors die at once: the planner may run these in place.
    q = [_quant(rng, 5e-3, 0.1) for _ in range(4)]
    x = bat.input(shape, "int8", q[0])
    h1 = bat.hidden(shape, "int8", q[1])
    bat.b.op("HARD_SWISH", [x], [h1], schema.HardSwishOptionsT())
    h2 = bat.hidden(shape, "int8", q[2])
    bat.b.op("LEAKY_RELU", [h1], [h2], schema.LeakyReluOptionsT(alpha=0.2))
    h3 = bat.hidden(shape, "int8", q[3])
    bat.b.op("RELU", [h2], [h3])
    y = bat.output(shape, "int8", (1.0 / 128, 0))
    bat.b.op("TANH", [h3], [y])


def _broadcast_pairs(rng) -> list[tuple[tuple, tuple]]:
    """The broadcasts that matter: equal shapes, squeeze-excite [1,1,1,C], a scalar, a
    row or column, both operands broadcasting, a lower-rank operand, and random pairs."""
    h, w, c = (int(v) for v in rng.integers(2, 7, size=3))
    c = int(rng.choice([c, 16, 17]))
    pairs = [((1, h, w, c), (1, h, w, c)),
             ((1, h, w, c), (1, 1, 1, c)),
             ((1, 1, 1, c), (1, h, w, c)),
             ((1, h, w, c), (1,)),
             ((1, h, w, c), (1, h, 1, 1)),
             ((1, h, 1, c), (1, 1, w, 1)),
             ((2, h, w, c), (w, c)),
             ((5,), (3, 1))]
    pairs += [tb.random_broadcast_shapes(rng) for _ in range(2)]
    return pairs


def add_binary_ops(bat: Battery, rng, seed: int) -> None:
    """ADD, SUB and MUL over many broadcast patterns, activations and quantizations."""
    kinds = ["ADD", "SUB", "MUL"]
    for i, (sa, sb) in enumerate(_broadcast_pairs(rng)):
        kind = kinds[(i + seed) % 3]
        qa, qb = _quant(rng, 1e-3, 0.2), _quant(rng, 1e-3, 0.2)
        activation = str(rng.choice(ACTIVATIONS))
        out_shape = tuple(np.broadcast_shapes(sa, sb))
        std = (qa[0] * qb[0] * 80 * 80) if kind == "MUL" else math.hypot(qa[0], qb[0]) * 80
        qy = (float(np.float32(std / 40 * math.exp(rng.uniform(-1, 1)))),
              int(rng.integers(-128, 128)))
        a = bat.input(sa, "int8", qa, random_int8(sa))
        b = bat.input(sb, "int8", qb, random_int8(sb))
        y = bat.output(out_shape, "int8", qy)
        options = {"ADD": schema.AddOptionsT, "SUB": schema.SubOptionsT,
                   "MUL": schema.MulOptionsT}[kind]()
        options.fusedActivationFunction = tb.ACTIVATIONS[activation]
        bat.b.op(kind, [a, b], [y], options)
    # A constant operand (a bias or scale tensor in flash) broadcast over the channels.
    c = 8
    x = bat.input((1, 3, 3, c), "int8", (0.05, 3), random_int8((1, 3, 3, c)))
    k = bat.b.tensor((c,), "int8", 0.02, -7,
                     data=rng.integers(-128, 128, size=(c,)).astype(np.int8))
    y = bat.output((1, 3, 3, c), "int8", (0.004, -20))
    bat.b.op("MUL", [x, k], [y], schema.MulOptionsT())
    # A residual chain: the sums die at once, so the planner may add in place.
    shape = (1, 4, 4, 6)
    q = [_quant(rng, 5e-3, 0.1) for _ in range(6)]
    a = bat.input(shape, "int8", q[0], random_int8(shape))
    b = bat.input(shape, "int8", q[1], random_int8(shape))
    s1 = bat.hidden(shape, "int8", q[2])
    bat.b.op("ADD", [a, b], [s1], schema.AddOptionsT())
    se = bat.input((1, 1, 1, 6), "int8", q[3], random_int8((1, 1, 1, 6)))
    s2 = bat.hidden(shape, "int8", q[4])
    bat.b.op("MUL", [s1, se], [s2], schema.MulOptionsT())
    y = bat.output(shape, "int8", q[5])
    bat.b.op("SUB", [s2, a], [y], schema.SubOptionsT(fusedActivationFunction=1))


def battery(seed: int, quantizations: int = 2) -> Battery:
    """All of this family's ops in one model: one firmware build checks them all."""
    rng = np.random.default_rng(seed)
    bat = Battery(f"elementwise battery {seed}")
    add_unary_ops(bat, rng, quantizations)
    add_binary_ops(bat, rng, seed)
    return bat


# -- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("board", FAST_BOARDS)
def test_all_ops_one_build(board):
    """Every op of the family, unary ones on all 256 codes, binary ones over every
    broadcast pattern, in one model per board."""
    check_battery(battery(seed=1), board, seed=1)


SHARED_BUILDERS_IN_CI = ["MUL", "SOFTMAX", "HARD_SWISH"]


@pytest.mark.parametrize("kind", [
    pytest.param(kind, marks=[] if kind in SHARED_BUILDERS_IN_CI else [pytest.mark.slow])
    for kind in ["ADD", "SUB", "MUL", "SOFTMAX", "LOGISTIC", "TANH", "HARD_SWISH", "RELU",
                 "RELU6", "LEAKY_RELU", "QUANTIZE", "DEQUANTIZE"]])
def test_shared_builders_on_host(kind):
    """The shared single-op builders (tests/support/tflite_builder.py) through the public
    harness, one build per op: CI runs a sample of the ops, slow all of them."""
    model = tb.SINGLE_OP_BUILDERS[kind](np.random.default_rng(7))
    result = compare_single_op(model, "host", n_inputs=3, seed=7)
    assert result.outputs_compared > 0 and result.mismatched_bytes == 0, result.detail


def test_lookup_tables_match_litert_exhaustively():
    """The host-built LOGISTIC/TANH tables equal LiteRT's outputs on all 256 codes, for
    quantizations across four orders of magnitude (no firmware build: fast)."""
    from tinyconv.reference import litert_outputs
    rng = np.random.default_rng(3)
    codes = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    for _ in range(20):
        scale, zp = tb.random_scale(rng, 1e-4, 1.0), int(rng.integers(-128, 128))
        for kind, fn, qout in (("LOGISTIC", sigmoid_f32, (1.0 / 256, -128)),
                               ("TANH", tanh_f32, _quant(rng, 1e-3, 0.1))):
            b = ModelBuilder(kind)
            x = b.tensor((1, 256), "int8", scale, zp)
            y = b.tensor((1, 256), "int8", *qout)
            b.op(kind, [x], [y])
            expected = litert_outputs(b.build([x], [y]), [[codes]])[0][0]
            table = lut_int8(scale, zp, float(np.float32(qout[0])), qout[1], fn)
            np.testing.assert_array_equal(table[codes.view(np.uint8)], expected,
                                          err_msg=f"{kind} scale {scale} zp {zp}")


def test_hard_swish_table_matches_litert_exhaustively():
    """HARD_SWISH runs as a table of its integer arithmetic (hard_swish_lut): equal to
    LiteRT's outputs on all 256 codes, for scales across four orders of magnitude, both
    ways round (input finer or coarser than the output; no firmware build: fast)."""
    from tinyconv.ir.tflite_import import import_tflite
    from tinyconv.reference import litert_outputs
    rng = np.random.default_rng(4)
    codes = np.arange(-128, 128, dtype=np.int8).reshape(1, 256)
    for i in range(24):
        qin = (tb.random_scale(rng, 1e-3, 0.5), int(rng.integers(-128, 128)))
        qout = (qin[0] * 10 ** rng.uniform(-2, 1) if i % 2 else qin[0] * rng.uniform(0.2, 1.5),
                int(rng.integers(-128, 128)))
        b = ModelBuilder("HARD_SWISH")
        x = b.tensor((1, 256), "int8", *qin)
        y = b.tensor((1, 256), "int8", *qout)
        b.op("HARD_SWISH", [x], [y])
        model = b.build([x], [y])
        expected = litert_outputs(model, [[codes]])[0][0]
        op = next(o for o in import_tflite(model).ops if o.kind == "HARD_SWISH")
        table = hard_swish_lut(hard_swish_params(op))
        np.testing.assert_array_equal(table[codes.view(np.uint8)], expected,
                                      err_msg=f"HARD_SWISH in {qin} out {qout}")


# CI: one seed with one quantization per op; slow: three seeds of four, and Cortex-M7.
SWEEP = [pytest.param((11, 1), id="sample")] + [
    pytest.param((seed, 4), id=f"sweep{seed}", marks=pytest.mark.slow) for seed in (11, 12, 13)]


@pytest.mark.parametrize("sweep", SWEEP)
@pytest.mark.parametrize("board", FAST_BOARDS + board_params(["qemu-m7"], slow=True))
def test_sweep(board, sweep):
    seed, quantizations = sweep
    check_battery(battery(seed, quantizations=quantizations), board, seed)


@pytest.mark.parametrize("board", board_params(["qemu-m4", "qemu-m55"])
                         + board_params(["host"], slow=True))
def test_reference_kernels_match_too(board):
    """-DTC_REFERENCE_KERNELS (the portable path on every core) gives the same bytes."""
    check_battery(battery(21), board, seed=5, kernels="ref")
