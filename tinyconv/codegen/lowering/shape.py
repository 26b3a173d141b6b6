"""Lowering of shape and data movement ops (slice, split, pack, gather, depth/space,
broadcast, cast).

All but GATHER and CAST are strided copies (tc_strided_copy, firmware/kernels/shape): each
output element comes from one input element whose position is an affine function of the
output index. This module computes, per op, that function as a loop nest of at most
TC_COPY_MAX_DIMS dimensions (element offsets and strides, negative for a reversed slice,
0 for a broadcast or a new axis), merging the dimensions that are contiguous on both
sides so that the innermost loop is one long memmove wherever the layout allows. The
kernels move elements of 1, 2, 4 or 8 bytes and never look at their values (CAST aside),
so every dtype the IR allows goes through the same code.
"""

from __future__ import annotations

import math

from ...ir.graph import DType, Tensor
from ...ir.ops import (BroadcastTo, Cast, DepthToSpace, Gather, Op, Pack, Slice,
                       SpaceToDepth, Split, SplitV, StridedSlice, Unpack)
from .base import CExpr, CStruct, KernelCall, LowerContext, c_initializer, lowering, require

COPY_MAX_DIMS = 6  # TC_COPY_MAX_DIMS (tc_nn_shape.h)
CAST_TYPES = {DType.INT8: 0, DType.UINT8: 1, DType.INT16: 2, DType.INT32: 3,
              DType.INT64: 4, DType.FLOAT32: 5, DType.BOOL: 6}  # tc_type


def row_major(shape: tuple[int, ...] | list[int]) -> list[int]:
    """Element strides of a contiguous tensor."""
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    return strides


def merge_dims(shape, in_strides, out_strides) -> tuple[list[int], list[int], list[int]]:
    """The same loop nest with dimensions of size 1 dropped and neighbours that are
    contiguous on both sides merged (visiting order unchanged)."""
    dims = [(n, i, o) for n, i, o in zip(shape, in_strides, out_strides) if n != 1]
    merged: list[tuple[int, int, int]] = []
    for n, i, o in dims:
        if merged:
            pn, pi, po = merged[-1]
            if pi == n * i and po == n * o:
                merged[-1] = (pn * n, i, o)
                continue
        merged.append((n, i, o))
    return [m[0] for m in merged], [m[1] for m in merged], [m[2] for m in merged]


def _array(values: list[int]) -> CExpr:
    return CExpr("{" + ", ".join(str(int(v)) for v in values) + "}")


def copy_params(op: Op, element_size: int, shape, in_strides, out_strides,
                input_offset: int = 0, output_offset: int = 0) -> CStruct:
    """One tc_copy_params: the loop nest merged and padded in front to COPY_MAX_DIMS."""
    shape, in_strides, out_strides = merge_dims(shape, in_strides, out_strides)
    require(len(shape) <= COPY_MAX_DIMS, op, f"needs a {len(shape)}-dimensional copy, at "
            f"most {COPY_MAX_DIMS} are supported")
    pad = COPY_MAX_DIMS - len(shape)
    return CStruct({
        "element_size": element_size, "input_offset": input_offset,
        "output_offset": output_offset,
        "shape": _array([1] * pad + shape),
        "input_stride": _array([0] * pad + in_strides),
        "output_stride": _array([0] * pad + out_strides),
    })


def _copy_call(op: Op, ctx: LowerContext, copies: list[tuple[Tensor, Tensor, CStruct]],
               comment: str) -> KernelCall:
    """tc_strided_copy of `copies` (input, output, params), in order."""
    ins = ", ".join(f"(const void *){ctx.tensor_ptr(i)}" for i, _, _ in copies)
    outs = ", ".join(f"(void *){ctx.tensor_ptr(o)}" for _, o, _ in copies)
    if len(copies) == 1:
        params = ctx.param("tc_copy_params", copies[0][2], "copy_params")
        return KernelCall("tc_strided_copy", [
            params, "1", f"(const void *const[]){{{ins}}}", f"(void *const[]){{{outs}}}"],
            comment=comment)
    base = f"op{op.index}_copy"
    prologue = [
        f"static const tc_copy_params {base}[] = {{"
        + ", ".join(c_initializer(c) for _, _, c in copies) + "};",
        f"const void *const {base}_in[] = {{{ins}}};",
        f"void *const {base}_out[] = {{{outs}}};",
    ]
    return KernelCall("tc_strided_copy", [base, str(len(copies)), f"{base}_in",
                                          f"{base}_out"], comment=comment, prologue=prologue)


