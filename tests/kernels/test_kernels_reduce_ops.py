"""MEAN, SUM, REDUCE_MAX, ARG_MAX, ARG_MIN, LOG_SOFTMAX, L2_NORMALIZATION: kernels in
firmware/kernels/reduce/ and their lowering (tinyconv/codegen/lowering/reduce.py).

1. The whole pipeline, byte for byte: one "battery" model per seed holds every code path
   side by side (every axis subset of a 4D MEAN, LiteRT's former special MEAN paths: 4D
   height-and-width keep_dims and equal input/output quantization; random ranks 1 to 6
   with negative and repeated axes, keep_dims or not, int8 and int16; arg max/min on every
   axis with ties, int32 and int64 outputs; log softmax and l2 normalization rows) and runs
   on the host under ASan/UBSan, on qemu-m4 (DSP) and qemu-m55 (Helium).
   The oracle is LiteRT BUILTIN_REF, except for SUM: LiteRT 2.3.0's reference SUM is wrong
   for quantized tensors (it computes int8 as if it were uint8, and int16 garbage;
   test_litert_quantized_sum_is_wrong shows it), so SUM is compared with TFLite Micro,
   which computes what LiteRT's own QuantizedMeanOrSum source says.
2. No build: the axis merging, the refusal of what LiteRT refuses (one line naming the
   op), and the kernels' argument checks (ctypes, UBSan).
"""

from __future__ import annotations

import ctypes
import math
from itertools import combinations
from pathlib import Path

import numpy as np
import pytest

import tflite_builder as tb
from battery import Battery
from harness import board_params
from kernel_abi import KERNELS, host_library
from tflite_builder import ModelBuilder, schema
from tinyconv import deploy, firmware, targets
from tinyconv.codegen.lowering.reduce import reduce_runs
from tinyconv.errors import TinyconvError
from tinyconv.ir.ops import Sum
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.planner import plan_memory
from tinyconv.reference import litert_outputs, reference_outputs
from tinyconv.tflm import tflm_outputs
from tinyconv.verify import samples_to_bytes, split_outputs

BOARDS = board_params(["host", "qemu-m4", "qemu-m55"])
INT_RANGE = {"int8": (-128, 128), "int16": (-32768, 32768)}


# -- 1. the battery ------------------------------------------------------------------------

def _uniform(shape, dtype: str):
    low, high = INT_RANGE[dtype]
    return lambda r, _i: r.integers(low, high, size=shape).astype(dtype)


def _ties(shape, dtype: str, values):
    return lambda r, _i: r.choice(values, size=shape).astype(dtype)


FEEDS = {dtype: (lambda shape, dtype=dtype: _uniform(shape, dtype)) for dtype in INT_RANGE}


class ReduceBattery(Battery):
    """A battery that draws quantizations (and tie values) from `rng`, with the family's
    ops."""

    def __init__(self, name: str, rng: np.random.Generator):
        super().__init__(name, feeds=FEEDS)
        self.rng = rng
        self.dtypes: dict[int, str] = {}

    def input(self, shape, dtype="int8", quant=None, ties=False, feed=None) -> int:
        quant = quant or self.quant(dtype)
        if feed is None and ties:  # few distinct values: arg max/min must pick the first
            feed = _ties(shape, dtype, self.rng.integers(*INT_RANGE[dtype], size=3))
        t = super().input(shape, dtype, quant, feed)
        self.dtypes[t] = dtype
        return t

    def quant(self, dtype="int8", scale=None) -> tuple[float, int]:
        scale = scale or tb.random_scale(self.rng, 1e-3, 0.3)
        return scale, 0 if dtype == "int16" else int(self.rng.integers(-128, 128))

    def shape_of(self, t: int) -> tuple[int, ...]:
        return tuple(self.b.tensors[t].shape)

    def q_of(self, t: int) -> tuple[float, int]:
        q = self.b.tensors[t].quantization
        return float(q.scale[0]), int(q.zeroPoint[0])

    def reduce(self, kind: str, x: int, axes, keep: bool, out_quant=None) -> int:
        shape = self.shape_of(x)
        rank = len(shape)
        reduced = {a % rank for a in axes}
        out = [1 if i in reduced else d for i, d in enumerate(shape)] if keep else \
            [d for i, d in enumerate(shape) if i not in reduced]
        dtype = self.dtypes.get(x, "int8")
        if out_quant is None:
            scale, zp = self.q_of(x)
            count = math.prod(shape[a] for a in reduced)
            gain = math.sqrt(count) if kind == "SUM" else 1.0 / math.sqrt(count)
            out_quant = (scale if kind == "REDUCE_MAX" else
                         scale * gain * float(np.exp(self.rng.uniform(-1, 1))),
                         zp if kind == "REDUCE_MAX" else self.quant(dtype)[1])
        y = self.output(out, dtype, out_quant)
        ax = self.b.const(np.array(list(axes), np.int32))
        self.b.op(kind, [x, ax], [y], schema.ReducerOptionsT(keepDims=keep))
        return y

    def arg(self, kind: str, x: int, axis: int, out_dtype: str, axis_dtype: str) -> int:
        shape = self.shape_of(x)
        out = [d for i, d in enumerate(shape) if i != axis % len(shape)]
        y = self.output(out, out_dtype)
        options = (schema.ArgMaxOptionsT if kind == "ARG_MAX" else schema.ArgMinOptionsT)()
        options.outputType = getattr(schema.TensorType, out_dtype.upper())
        self.b.op(kind, [x, self.b.const(np.array([axis], axis_dtype))], [y], options)
        return y

    def normalization(self, kind: str, x: int) -> int:
        shape = self.shape_of(x)
        if kind == "LOG_SOFTMAX":
            y = self.output(shape, "int8", (16 / 256, 127))
            self.b.op(kind, [x], [y], schema.LogSoftmaxOptionsT())
        else:
            y = self.output(shape, "int8", (1 / 128, 0))
            self.b.op(kind, [x], [y], schema.L2NormOptionsT())
        return y


