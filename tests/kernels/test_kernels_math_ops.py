"""Elementwise math, comparisons and select vs LiteRT BUILTIN_REF, bit exact.

MAXIMUM, MINIMUM (int8/int16/int32), SQUARED_DIFFERENCE (int8), the six comparisons
(int8 with different scales, int16, int32 -> BOOL), SELECT_V2 and SELECT (int8/int16/int32
values), PRELU (int8, alpha broadcast), ABS and NEG (int8, int16), RSQRT and EXP (int8):
many independent ops in one model per board ("battery", as tests/kernels/
test_kernels_elementwise.py), random shapes up to rank 6 with every broadcast pattern,
random quantization; int8 unary ops see all 256 codes. ELU is not in LiteRT's reference
op set: its model is checked against TFLite Micro (verify's fallback oracle), and its
table against TFLite Micro's on every code.

The int8 unary tables are also compared with LiteRT on every code for many quantizations
without a firmware build (fast).
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import tflite_builder as tb
from battery import Battery, check_battery
from harness import board_params
from tflite_builder import ModelBuilder
from tinyconv import targets
from tinyconv.codegen.lowering.arith import abs_table, elu_f32, exp_f32, neg_table, rsqrt_table
from tinyconv.codegen.lowering.elementwise import lut_int8
from tinyconv.errors import TinyconvError

BOARDS = board_params(["host", "qemu-m4", "qemu-m55"])
COMPARISONS = ["EQUAL", "NOT_EQUAL", "LESS", "LESS_EQUAL", "GREATER", "GREATER_EQUAL"]
_INFO = {"int8": np.iinfo(np.int8), "int16": np.iinfo(np.int16), "int32": np.iinfo(np.int32)}


# -- feeds ------------------------------------------------------------------------------------

def _ints(dtype: str, shape, pool: int | None = None, zero_point: int = 0):
    """Random integers of `dtype`; with `pool`, drawn from that many values (equalities),
    the extremes and `zero_point` among them."""
    info = _INFO[dtype]

    def feed(rng, _i):
        if pool:
            values = rng.integers(info.min, info.max, size=pool, endpoint=True)
            values[:3] = (info.min, info.max, zero_point)
            return rng.choice(values, size=shape).astype(dtype)
        return rng.integers(info.min, info.max, size=shape, endpoint=True).astype(dtype)
    return feed


def _codes(shape, low: int = -128):
    """Every int8 code from `low` up at least once per sample, in a fresh random order."""
    size = math.prod(shape)

    def feed(rng, _i):
        codes = np.arange(low, 128, dtype=np.int8)
        values = np.concatenate([rng.permutation(codes)
                                 for _ in range(-(-size // len(codes)))])
        return values[:size].reshape(shape)
    return feed


def _bools(shape):
    return lambda rng, _i: rng.random(size=shape) < 0.5


FEEDS = {"bool": _bools, **{d: functools.partial(_ints, d) for d in _INFO}}


class MathBattery(Battery):
    """A battery whose 0-d inputs become constants (the oracles' runners reshape 0-d
    inputs), their values drawn by their feed from a generator seeded with the tensor's
    index."""

    def __init__(self, name: str):
        super().__init__(name, feeds=FEEDS)

    def input(self, shape, dtype, quant=(None, None), feed=None) -> int:
        if shape == ():
            feed = feed or self.default_feed(shape, dtype)
            value = feed(np.random.default_rng(len(self.b.tensors)), 0)
            return self.b.tensor((), dtype, *quant, data=np.asarray(value, dtype))
        return super().input(shape, dtype, quant, feed)


def _quant(rng, low=1e-3, high=0.5) -> tuple[float, int]:
    return tb.random_scale(rng, low, high), int(rng.integers(-128, 128))


def broadcast_shapes(rng, n: int = 2, max_rank: int = 6) -> list[tuple[int, ...]]:
    """`n` shapes that broadcast together: random rank 0..max_rank, each operand with some
    dims set to 1 and some leading dims dropped (lower rank)."""
    rank = int(rng.integers(0, max_rank + 1))
    full = [int(rng.integers(1, 5)) for _ in range(rank)]
    shapes = []
    for _ in range(n):
        if rng.random() < 0.25:
            shapes.append(tuple(full))
            continue
        s = [d if rng.random() < 0.6 else 1 for d in full]
        if rank and rng.random() < 0.3:
            s = s[int(rng.integers(0, rank + 1)):]
        shapes.append(tuple(s))
    return shapes


def _out_shape(*shapes) -> tuple[int, ...]:
    return tuple(int(d) for d in np.broadcast_shapes(*shapes))


# -- the battery ------------------------------------------------------------------------------

def add_binary(bat: MathBattery, rng, rounds: int) -> None:
    fixed = [[(2, 3, 4), (4,)], [(1, 3, 1, 5), (2, 1, 4, 1)], [(), (3, 2)],
             [(2, 1, 2, 1, 3, 2), (1, 3, 1, 2, 3, 1)], [(1, 1, 1, 7), (1, 1, 1, 7)]]
    pairs = fixed + [broadcast_shapes(rng) for _ in range(rounds)]
    for i, (sa, sb) in enumerate(pairs):
        out = _out_shape(sa, sb)
        dtype = ["int8", "int16", "int32"][i % 3]
        q = (lambda: _quant(rng)) if dtype != "int32" else (lambda: (None, None))
        kind = ["MAXIMUM", "MINIMUM"][(i // 3) % 2]
        a = bat.input(sa, dtype, q(), _ints(dtype, sa, pool=20))
        b = bat.input(sb, dtype, q(), _ints(dtype, sb, pool=20))
        bat.b.op(kind, [a, b], [bat.output(out, dtype, q())])
        # Comparisons: int8 inputs with different scales (and the same one), int16, int32.
        kind = COMPARISONS[i % 6]
        cdtype = ["int8", "int8", "int16", "int32"][i % 4]
        if cdtype == "int8":
            qa = _quant(rng, 1e-3, 0.9)
            qb = qa if rng.random() < 0.3 else _quant(rng, 1e-3, 0.9)
            # Equal values on both sides: the zero points (0.0), and equal scales at times.
            fa, fb = _ints("int8", sa, 4, qa[1]), _ints("int8", sb, 4, qb[1])
        else:
            qa = qb = _quant(rng) if cdtype == "int16" else (None, None)
            fa, fb = _ints(cdtype, sa, pool=8), _ints(cdtype, sb, pool=8)
        a = bat.input(sa, cdtype, qa, fa)
        b = bat.input(sb, cdtype, qb, fb)
        bat.b.op(kind, [a, b], [bat.output(out, "bool")])
        # SQUARED_DIFFERENCE, int8 only in LiteRT.
        qa, qb = _quant(rng, 1e-3, 0.2), _quant(rng, 1e-3, 0.2)
        spread = max(qa[0], qb[0]) * 128
        qy = (float(np.float32(spread * spread / 100 * math.exp(rng.uniform(-1.5, 1.5)))),
              int(rng.integers(-128, -60)))
        a = bat.input(sa, "int8", qa, _ints("int8", sa))
        b = bat.input(sb, "int8", qb, _ints("int8", sb))
        bat.b.op("SQUARED_DIFFERENCE", [a, b], [bat.output(out, "int8", qy)])


    # int8 MAXIMUM/MINIMUM runs long enough for the SIMD paths (and their tails): equal
    # shapes, a repeated row, a repeated column (a step-0 operand), a scalar.
    for kind, sa, sb in (("MAXIMUM", (2, 53), (2, 53)), ("MINIMUM", (3, 37), (37,)),
                         ("MAXIMUM", (5, 1), (5, 40)), ("MINIMUM", (70,), (1,))):
        q = _quant(rng)
        a = bat.input(sa, "int8", q, _ints("int8", sa, pool=40))
        b = bat.input(sb, "int8", q, _ints("int8", sb, pool=40))
        bat.b.op(kind, [a, b], [bat.output(_out_shape(sa, sb), "int8", q)])


def add_select(bat: MathBattery, rng, rounds: int) -> None:
    triples = [[(2, 3), (2, 3), (2, 3)], [(4, 1, 3), (2, 1), (1,)], [(), (2, 2), (1, 2)],
               [(1, 2, 1, 2, 1, 3), (2, 1, 2, 1, 3, 1), (3, 1)]]
    triples += [broadcast_shapes(rng, 3) for _ in range(rounds)]
    for i, (sc, sx, sy) in enumerate(triples):
        out = _out_shape(sc, sx, sy)
        dtype = ["int8", "int16", "int32"][i % 3]
        q = _quant(rng) if dtype != "int32" else (None, None)
        c = bat.input(sc, "bool")
        x = bat.input(sx, dtype, q)
        y = bat.input(sy, dtype, _quant(rng) if dtype != "int32" else q)
        bat.b.op("SELECT_V2", [c, x, y], [bat.output(out, dtype, q)])
    # SELECT (v1): a condition of the values' shape, and a rank-1 one over the first dim.
    for shape, cshape in (((3, 4), (3, 4)), ((3, 2, 5), (3,)), ((4,), (4,))):
        c = bat.input(cshape, "bool")
        x = bat.input(shape, "int8", (0.1, 2))
        y = bat.input(shape, "int8", (0.1, 2))
        bat.b.op("SELECT", [c, x, y], [bat.output(shape, "int8", (0.1, 2))])
    # A constant condition (bytes in flash).
    cond = rng.random((2, 1, 3)) < 0.5
    c = bat.b.tensor((2, 1, 3), "bool", data=cond)
    x = bat.input((2, 4, 3), "int16", (0.01, 0))
    y = bat.input((4, 1), "int16", (0.01, 0))
    bat.b.op("SELECT_V2", [c, x, y], [bat.output((2, 4, 3), "int16", (0.01, 0))])


def add_prelu(bat: MathBattery, rng, rounds: int) -> None:
    pairs = [[(1, 4, 4, 8), (8,)], [(1, 4, 4, 8), (1, 1, 8)], [(2, 3, 5), (3, 5)],
             [(2, 1, 3, 2, 2), (3, 1, 2)], [(6,), (6,)]]
    for _ in range(rounds):
        x_shape = tuple(int(d) for d in rng.integers(1, 5, size=int(rng.integers(1, 6))))
        alpha = [d if rng.random() < 0.5 else 1 for d in x_shape]
        pairs.append([x_shape, tuple(alpha[int(rng.integers(0, len(alpha))):]) or (1,)])
    for i, (sx, sa) in enumerate(pairs):
        qx, qa = _quant(rng, 5e-3, 0.2), (tb.random_scale(rng, 2e-3, 0.02),
                                           int(rng.integers(-40, 40)))
        qy = (qx[0] * float(rng.uniform(0.8, 2.5)), int(rng.integers(-60, 60)))
        x = bat.input(sx, "int8", qx, _codes(sx))
        if i % 2:  # a constant alpha, as converters write it
            alpha = bat.b.tensor(sa, "int8", *qa, data=rng.integers(-128, 128, size=sa))
        else:
            alpha = bat.input(sa, "int8", qa, _ints("int8", sa))
        bat.b.op("PRELU", [x, alpha], [bat.output(sx, "int8", qy)])


def add_unary(bat: MathBattery, rng, quantizations: int) -> None:
    shape = (2, 8, 16)
    for _ in range(quantizations):
        qin, qout = _quant(rng), _quant(rng)
        for kind, qo in (("ABS", qout), ("ABS", qin), ("NEG", qout)):
            x = bat.input(shape, "int8", qin, _codes(shape))
            bat.b.op(kind, [x], [bat.output(shape, "int8", qo)])
        zp = int(rng.integers(-128, 100))
        qr = (tb.random_scale(rng, 1e-3, 0.5), zp)
        x = bat.input(shape, "int8", qr, _codes(shape, low=zp))  # RSQRT: x >= 0 only
        top = 1 / math.sqrt(qr[0])  # the largest output, at one code above the zero point
        bat.b.op("RSQRT", [x], [bat.output(shape, "int8", (top / rng.uniform(60, 250), -128))])
        qe = (tb.random_scale(rng, 3e-3, 0.03), int(rng.integers(-128, 128)))
        top = math.exp(qe[0] * (127 - qe[1]))
        x = bat.input(shape, "int8", qe, _codes(shape))
        bat.b.op("EXP", [x], [bat.output(shape, "int8", (top / 250 * rng.uniform(0.5, 1.5),
                                                         -128))])
        for kind, q_in, q_out in (("ABS", (qin[0], 0), (qout[0], 0)),
                                  ("ABS", (qin[0], 0), (qin[0], 0)),
                                  ("ABS", (None, None), (None, None)),
                                  ("NEG", (qin[0], 0), (qout[0], 0))):
            x = bat.input((3, 50), "int16", q_in, _ints("int16", (3, 50), pool=60))
            bat.b.op(kind, [x], [bat.output((3, 50), "int16", q_out)])


def add_chain(bat: MathBattery) -> None:
    """Hidden tensors that die at once: the planner may run these in place (a comparison's
    bool over its int8 input too)."""
    shape = (1, 6, 6, 4)
    x = bat.input(shape, "int8", (0.05, 3), _codes(shape))
    h1 = bat.b.tensor(shape, "int8", 0.04, -5)
    bat.b.op("ABS", [x], [h1])
    h2 = bat.b.tensor(shape, "int8", 0.04, -5)
    bat.b.op("NEG", [h1], [h2])
    k = bat.b.tensor((4,), "int8", 0.04, -5, data=np.array([-100, -20, 0, 50], np.int8))
    h3 = bat.b.tensor(shape, "int8", 0.04, -5)
    bat.b.op("MAXIMUM", [h2, k], [h3])
    alpha = bat.b.tensor((4,), "int8", 0.01, 0, data=np.array([25, -12, 100, 7], np.int8))
    h4 = bat.b.tensor(shape, "int8", 0.03, 1)
    bat.b.op("PRELU", [h3, alpha], [h4])
    other = bat.input(shape, "int8", (0.03, 1), _codes(shape))
    h5 = bat.b.tensor(shape, "bool")
    bat.b.op("GREATER", [h4, other], [h5])
    y = bat.output(shape, "int8", (0.03, 1))
    bat.b.op("SELECT_V2", [h5, h4, other], [y])


def battery(seed: int, rounds: int = 4) -> MathBattery:
    rng = np.random.default_rng(seed)
    bat = MathBattery(f"math battery {seed}")
    add_binary(bat, rng, rounds)
    add_select(bat, rng, rounds)
    add_prelu(bat, rng, rounds)
    add_unary(bat, rng, max(1, rounds // 2))
    add_chain(bat)
    return bat


# -- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("board", BOARDS)
def test_all_ops_one_build(board):
    """Every op of the family in one model per board: 0 mismatched bytes vs LiteRT."""
    check_battery(battery(seed=1), board, seed=1)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [11, 12, 13])
@pytest.mark.parametrize("board", board_params(["host", "qemu-m3", "qemu-m4", "qemu-m55",
                                                "qemu-m7"]))
def test_sweep(board, seed):
    check_battery(battery(seed, rounds=12), board, seed)


@pytest.mark.parametrize("board", board_params(["host"])
                         + board_params(["qemu-m4", "qemu-m55"], slow=True))
def test_elu_against_tflite_micro(board):
    """ELU (LiteRT's reference op set has none): verify falls back to TFLite Micro, and the
    firmware's bytes equal TFLM's on every code for several quantizations."""
    rng = np.random.default_rng(5)
    bat = MathBattery("elu")
    shape = (4, 64)
    for _ in range(4):
        x = bat.input(shape, "int8", _quant(rng, 5e-3, 0.1), _codes(shape))
        bat.b.op("ELU", [x], [bat.output(shape, "int8", _quant(rng, 5e-3, 0.1))])
    report = check_battery(bat, board, seed=5)
    assert report.reference == "tflm"


def _one_model(kind_quants, low_for=None):
    """One model of independent int8 unary ops over all 256 codes (LiteRT runs it once)."""
    b = ModelBuilder("tables")
    ins, outs, feeds = [], [], []
    for kind, qin, qout in kind_quants:
        x = b.tensor((1, 256), "int8", *qin)
        y = b.tensor((1, 256), "int8", *qout)
        b.op(kind, [x], [y])
        ins.append(x), outs.append(y)
        low = qin[1] if kind == "RSQRT" else -128
        codes = np.arange(low, 128, dtype=np.int8)
        feeds.append(np.resize(codes, 256).reshape(1, 256))
    return b.build(ins, outs), feeds


def test_tables_match_litert_exhaustively():
    """ABS, NEG, RSQRT, EXP tables built on the host equal LiteRT's outputs on every code,
    for quantizations over several orders of magnitude (no firmware build)."""
    from tinyconv.reference import litert_outputs
    rng = np.random.default_rng(3)
    cases = []
    for i in range(16):
        qin = (tb.random_scale(rng, 1e-3, 1.0), int(rng.integers(-128, 128)))
        qout = (tb.random_scale(rng, 1e-3, 1.0), int(rng.integers(-128, 128)))
        cases += [("ABS", qin, qout), ("ABS", qin, qin if i % 2 else qout),
                  ("NEG", qin, qout),
                  ("RSQRT", (qin[0], min(qin[1], 120)), qout),
                  ("EXP", (tb.random_scale(rng, 1e-3, 0.05), qin[1]), qout)]
    model, feeds = _one_model(cases)
    outputs = litert_outputs(model, [feeds])[0]
    for (kind, qin, qout), x, expected in zip(cases, feeds, outputs):
        sin, sout = float(np.float32(qin[0])), float(np.float32(qout[0]))
        table = {"ABS": lambda: abs_table(sin, qin[1], sout, qout[1]),
                 "NEG": neg_table,
                 "RSQRT": lambda: rsqrt_table(sin, qin[1], sout, qout[1]),
                 "EXP": lambda: lut_int8(sin, qin[1], sout, qout[1], exp_f32)}[kind]()
        np.testing.assert_array_equal(table[x.view(np.uint8)], expected,
                                      err_msg=f"{kind} in {qin} out {qout}")


def test_elu_table_matches_tflite_micro_exhaustively():
    from tinyconv.tflm import tflm_outputs
    rng = np.random.default_rng(4)
    cases = [("ELU", _quant(rng, 1e-3, 0.5), _quant(rng, 1e-3, 0.5)) for _ in range(12)]
    model, feeds = _one_model(cases)
    outputs = tflm_outputs(model, [feeds])[0]
    for (_, qin, qout), x, expected in zip(cases, feeds, outputs):
        table = lut_int8(float(np.float32(qin[0])), qin[1], float(np.float32(qout[0])),
                         qout[1], elu_f32)
        np.testing.assert_array_equal(table[x.view(np.uint8)], expected,
                                      err_msg=f"ELU in {qin} out {qout}")


@pytest.mark.parametrize("kind,dtypes,message", [
    ("SQUARED_DIFFERENCE", ("int16", "int16", "int16"), "is INT16, expected INT8"),
    ("MAXIMUM", ("int8", "int16", "int8"), "LiteRT takes one dtype"),
    ("LESS", ("int8", "int8", "int8"), "is INT8, expected BOOL"),
    ("RSQRT", ("int16", "int16"), "is INT16, expected INT8"),
])
def test_unsupported_dtypes_give_one_clear_error(kind, dtypes, message):
    from tinyconv.ir.tflite_import import import_tflite
    b = ModelBuilder(kind)
    ts = [b.tensor((2, 3), d, 0.1, 0) for d in dtypes]
    b.op(kind, ts[:-1], ts[-1:])
    with pytest.raises(TinyconvError) as info:
        import_tflite(b.build(ts[:-1], ts[-1:]), source="m.tflite")
    text = str(info.value)
    assert "\n" not in text and kind in text and message in text, text


@pytest.mark.parametrize("kind,scale,message", [
    ("LESS", 1.5, "input 1 scale multiplier 1.5 is not in (0, 1)"),
    ("SQUARED_DIFFERENCE", 1e-7, "output multiplier"),
])
def test_cases_litert_cannot_compute_are_refused_at_export(kind, scale, message):
    """An int8 comparison whose input scale is >= 1, and a SQUARED_DIFFERENCE whose output
    scale is too fine (LiteRT's multipliers must be below one there): one line naming the
    op, before any C is written."""
    from tinyconv import deploy
    from tinyconv.errors import UnsupportedOpError
    from tinyconv.ir.tflite_import import import_tflite
    b = ModelBuilder(kind)
    x = b.tensor((2, 3), "int8", scale if kind == "LESS" else 0.05, 0)
    w = b.tensor((2, 3), "int8", 0.1, 0)
    y = b.tensor((2, 3), "bool") if kind == "LESS" else b.tensor((2, 3), "int8", scale, 0)
    b.op(kind, [x, w], [y])
    graph = import_tflite(b.build([x, w], [y]), source="m.tflite")
    with pytest.raises(UnsupportedOpError) as info:
        deploy.prepare(graph, targets.get_board("host"))
    text = str(info.value)
    assert "\n" not in text and kind in text and message in text, text