def _movable(op: Op, *tensors: Tensor) -> int:
    """The element size every tensor shares (constant bool tables have no C array type)."""
    size = tensors[0].dtype.itemsize
    for t in tensors:
        require(t.dtype.itemsize == size, op, f"tensor {t.name!r} is {t.dtype.name}, the "
                f"input {tensors[0].dtype.name}")
        require(not (t.is_constant and t.dtype is DType.BOOL), op,
                f"constant bool tensor {t.name!r} is not supported")
    return size


# -- STRIDED_SLICE, SLICE --------------------------------------------------------------------

@lowering(StridedSlice, kernels=("tc_strided_copy",), dtypes=("int8", "int16"))
def lower_strided_slice(op: StridedSlice, ctx: LowerContext) -> KernelCall:
    x, y = op.x, op.y
    size = _movable(op, x, y)
    axes, out_shape = op.loops()
    xs = row_major(x.shape)
    counts = [a.count for a in axes]
    require(tuple(c for a, c in zip(axes, counts) if not a.shrink) == tuple(y.shape), op,
            f"copies {counts} elements, the output is {list(y.shape)}")
    in_strides = [0 if a.input_axis is None else a.stride * xs[a.input_axis] for a in axes]
    start = sum(a.start * xs[a.input_axis] for a in axes if a.input_axis is not None)
    require(not ctx.inplace or all(s > 0 for s in in_strides if s), op,
            "runs in place with a negative stride")
    params = copy_params(op, size, counts, in_strides, row_major(counts), start)
    return _copy_call(op, ctx, [(x, y, params)],
                      f"begin {op.begin} end {op.end} strides {op.strides}")


@lowering(Slice, kernels=("tc_strided_copy",), dtypes=("int8", "int16"))
def lower_slice(op: Slice, ctx: LowerContext) -> KernelCall:
    x, y = op.x, op.y
    size = _movable(op, x, y)
    xs = row_major(x.shape)
    start = sum(b * s for b, s in zip(op.begin, xs))
    params = copy_params(op, size, list(op.size), xs, row_major(op.size), start)
    return _copy_call(op, ctx, [(x, y, params)], f"begin {op.begin} size {op.size}")


# -- SPLIT, SPLIT_V, PACK, UNPACK -------------------------------------------------------------

@lowering(Split, SplitV, kernels=("tc_strided_copy",), dtypes=("int8", "int16"))
def lower_split(op: Split, ctx: LowerContext) -> KernelCall:
    x = op.data
    size = _movable(op, x, *op.outputs)
    xs = row_major(x.shape)
    copies, at = [], 0
    for t, n in zip(op.outputs, op.sizes):
        copies.append((x, t, copy_params(op, size, list(t.shape), xs, row_major(t.shape),
                                         at * xs[op.axis])))
        at += n
    return _copy_call(op, ctx, copies, f"{len(copies)} outputs on axis {op.axis}")


@lowering(Pack, kernels=("tc_strided_copy",), dtypes=("int8", "int16"))
def lower_pack(op: Pack, ctx: LowerContext) -> KernelCall:
    y = op.y
    inputs = [t for t in op.inputs if t is not None]
    size = _movable(op, *inputs, y)
    ys = row_major(y.shape)
    out_strides = [s for i, s in enumerate(ys) if i != op.axis]
    copies = [(t, y, copy_params(op, size, list(t.shape), row_major(t.shape), out_strides,
                                 0, k * ys[op.axis])) for k, t in enumerate(inputs)]
    return _copy_call(op, ctx, copies, f"{len(inputs)} inputs on axis {op.axis}")


@lowering(Unpack, kernels=("tc_strided_copy",), dtypes=("int8", "int16"))
def lower_unpack(op: Unpack, ctx: LowerContext) -> KernelCall:
    x = op.x
    size = _movable(op, x, *op.outputs)
    xs = row_major(x.shape)
    in_strides = [s for i, s in enumerate(xs) if i != op.axis]
    copies = [(x, t, copy_params(op, size, list(t.shape), in_strides, row_major(t.shape),
                                 k * xs[op.axis])) for k, t in enumerate(op.outputs)]
    return _copy_call(op, ctx, copies, f"{len(copies)} outputs on axis {op.axis}")


# -- DEPTH_TO_SPACE, SPACE_TO_DEPTH, BROADCAST_TO ------------------------------------------------