def _random_shape(rng, rank: int, high: int = 6) -> tuple[int, ...]:
    return tuple(int(d) for d in rng.integers(1, high + 1, size=rank))


def _random_axes(rng, rank: int) -> list[int]:
    """A random set of axes, written as TFLite files may: negative, repeated, unordered
    (possibly empty: the identity with requantization)."""
    chosen = [int(a) for a in rng.permutation(rank)[:int(rng.integers(0, rank + 1))]]
    axes = [a - rank if rng.random() < 0.4 else a for a in chosen]
    if axes and rng.random() < 0.3:
        axes.append(axes[0] - rank if axes[0] >= 0 else axes[0] + rank)  # the same axis again
    return axes


def add_mean_paths(bat: ReduceBattery) -> None:
    """MEAN on every axis subset of a 4D input, and the cases LiteRT once special-cased."""
    x = bat.input((2, 5, 6, 7))
    for k in range(5):
        for axes in combinations(range(4), k):
            bat.reduce("MEAN", x, list(axes), keep=bool(sum(axes) % 2))
    x = bat.input((1, 7, 9, 5), quant=(0.05, -3))
    bat.reduce("MEAN", x, [1, 2], True, (0.05, -3))  # 4D H,W keep_dims, same quantization
    bat.reduce("MEAN", x, [2, 1], True, (0.02, 9))   # 4D H,W keep_dims, rescaled
    bat.reduce("MEAN", x, [-3, -2], False, (0.05, -3))  # equal quantization, not kept
    x = bat.input((1, 24, 24, 3), quant=(1e-3, 5))
    bat.reduce("MEAN", x, [1, 2], True, (30.0, -3))   # positive shift
    bat.reduce("MEAN", x, [1, 2], False, (1e-5, 7))   # LiteRT caps the count's extra shift
    x = bat.input((3, 4, 5), "int16", (0.01, 0))
    bat.reduce("MEAN", x, [0, 2], True, (0.004, 0))
    bat.reduce("REDUCE_MAX", x, [1], False, (0.01, 0))
    x = bat.input((1, 3, 40), quant=(0.02, 1))  # wide kept rows: lane blocks and tails
    bat.reduce("REDUCE_MAX", x, [1], True, (0.02, 1))


def add_random_reductions(bat: ReduceBattery, sums: ReduceBattery, n: int) -> None:
    """MEAN and REDUCE_MAX (LiteRT) and SUM (TFLM): random ranks 1 to 6, axes, dtypes."""
    rng = bat.rng
    for i in range(n):
        rank = int(rng.integers(1, 7))
        shape = _random_shape(rng, rank, 6 if rank <= 4 else 3)
        dtype = "int16" if rng.random() < 0.35 else "int8"
        keep = bool(rng.random() < 0.5)
        kind = ("MEAN", "REDUCE_MAX")[i % 2]
        bat.reduce(kind, bat.input(shape, dtype), _random_axes(rng, rank), keep)
        sums.reduce("SUM", sums.input(shape, dtype), _random_axes(rng, rank), keep)


