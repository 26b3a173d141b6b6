"""Shape and data movement kernels vs LiteRT BUILTIN_REF, bit exact: STRIDED_SLICE, SLICE,
SPLIT, SPLIT_V, PACK, UNPACK, GATHER, DEPTH_TO_SPACE, SPACE_TO_DEPTH, BROADCAST_TO, CAST.

Builds are the cost, so one "battery" model per board holds many independent ops, each
with its own graph inputs, random shapes, axes (negative ones too), masks and
quantization, in int8 and int16 (int32, float32 and bool where the op takes them, and
CAST between all of them). LiteRT's own output shapes are checked against the model's
before any firmware is built, so the shape arithmetic is checked independently too.
Chains of slices and casts on tensors that die at once make the planner run them in place.

Boards: `host` builds with -fsanitize=address,undefined; qemu-m3 runs the portable C
kernels, qemu-m4 the Armv7E-M DSP build, qemu-m55 the Helium build.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from battery import Battery, check_battery
from harness import board_params
from tflite_builder import ModelBuilder, schema
from tinyconv.errors import TinyconvError
from tinyconv.ir import ops as O
from tinyconv.ir.graph import DType, Tensor
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.reference import litert_outputs

# CI: host (ASan/UBSan), M4 (DSP build), M55 (Helium build); slow: M3 (portable) and M7.
FAST_BOARDS = board_params(["host", "qemu-m4", "qemu-m55"])
SLOW_BOARDS = board_params(["qemu-m3", "qemu-m7"], slow=True)
QUANTIZED = ("int8", "int16")
# BROADCAST_TO's version 1 is the old custom op; LiteRT registers the builtin from 2.
VERSIONS = {"BROADCAST_TO": 2}


# -- model batteries ---------------------------------------------------------------------------

def _random_values(rng, shape, dtype):
    dtype = np.dtype(dtype)
    if dtype == np.bool_:
        return rng.integers(0, 2, size=shape).astype(np.bool_)
    if dtype.kind == "f":
        return (rng.standard_normal(size=shape) * 50).astype(dtype)
    info = np.iinfo(dtype)
    lo, hi = max(info.min, -(2**40)), min(info.max, 2**40)
    return rng.integers(lo, hi, size=shape, endpoint=True).astype(dtype)


def _random_feed(shape, dtype: str):
    shape = tuple(shape)  # callers reuse their shape lists
    return lambda rng, _i: _random_values(rng, shape, dtype)


FEEDS = {dtype: (lambda shape, dtype=dtype: _random_feed(shape, dtype))
         for dtype in ("int8", "uint8", "int16", "int32", "int64", "float32", "bool")}


class ShapeBattery(Battery):
    """A battery that draws its quantizations from `rng` and records the op kinds."""

    def __init__(self, name: str, rng):
        super().__init__(name, feeds=FEEDS)
        self.rng = rng
        self.kinds: set[str] = set()

    def quant(self, dtype):
        if dtype not in QUANTIZED:
            return (None, None)
        zp = int(self.rng.integers(-100, 101)) if dtype == "int8" else 0
        return (float(np.float32(math.exp(self.rng.uniform(-7, 0)))), zp)

    def op(self, kind, inputs, outputs, options=None) -> None:
        self.kinds.add(kind)
        self.b.op(kind, inputs, outputs, options, version=VERSIONS.get(kind, 1))


def _shape(rng, rank: int, low: int = 1, high: int = 6) -> tuple[int, ...]:
    return tuple(int(v) for v in rng.integers(low, high + 1, size=rank))


def _strided_slice_shape(shape, begin, end, strides, masks, offset):
    """(axes, output shape) of a spec through the IR's loop nest, or None when LiteRT would
    copy nothing or refuse it (empty outputs, shrinking past the end)."""
    x = Tensor(0, "x", tuple(shape), DType.INT8)
    op = O.StridedSlice(inputs=[x, None, None, None], outputs=[], begin=tuple(begin),
                        end=tuple(end), strides=tuple(strides), offset=offset, **masks)
    try:
        axes, out = op.loops()
    except ValueError:
        return None
    if len(axes) > 5 or any(a.shrink and a.count != 1 for a in axes) or \
            tuple(a.count for a in axes if not a.shrink) != out or any(d < 1 for d in out):
        return None
    return out


def add_strided_slices(bat: ShapeBattery, dtype: str, cases: int) -> None:
    rng = bat.rng
    done = 0
    while done < cases:
        rank = int(rng.integers(1, 6))
        shape = _shape(rng, rank, 1, 7)
        count = int(rng.integers(1, rank + 1))
        begin = [int(v) for v in rng.integers(-8, 8, size=count)]
        end = [int(v) for v in rng.integers(-8, 9, size=count)]
        strides = [int(rng.choice([1, 1, 2, 3, -1, -2])) for _ in range(count)]
        def mask(p):  # noqa: E306
            return int(sum(1 << i for i in range(count) if rng.random() < p))
        masks = dict(begin_mask=mask(0.3), end_mask=mask(0.3), shrink_axis_mask=mask(0.2),
                     new_axis_mask=mask(0.15), ellipsis_mask=0)
        if rng.random() < 0.3:
            masks["ellipsis_mask"] = 1 << int(rng.integers(0, count))
        offset = bool(rng.random() < 0.2)
        if offset:  # end is a size from begin (LiteRT 2.x); keep it inside the axis
            masks = dict(begin_mask=0, end_mask=0, shrink_axis_mask=0, new_axis_mask=0,
                         ellipsis_mask=0)
            begin = [int(rng.integers(0, d)) for d in shape[:count]]
            strides = [int(rng.choice([1, 2])) for _ in range(count)]
            end = [int(rng.integers(1, d - b + 1)) for d, b in zip(shape, begin)]
        out = _strided_slice_shape(shape, begin, end, strides, masks, offset)
        if out is None:
            continue
        q = bat.quant(dtype)
        x = bat.input(shape, dtype, q)
        consts = [bat.b.const(np.array(v, np.int32)) for v in (begin, end, strides)]
        y = bat.output(out, dtype, q)
        bat.op("STRIDED_SLICE", [x, *consts], [y], schema.StridedSliceOptionsT(
            beginMask=masks["begin_mask"], endMask=masks["end_mask"],
            ellipsisMask=masks["ellipsis_mask"], newAxisMask=masks["new_axis_mask"],
            shrinkAxisMask=masks["shrink_axis_mask"], offset=offset))
        done += 1


# Hand-picked STRIDED_SLICE specs: (shape, begin, end, strides, masks, offset), in numpy terms.
STRIDED_SLICE_CASES = [
    ((2, 3, 4, 5), [0, 1], [0, 3], [1, 1], dict(ellipsis_mask=1), False),  # x[..., 1:3]
    ((4, 5), [1, 0, 0], [3, 0, 0], [1, 1, 1], dict(new_axis_mask=2, end_mask=4),
     False),  # x[1:3, None, :]
    ((6, 7), [-1, 5], [0, 0], [-1, -2], dict(end_mask=3), False),  # x[::-1, 5::-2]
    ((3, 4, 5), [0, -1, 0], [3, 0, 5], [1, 1, 1], dict(shrink_axis_mask=2),
     False),  # x[:, -1, :]
    ((5, 6), [1, 2], [3, 3], [1, 2], {}, True),  # offset: sizes from begin
    ((3, 4), [0, 1], [0, 2], [1, 1], dict(ellipsis_mask=1, new_axis_mask=1),
     False),  # new axis and ellipsis on one index: the new axis is ignored
    ((2, 3, 4), [0, 0, 1], [0, 0, 3], [1, 1, 1], dict(ellipsis_mask=1, new_axis_mask=2),
     False),  # x[..., None, 1:3]
    ((2, 3, 4, 5, 3), [1, -2, 9, -9], [-9, 9, -9, 9], [-1, 1, -3, 2],
     dict(begin_mask=4), False),  # clamped out-of-range begin/end
]


def add_fixed_strided_slices(bat: ShapeBattery, dtype: str) -> None:
    for shape, begin, end, strides, given, offset in STRIDED_SLICE_CASES:
        masks = dict(begin_mask=0, end_mask=0, ellipsis_mask=0, new_axis_mask=0,
                     shrink_axis_mask=0) | given
        out = _strided_slice_shape(shape, begin, end, strides, masks, offset)
        assert out is not None, (shape, begin, end, strides, masks)
        q = bat.quant(dtype)
        x = bat.input(shape, dtype, q)
        consts = [bat.b.const(np.array(v, np.int32)) for v in (begin, end, strides)]
        y = bat.output(out, dtype, q)
        bat.op("STRIDED_SLICE", [x, *consts], [y], schema.StridedSliceOptionsT(
            beginMask=masks["begin_mask"], endMask=masks["end_mask"],
            ellipsisMask=masks["ellipsis_mask"], newAxisMask=masks["new_axis_mask"],
            shrinkAxisMask=masks["shrink_axis_mask"], offset=offset))


def add_slices(bat: ShapeBattery, dtype: str, cases: int) -> None:
    rng = bat.rng
    for _ in range(cases):
        shape = _shape(rng, int(rng.integers(1, 6)), 1, 6)
        begin = [int(rng.integers(0, d)) for d in shape]
        size = [-1 if rng.random() < 0.3 else int(rng.integers(1, d - b + 1))
                for d, b in zip(shape, begin)]
        out = tuple(d - b if s == -1 else s for d, b, s in zip(shape, begin, size))
        index = "int64" if rng.random() < 0.3 else "int32"
        q = bat.quant(dtype)
        x = bat.input(shape, dtype, q)
        y = bat.output(out, dtype, q)
        bat.op("SLICE", [x, bat.b.const(np.array(begin, index)),
                         bat.b.const(np.array(size, index))], [y], schema.SliceOptionsT())


def add_splits(bat: ShapeBattery, dtype: str, cases: int) -> None:
    rng = bat.rng
    for _ in range(cases):
        rank = int(rng.integers(1, 5))
        shape = list(_shape(rng, rank, 1, 5))
        axis = int(rng.integers(-rank, rank))
        q = bat.quant(dtype)
        # SPLIT: equal parts
        parts = int(rng.integers(1, 4))
        shape[axis] = parts * int(rng.integers(1, 3))
        x = bat.input(shape, dtype, q)
        outs = [bat.output([shape[axis] // parts if i == axis % rank else d
                            for i, d in enumerate(shape)], dtype, q) for _ in range(parts)]
        bat.op("SPLIT", [bat.b.const(np.array(axis, np.int32)), x], outs,
               schema.SplitOptionsT(numSplits=parts))
        # SPLIT_V: sizes with one -1
        shape[axis] = int(rng.integers(2, 8))
        sizes, left = [], shape[axis]
        while left > 0:
            s = int(rng.integers(1, left + 1))
            sizes.append(s)
            left -= s
        given = list(sizes)
        if rng.random() < 0.6:
            given[int(rng.integers(0, len(given)))] = -1
        x = bat.input(shape, dtype, q)
        outs = [bat.output([s if i == axis % rank else d for i, d in enumerate(shape)],
                           dtype, q) for s in sizes]
        bat.op("SPLIT_V", [x, bat.b.const(np.array(given, np.int32)),
                           bat.b.const(np.array(axis, np.int32))], outs,
               schema.SplitVOptionsT(numSplits=len(sizes)))


def add_pack_unpack(bat: ShapeBattery, dtype: str, cases: int) -> None:
    rng = bat.rng
    for _ in range(cases):
        rank = int(rng.integers(1, 5))
        shape = _shape(rng, rank, 1, 5)
        n = int(rng.integers(1, 4))
        axis = int(rng.integers(-(rank + 1), rank + 1))
        q = bat.quant(dtype)
        xs = [bat.input(shape, dtype, q) for _ in range(n)]
        a = axis % (rank + 1)
        y = bat.output(shape[:a] + (n,) + shape[a:], dtype, q)
        bat.op("PACK", xs, [y], schema.PackOptionsT(valuesCount=n, axis=axis))
        axis = int(rng.integers(-rank, rank))
        x = bat.input(shape, dtype, q)
        a = axis % rank
        out = tuple(d for i, d in enumerate(shape) if i != a)
        outs = [bat.output(out, dtype, q) for _ in range(shape[a])]
        bat.op("UNPACK", [x], outs, schema.UnpackOptionsT(num=shape[a], axis=axis))


def add_gathers(bat: ShapeBattery, dtype: str, cases: int) -> None:
    rng = bat.rng
    for k in range(cases):
        rank = int(rng.integers(1, 5))
        shape = _shape(rng, rank, 1, 5)
        axis = int(rng.integers(0, rank))
        batch_dims = int(rng.integers(0, axis + 1)) if rng.random() < 0.4 else 0
        # Computed indices come from a model input, of rank >= 1 (LiteRT is not fed rank-0
        # model inputs through tinyconv.reference here).
        computed = k % 2 == 1
        idx_rank = int(rng.integers(1 if computed and not batch_dims else 0, 3))
        idx_shape = tuple(shape[:batch_dims]) + _shape(rng, idx_rank, 1, 4)
        idx_type = "int64" if k % 3 == 2 else "int32"
        indices = rng.integers(0, shape[axis], size=idx_shape).astype(idx_type)
        q = bat.quant(dtype)
        constant_params = k % 3 == 1
        if constant_params:
            x = bat.b.const(_random_values(rng, shape, dtype), scale=q[0], zero_point=q[1])
        else:
            x = bat.input(shape, dtype, q)
        if computed:
            i = bat.input(idx_shape, idx_type, feed=lambda r, _i, s=idx_shape, t=idx_type,
                          n=shape[axis]: r.integers(0, n, size=s).astype(t))
        else:
            i = bat.b.const(indices)
        out = tuple(shape[:axis]) + tuple(idx_shape[batch_dims:]) + tuple(shape[axis + 1:])
        y = bat.output(out, dtype, q)
        given_axis = axis - rank if rng.random() < 0.5 else axis
        given_bd = batch_dims - len(idx_shape) \
            if 0 < batch_dims < len(idx_shape) and rng.random() < 0.5 else batch_dims
        bat.op("GATHER", [x, i], [y], schema.GatherOptionsT(axis=given_axis,
                                                            batchDims=given_bd))


def add_depth_space(bat: ShapeBattery, dtype: str, cases: int) -> None:
    rng = bat.rng
    for _ in range(cases):
        bs = int(rng.integers(1, 4))
        n, h, w, c = 1 + int(rng.random() < 0.3), *_shape(rng, 3, 1, 4)
        q = bat.quant(dtype)
        x = bat.input((n, h, w, c * bs * bs), dtype, q)
        y = bat.output((n, h * bs, w * bs, c), dtype, q)
        bat.op("DEPTH_TO_SPACE", [x], [y], schema.DepthToSpaceOptionsT(blockSize=bs))
        x = bat.input((n, h * bs, w * bs, c), dtype, q)
        y = bat.output((n, h, w, c * bs * bs), dtype, q)
        bat.op("SPACE_TO_DEPTH", [x], [y], schema.SpaceToDepthOptionsT(blockSize=bs))


def add_broadcasts(bat: ShapeBattery, dtype: str, cases: int) -> None:
    rng = bat.rng
    for _ in range(cases):
        rank = int(rng.integers(1, 7))
        out = _shape(rng, rank, 1, 4)
        in_rank = int(rng.integers(1, rank + 1))
        shape = tuple(1 if rng.random() < 0.5 else d for d in out[rank - in_rank:])
        q = bat.quant(dtype)
        x = bat.input(shape, dtype, q)
        y = bat.output(out, dtype, q)
        bat.op("BROADCAST_TO", [x, bat.b.const(np.array(out, np.int32))], [y],
               schema.BroadcastToOptionsT())


CAST_TYPES = ["int8", "uint8", "int16", "int32", "int64", "float32", "bool"]


_FLOAT_SPECIALS = np.array([0.0, -0.0, 0.5, -0.5, -0.99, np.nan, np.inf, -np.inf, 127.5,
                            -128.5, 255.9, 256.0, 32767.5, -32768.9, 2147483520.0,
                            2147483648.0, -3e9, 1e19], np.float32)


def _cast_feed(src: str, dst: str, shape):
    """Random values of `src`; floats spread a little beyond the target's range (LiteRT
    saturates them) with NaN, infinities and halves among them."""
    def feed(rng, _i):
        if src != "float32":
            return _random_values(rng, shape, src)
        limit = {"int8": 200.0, "uint8": 400.0, "int16": 5e4, "int32": 4e9,
                 "int64": 1e19}.get(dst, 1e3)
        values = rng.uniform(-limit, limit, size=shape).astype(np.float32).reshape(-1)
        picks = rng.integers(0, len(_FLOAT_SPECIALS), size=values.size // 3)
        values[:picks.size] = _FLOAT_SPECIALS[picks]
        return rng.permutation(values).reshape(shape)
    return feed


def add_casts(bat: ShapeBattery, pairs) -> None:
    for src, dst in pairs:
        shape = (2, 9)
        x = bat.input(shape, src, feed=_cast_feed(src, dst, shape))
        y = bat.output(shape, dst)
        bat.op("CAST", [x], [y], schema.CastOptionsT(
            inDataType=getattr(schema.TensorType, src.upper()),
            outDataType=getattr(schema.TensorType, dst.upper())))


def add_chain(bat: ShapeBattery, dtype: str) -> None:
    """SLICE -> STRIDED_SLICE -> CAST -> CAST on tensors that die at once: in place."""
    b, q = bat.b, bat.quant(dtype)
    # Large enough that running in place is what keeps the arena smallest.
    x = bat.input((2, 60, 40, 8), dtype, q)
    h1 = b.tensor((2, 58, 40, 6), dtype, *q)
    bat.op("SLICE", [x, b.const(np.array([0, 1, 0, 1], np.int32)),
                     b.const(np.array([-1, 58, -1, 6], np.int32))], [h1],
           schema.SliceOptionsT())
    h2 = b.tensor((2, 29, 20, 6), dtype, *q)
    bat.op("STRIDED_SLICE", [h1, b.const(np.array([0, 1, 0], np.int32)),
                             b.const(np.array([2, 58, 40], np.int32)),
                             b.const(np.array([1, 2, 2], np.int32))], [h2],
           schema.StridedSliceOptionsT())
    # One contiguous range of h2 (batch 1, rows 3..9): placed over it, nothing moves.
    h2b = b.tensor((7, 20, 6), dtype, *q)
    bat.op("STRIDED_SLICE", [h2, b.const(np.array([1, 3], np.int32)),
                             b.const(np.array([0, 10], np.int32)),
                             b.const(np.array([1, 1], np.int32))], [h2b],
           schema.StridedSliceOptionsT(shrinkAxisMask=1))
    h3 = b.tensor((7, 20, 6), "int32")
    bat.op("CAST", [h2b], [h3], schema.CastOptionsT())
    y = bat.output((7, 20, 6), "int16" if dtype == "int8" else "int8")
    bat.op("CAST", [h3], [y], schema.CastOptionsT())


def battery(seed: int, cases: int = 2, dtypes=QUANTIZED) -> ShapeBattery:
    """Every op of the family, `cases` random instances of each per dtype, in one model."""
    rng = np.random.default_rng(seed)
    bat = ShapeBattery(f"shape battery {seed}", rng)
    for dtype in dtypes:
        add_fixed_strided_slices(bat, dtype)
        add_strided_slices(bat, dtype, 3 * cases)
        add_slices(bat, dtype, cases)
        add_splits(bat, dtype, cases)
        add_pack_unpack(bat, dtype, cases)
        add_gathers(bat, dtype, cases)
        if dtype == "int8":  # LiteRT's DEPTH_TO_SPACE / SPACE_TO_DEPTH take no int16
            add_depth_space(bat, dtype, max(1, cases // 2))
        add_broadcasts(bat, dtype, cases)
        add_chain(bat, dtype)
    # Wider elements: GATHER of int32 / float32 tables, slices of float32, int32 splits.
    add_gathers(bat, "int32", 2)
    add_gathers(bat, "float32", 1)
    add_strided_slices(bat, "float32", 1)
    add_splits(bat, "int32", 1)
    add_depth_space(bat, "float32", 1)
    add_broadcasts(bat, "bool", 1)
    add_casts(bat, [(a, b) for a in CAST_TYPES for b in CAST_TYPES])  # every pair
    return bat


def check(bat: ShapeBattery, board: str, seed: int = 0) -> None:
    model = bat.model()
    # LiteRT's own output shapes are the model's (shape arithmetic checked independently).
    graph = import_tflite(model)
    for got, t in zip(litert_outputs(model, bat.samples(seed, n=1))[0], graph.outputs):
        assert tuple(np.shape(got)) == tuple(t.shape), f"LiteRT gives {np.shape(got)} for {t}"
    check_battery(bat, board, seed)


# -- tests ------------------------------------------------------------------------------------

@pytest.mark.parametrize("board", FAST_BOARDS + SLOW_BOARDS)
def test_all_shape_ops_one_build(board):
    """Every op of the family, int8 and int16 (and wider types where the op takes them),
    and CAST between every pair of types, in one model per board."""
    check(battery(seed=1), board, seed=1)


def test_battery_covers_every_op_and_runs_some_in_place():
    """The battery holds every op of the family, and the planner runs the chains' slices
    and casts in place (the kernels' in-place paths are exercised)."""
    from tinyconv.planner import plan_memory
    bat = battery(seed=1)
    assert bat.kinds == {"STRIDED_SLICE", "SLICE", "SPLIT", "SPLIT_V", "PACK", "UNPACK",
                         "GATHER", "DEPTH_TO_SPACE", "SPACE_TO_DEPTH", "BROADCAST_TO", "CAST"}
    graph = import_tflite(bat.model())
    plan = plan_memory(graph)
    in_place = {op.kind for op in graph.ops if op.index in plan.inplace_ops}
    assert {"SLICE", "STRIDED_SLICE", "CAST"} <= in_place, in_place
    shifted = [op for op in graph.ops if op.index in plan.inplace_ops and op.inplace_offset()]
    assert shifted and all(plan.tensor_offsets[op.y.index] - plan.tensor_offsets[op.x.index]
                           == op.inplace_offset() > 0 for op in shifted)
    assert all(op.macs() == 0 and op.scratch_bytes(O.Isa.REF) == 0 for op in graph.ops)
    weights = sum(op.weight_bytes() for op in graph.ops)
    tables = sum(op.x.nbytes for op in graph.ops
                 if op.kind == "GATHER" and op.x.is_constant)
    assert weights == tables > 0  # only GATHER's constant tables count as weights


def _one_op_model(kind: str, x_shape, x_dtype, inputs_extra, y_shape, y_dtype, options,
                  x_const=False) -> bytes:
    b = ModelBuilder(kind)
    x = b.tensor(x_shape, x_dtype)
    extra = [b.const(v) for v in inputs_extra]
    y = b.tensor(y_shape, y_dtype)
    b.op(kind, [x, *extra], [y], options)
    return b.build([x], [y])


@pytest.mark.parametrize("case", ["gather int16 indices", "dynamic slice begin",
                                  "shrink past the end", "gather index out of range"])
def test_unsupported_cases_give_one_clear_error(case):
    """Cases tinyconv refuses: one TinyconvError line naming the op and the reason."""
    if case == "gather int16 indices":
        model = _one_op_model("GATHER", (4, 3), "int8", [np.array([1, 2], np.int16)], (2, 3),
                              "int8", schema.GatherOptionsT(axis=0))
        expected = "GATHER"
    elif case == "gather index out of range":
        model = _one_op_model("GATHER", (4, 3), "int8", [np.array([1, 4], np.int32)], (2, 3),
                              "int8", schema.GatherOptionsT(axis=0))
        expected = "outside [0, 4)"
    elif case == "shrink past the end":
        model = _one_op_model("STRIDED_SLICE", (4, 3), "int8",
                              [np.array([7, 0], np.int32), np.array([8, 3], np.int32),
                               np.array([1, 1], np.int32)], (3,), "int8",
                              schema.StridedSliceOptionsT(shrinkAxisMask=1))
        expected = "shrinks axis 0"
    else:
        b = ModelBuilder("SLICE")
        x = b.tensor((4, 3), "int8")
        begin = b.tensor((2,), "int32")
        y = b.tensor((2, 3), "int8")
        b.op("SLICE", [x, begin, b.const(np.array([2, 3], np.int32))], [y])
        model = b.build([x, begin], [y])
        expected = "SLICE begin must be a constant"
    with pytest.raises(TinyconvError) as info:
        import_tflite(model)
    message = str(info.value)
    assert "\n" not in message and expected in message, message


GATHER_OUT_OF_RANGE_C = r"""
#include <stdio.h>
#include <string.h>
#include "tc_nn_shape.h"

int main(void)
{
    const int8_t table[4 * 3] = {0, 1, 2, 10, 11, 12, 20, 21, 22, 30, 31, 32};
    int8_t out[2 * 3];
    const tc_gather_params p32 = {1, 4, 1, 1, 4, 3, 2};
    const tc_gather_params p64 = {1, 8, 1, 1, 4, 3, 2};
    const int32_t good[2] = {3, 1}, negative[2] = {0, -1}, past[2] = {1, 4};
    const int64_t good64[2] = {2, 0}, huge64[2] = {0, (int64_t)1 << 32};
    memset(out, 0x55, sizeof out);
    if (tc_gather(&p32, table, negative, out) != TC_ARG_ERROR) return 1;
    if (tc_gather(&p32, table, past, out) != TC_ARG_ERROR) return 2;
    if (tc_gather(&p64, table, huge64, out) != TC_ARG_ERROR) return 3;
    for (size_t i = 0; i < sizeof out; ++i) if (out[i] != 0x55) return 4; /* untouched */
    if (tc_gather(&p32, table, good, out) != TC_OK || out[0] != 30 || out[5] != 12) return 5;
    if (tc_gather(&p64, table, good64, out) != TC_OK || out[0] != 20 || out[5] != 2) return 6;
    puts("ok");
    return 0;
}
"""


def test_gather_refuses_indices_out_of_range_at_run_time(tmp_path):
    """Computed indices outside [0, axis size): tc_gather returns TC_ARG_ERROR before it
    writes anything (LiteRT's invoke fails there too), in every build (the check is on
    data, not an argument check); built for the host with ASan/UBSan."""
    import shutil
    import subprocess

    from tinyconv import FIRMWARE_DIR
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no host C compiler")
    source = tmp_path / "gather.c"
    source.write_text(GATHER_OUT_OF_RANGE_C)
    exe = tmp_path / "gather"
    kernels = FIRMWARE_DIR / "kernels"
    subprocess.run([cc, "-std=c99", "-O1", "-Wall", "-Wextra", "-Werror", "-DTC_ARG_CHECKS=0",
                    "-fsanitize=address,undefined", "-fno-sanitize-recover=all",
                    f"-I{kernels / 'include'}", str(source),
                    str(kernels / "shape" / "tc_gather.c"), "-o", str(exe)], check=True)
    run = subprocess.run([str(exe)], capture_output=True, text=True)
    assert run.returncode == 0 and run.stdout.strip() == "ok", (run.returncode, run.stderr)


# CI: the battery above; slow: three more seeds with more instances per op, and M7.
SWEEP = [pytest.param(seed, id=f"sweep{seed}", marks=pytest.mark.slow) for seed in (11, 12, 13)]


@pytest.mark.parametrize("seed", SWEEP)
@pytest.mark.parametrize("board", board_params(["host", "qemu-m3", "qemu-m4", "qemu-m55",
                                                "qemu-m7"]))
def test_sweep(board, seed):
    check(battery(seed, cases=5), board, seed)


@pytest.mark.slow
@pytest.mark.parametrize("board", board_params(["qemu-m4", "qemu-m55"]))
def test_reference_kernels_match_too(board):
    """-DTC_REFERENCE_KERNELS (the portable path on every core) gives the same bytes."""
    check_battery(battery(21), board, seed=5, kernels="ref")