@lowering(DepthToSpace, kernels=("tc_strided_copy",), dtypes=("int8",))
def lower_depth_to_space(op: DepthToSpace, ctx: LowerContext) -> KernelCall:
    """reference_ops::DepthToSpace: output[n][h * bs + i][w * bs + j][c] =
    input[n][h][w][(i * bs + j) * C_out + c]; output order (n, h, i, w, j, c)."""
    x, y, bs = op.x, op.y, op.block_size
    size = _movable(op, x, y)
    n, h, w, c = x.shape
    co = c // (bs * bs)
    shape = [n, h, bs, w, bs, co]
    in_strides = [h * w * c, w * c, bs * co, c, co, 1]
    params = copy_params(op, size, shape, in_strides, row_major(shape))
    return _copy_call(op, ctx, [(x, y, params)], f"block size {bs}")


@lowering(SpaceToDepth, kernels=("tc_strided_copy",), dtypes=("int8",))
def lower_space_to_depth(op: SpaceToDepth, ctx: LowerContext) -> KernelCall:
    """reference_ops::SpaceToDepth: output[n][h][w][(i * bs + j) * C + c] =
    input[n][h * bs + i][w * bs + j][c]; output order (n, h, w, i, j, c)."""
    x, y, bs = op.x, op.y, op.block_size
    size = _movable(op, x, y)
    n, h, w, c = x.shape
    shape = [n, h // bs, w // bs, bs, bs, c]
    in_strides = [h * w * c, bs * w * c, bs * c, w * c, c, 1]
    params = copy_params(op, size, shape, in_strides, row_major(shape))
    return _copy_call(op, ctx, [(x, y, params)], f"block size {bs}")


@lowering(BroadcastTo, kernels=("tc_strided_copy",), dtypes=("int8", "int16"))
def lower_broadcast_to(op: BroadcastTo, ctx: LowerContext) -> KernelCall:
    """Each output element reads the input element at its index, 0 on broadcast axes."""
    x, y = op.x, op.y
    size = _movable(op, x, y)
    rank = len(y.shape)
    padded = [1] * (rank - len(x.shape)) + list(x.shape)
    xs = row_major(padded)
    in_strides = [0 if d == 1 else s for d, s in zip(padded, xs)]
    params = copy_params(op, size, list(y.shape), in_strides, row_major(y.shape))
    return _copy_call(op, ctx, [(x, y, params)], f"{list(x.shape)} to {list(y.shape)}")


# -- GATHER, CAST ---------------------------------------------------------------------------------

@lowering(Gather, kernels=("tc_gather",), dtypes=("int8", "int16"))
def lower_gather(op: Gather, ctx: LowerContext) -> KernelCall:
    x, indices, y = op.x, op.indices, op.y
    size = _movable(op, x, y)
    require(indices.dtype in (DType.INT32, DType.INT64), op,
            f"indices are {indices.dtype.name}, the kernel takes INT32 or INT64")
    a, bd = op.axis, op.batch_dims
    params = ctx.param("tc_gather_params", CStruct({
        "element_size": size, "index_size": indices.dtype.itemsize,
        "batch_size": math.prod(x.shape[:bd]), "outer_size": math.prod(x.shape[bd:a]),
        "axis_size": x.shape[a], "inner_size": math.prod(x.shape[a + 1:]),
        "coord_size": math.prod(indices.shape[bd:]),
    }), "gather_params")
    return KernelCall("tc_gather", [params, f"(const void *){ctx.tensor_ptr(x)}",
                                    f"(const void *){ctx.tensor_ptr(indices)}",
                                    f"(void *){ctx.tensor_ptr(y)}"],
                      comment=f"axis {a}, batch_dims {bd}")


@lowering(Cast, kernels=("tc_cast",), dtypes=("int8", "int16"))
def lower_cast(op: Cast, ctx: LowerContext) -> KernelCall:
    x, y = op.x, op.y
    for t in (x, y):
        require(t.dtype in CAST_TYPES, op, f"tensor {t.name!r} is {t.dtype.name}; CAST takes "
                + ", ".join(d.name for d in CAST_TYPES))
    require(not (x.is_constant and x.dtype is DType.BOOL), op,
            f"constant bool tensor {x.name!r} is not supported")
    params = ctx.param("tc_cast_params", CStruct({
        "input_type": CAST_TYPES[x.dtype], "output_type": CAST_TYPES[y.dtype]}),
        "cast_params")
    return KernelCall("tc_cast", [params, str(y.size), f"(const void *){ctx.tensor_ptr(x)}",
                                  f"(void *){ctx.tensor_ptr(y)}"],
                      comment=f"{x.dtype.name} to {y.dtype.name}")