def add_arg_min_max(bat: ReduceBattery, n: int) -> None:
    rng = bat.rng
    for i in range(n):
        rank = int(rng.integers(1, 6))
        shape = _random_shape(rng, rank, 7 if rank <= 3 else 4)
        x = bat.input(shape, ties=bool(i % 2))
        axis = int(rng.integers(-rank, rank))
        bat.arg(("ARG_MAX", "ARG_MIN")[i % 2], x, axis, ("int32", "int64")[(i // 2) % 2],
                ("int32", "int64")[int(rng.integers(0, 2))])


def add_normalizations(bat: ReduceBattery) -> None:
    rng = bat.rng
    for kind in ("LOG_SOFTMAX", "L2_NORMALIZATION"):
        for shape in ((10,), (3, 17), (2, 3, 4, 5), (1, 1, 2, 2, 33), (4, 1)):
            scale = float(np.exp(rng.uniform(np.log(1e-3), np.log(0.5))))
            bat.normalization(kind, bat.input(shape, quant=(scale, int(rng.integers(-128, 128)))))
    # Rows of ties (log softmax), and l2 rows whose sum of squares is 0 or 1 (LiteRT's
    # inverse square root takes those apart).
    bat.normalization("LOG_SOFTMAX", bat.input((2, 6), quant=(0.1, 0), ties=True))
    rows = np.array([[4, 4, 4, 4, 4, 4], [4, 5, 4, 4, 4, 4], [4, 3, 4, 4, 4, 4]], np.int8)
    bat.normalization("L2_NORMALIZATION", bat.input((3, 6), quant=(0.1, 4),
                                                    feed=lambda r, _i: rows.copy()))
    # A chain whose intermediate dies at once: the planner runs both in place.
    x = bat.input((3, 20), quant=(0.08, -7))
    h = bat.b.tensor((3, 20), "int8", 16 / 256, 127)
    bat.b.op("LOG_SOFTMAX", [x], [h], schema.LogSoftmaxOptionsT())
    h2 = bat.b.tensor((3, 20), "int8", 1 / 128, 0)
    bat.b.op("L2_NORMALIZATION", [h], [h2], schema.L2NormOptionsT())
    bat.reduce("REDUCE_MAX", h2, [-1], False, (1 / 128, 0))


def batteries(seed: int, n_random: int) -> tuple[ReduceBattery, ReduceBattery]:
    """(ops checked against LiteRT, SUMs checked against TFLite Micro)."""
    rng = np.random.default_rng(seed)
    bat = ReduceBattery(f"reduce battery {seed}", rng)
    sums = ReduceBattery(f"sum battery {seed}", rng)
    add_mean_paths(bat)
    add_random_reductions(bat, sums, n_random)
    add_arg_min_max(bat, max(4, n_random // 2))
    add_normalizations(bat)
    return bat, sums


def check(seed: int, n_random: int, board: str, tmp_path: Path, n: int = 3) -> None:
    bat, sums = batteries(seed, n_random)
    main, sum_model = bat.model(), sums.model()
    model = tb.merge_models([main, sum_model], f"reductions {seed}")
    main_samples, sum_samples = bat.samples(seed, n), sums.samples(seed + 1, n)
    expected = [a + b for a, b in zip(litert_outputs(main, main_samples),
                                      tflm_outputs(sum_model, sum_samples))]
    graph = import_tflite(model, source=f"reductions {seed}")
    board_ = targets.get_board(board)
    deployment = deploy.prepare(graph, board_)
    deploy.write_model_dir(deployment, tmp_path / "model")
    built = firmware.build(tmp_path / "model", board_, tmp_path / "build")
    samples = [a + b for a, b in zip(main_samples, sum_samples)]
    ours = split_outputs(firmware.run(built, samples_to_bytes(samples), n).outputs, graph, n)
    n_main = len(bat.outputs)
    producer = {op.y.index: op for op in graph.ops}
    bad = []
    for k, (got, want) in enumerate(zip(ours, expected)):
        for i, (g, w) in enumerate(zip(got, want)):
            g = np.asarray(g).reshape(-1)
            w = np.asarray(w).astype(g.dtype).reshape(-1)
            if g.shape != w.shape or not np.array_equal(g, w):
                op = producer[graph.outputs[i].index]
                oracle = "TFLM" if i >= n_main else "LiteRT"
                bad.append(f"sample {k} output {i} ({op.describe()} {op.x.shape} vs "
                           f"{oracle}): "
                           f"{int(np.sum(g != w)) if g.shape == w.shape else 'shape'} differ")
    assert not bad, f"{len(bad)} outputs differ on {board}: " + "; ".join(bad[:8])


@pytest.mark.parametrize("board", BOARDS)
def test_reductions_battery(board, tmp_path):
    """Every op of the family, every path, on one build per board."""
    check(seed=1, n_random=12, board=board, tmp_path=tmp_path)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [2, 3, 4])
@pytest.mark.parametrize("board", board_params(["host", "qemu-m3", "qemu-m4", "qemu-m7",
                                                "qemu-m55"]))
def test_reductions_sweep(board, seed, tmp_path):
    check(seed=seed, n_random=40, board=board, tmp_path=tmp_path, n=4)


# -- 2. no build -----------------------------------------------------------------------------

def test_litert_quantized_sum_is_wrong():
    """Why SUM is checked against TFLite Micro: LiteRT 2.3.0's BUILTIN_REF quantized SUM
    reads int8 as uint8 (8 x -10 with zero point 3, scale 0.05 -> 0.5, zero point -5 gives
    -67, not -15). When LiteRT fixes it this fails, and SUM can go back to LiteRT."""
    b = ModelBuilder("sum")
    x = b.tensor((1, 8), "int8", 0.05, 3)
    y = b.tensor((1,), "int8", 0.5, -5)
    b.op("SUM", [x, b.const(np.array([1], np.int32))], [y], schema.ReducerOptionsT())
    model = b.build([x], [y])
    sample = [[np.full((1, 8), -10, np.int8)]]
    assert int(tflm_outputs(model, sample)[0][0][0]) == -15  # round(-104 * 0.1) - 5
    assert int(litert_outputs(model, sample)[0][0][0]) == -67  # 1944 * 0.1 -> 189 -> int8
    chosen = reference_outputs(model, sample)  # --match auto: TFLM, and says why
    assert chosen.name == "tflm" and "SUM is wrong" in chosen.note
    assert int(chosen.outputs[0][0][0]) == -15


def test_normalizations_run_in_place():
    """LOG_SOFTMAX and L2_NORMALIZATION read a row before writing it: the planner puts
    their outputs over inputs that die there (the battery runs that chain end to end)."""
    bat, _ = batteries(1, 0)
    graph = import_tflite(bat.model(), source="battery")
    plan = plan_memory(graph)
    producer = {op.y.index: op for op in graph.ops}
    l2 = next(op for op in graph.ops
              if op.kind == "L2_NORMALIZATION" and op.x.index in producer)
    assert producer[l2.x.index].kind == "LOG_SOFTMAX"
    assert l2.index in plan.inplace_ops
    assert plan.tensor_offsets[l2.x.index] == plan.tensor_offsets[l2.y.index]


@pytest.mark.parametrize("shape, axes, kept, reduced", [
    ((1, 7, 7, 32), (1, 2), [1, 1, 1, 32], [1, 1, 49, 1]),     # global pool: lanes
    ((4, 10), (1,), [1, 1, 1, 4], [1, 1, 1, 10]),              # rows: contiguous runs
    ((2, 3, 4, 5, 6), (0, 2, 4), [1, 1, 3, 5], [1, 2, 4, 6]),
    ((2, 3, 4, 5, 6, 7), (1, 3, 5), [1, 2, 4, 6], [1, 3, 5, 7]),
    ((2, 3, 4, 5, 6, 7), (0, 2, 4), [1, 3, 5, 7], [2, 4, 6, 1]),
    ((3, 1, 4), (1,), [1, 1, 1, 12], [1, 1, 1, 1]),            # extent-1 axes drop out
    ((5,), (), [1, 1, 1, 5], [1, 1, 1, 1]),
    ((5, 6), (0, 1), [1, 1, 1, 1], [1, 1, 1, 30]),
])
def test_axes_merge_into_alternating_runs(shape, axes, kept, reduced):
    op = Sum(inputs=[], outputs=[])
    assert reduce_runs(op, shape, axes) == (kept, reduced)


def _one_op(kind, x_shape, x_dtype, x_quant, y_shape, y_dtype, y_quant, options, consts=()):
    b = ModelBuilder(kind)
    x = b.tensor(x_shape, x_dtype, *x_quant)
    y = b.tensor(y_shape, y_dtype, *y_quant)
    b.op(kind, [x] + [b.const(c) for c in consts], [y], options)
    return b.build([x], [y])


@pytest.mark.parametrize("model, message", [
    (lambda: _one_op("ARG_MAX", (2, 5), "int16", (0.1, 0), (2,), "int32", (None, None),
                     schema.ArgMaxOptionsT(), [np.array([1], np.int32)]),
     r"ARG_MAX.*is INT16, expected INT8"),
    (lambda: _one_op("REDUCE_MAX", (2, 5), "int8", (0.1, 0), (2,), "int8", (0.2, 0),
                     schema.ReducerOptionsT(), [np.array([1], np.int32)]),
     r"REDUCE_MAX.*quantization differ"),
    (lambda: _one_op("LOG_SOFTMAX", (2, 5), "int8", (0.1, 0), (2, 5), "int8", (0.1, 127),
                     schema.LogSoftmaxOptionsT()), r"LOG_SOFTMAX.*requires 16/256 and 127"),
    (lambda: _one_op("L2_NORMALIZATION", (2, 5), "int8", (0.1, 0), (2, 5), "int8",
                     (1 / 128, 3), schema.L2NormOptionsT()), r"L2_NORMALIZATION.*1/128 and 0"),
    (lambda: _one_op("MEAN", (2, 5), "int16", (0.1, 2), (2,), "int16", (0.1, 0),
                     schema.ReducerOptionsT(), [np.array([1], np.int32)]),
     r"MEAN.*int16 with zero point 2"),
    (lambda: _one_op("SUM", (2, 5), "int8", (0.1, 0), (2, 1), "int8", (0.1, 0),
                     schema.ReducerOptionsT(), [np.array([1], np.int32)]),
     r"SUM.*expected \[2\]"),
    (lambda: _one_op("MEAN", (2, 5), "int8", (0.1, 0), (2,), "int8", (0.1, 0),
                     schema.ReducerOptionsT(), [np.array([1], np.int64)]),
     r"MEAN.*is INT64, expected INT32"),
])
def test_unsupported_cases_are_one_clear_error(model, message):
    with pytest.raises(TinyconvError, match=message) as e:
        import_tflite(model(), source="m")
    assert "\n" not in str(e.value)


class ReduceShape(ctypes.Structure):
    _fields_ = [("kept", ctypes.c_int32 * 4), ("reduced", ctypes.c_int32 * 4)]


class ArgParams(ctypes.Structure):
    _fields_ = [(n, ctypes.c_int32) for n in ("outer", "axis_size", "inner", "is_min",
                                              "output_int64")]


def test_kernel_argument_checks(tmp_path):
    """The kernels refuse shapes they cannot walk (TC_ARG_ERROR, nothing written), and
    ARG_MAX writes int64 indices to an odd address without fault (UBSan watches)."""
    lib = host_library(sorted((KERNELS / "reduce").glob("*.c")), tmp_path / "libreduce.so")
    x = np.arange(-12, 12, dtype=np.int8)
    out = np.full(32, 0x5A, np.uint8)
    p = lambda a, t=ctypes.c_int8: a.ctypes.data_as(ctypes.POINTER(t))  # noqa: E731
    bad = ReduceShape((1, 1, 1, 4), (1, 0, 1, 6))
    assert lib.tc_reduce_max_s8(ctypes.byref(bad), p(x), p(out)) == -1
    assert np.all(out == 0x5A)
    good = ReduceShape((1, 1, 1, 4), (1, 1, 1, 6))
    assert lib.tc_reduce_max_s8(ctypes.byref(good), p(x), p(out)) == 0
    assert list(out[:4].view(np.int8)) == [-7, -1, 5, 11]
    args = ArgParams(2, 3, 4, 0, 1)  # [2, 3, 4], axis 1, int64 out
    buf = np.zeros(8 * 8 + 1, np.uint8)
    odd = ctypes.c_void_p(buf.ctypes.data + 1)
    assert lib.tc_arg_min_max_s8(ctypes.byref(args), p(x), odd) == 0
    assert list(buf[1:].view(np.int64)) == [2] * 8
    assert lib.tc_arg_min_max_s8(ctypes.byref(ArgParams(2, 0, 4, 0, 0)), p(x),
                                 ctypes.c_void_p(buf.ctypes.data)) == -1
