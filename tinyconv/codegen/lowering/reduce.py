"""Lowering of reductions and normalizations (MEAN, SUM, REDUCE_MAX, ARG_MAX/ARG_MIN,
LOG_SOFTMAX, L2_NORMALIZATION).

Every multiplier is derived here as LiteRT's Prepare derives it (reduce.cc
PrepareMeanOrSum and QuantizedMeanOrSum, activations.cc LogSoftmaxPrepare), so the
kernels (firmware/kernels/reduce/) do LiteRT's reference integer arithmetic only.

LiteRT 2.x's BUILTIN_REF MEAN runs reference_ops::QuantizedMeanOrSum for every int8 and
int16 MEAN: the older special paths (the 4D height-and-width keep_dims path with its own
multiplier, and plain integer division where input and output quantization are equal) are
gone from its reference kernel, and tests/kernels/test_kernels_reduce_ops.py checks both
of those cases against LiteRT byte for byte.
"""

from __future__ import annotations

import math

from ...ir.graph import DType, Tensor
from ...ir.ops import (ArgMax, ArgMin, L2Normalization, LogSoftmax, Mean, Op, Reduce, ReduceMax,
                       Sum)
from ...quant import quantize_multiplier
from .base import CExpr, CStruct, KernelCall, LowerContext, lowering, require, tensor_quant

REDUCE_RUNS = 4  # TC_REDUCE_RUNS in tc_nn_reduce.h
LOG_SOFTMAX_INPUT_INTEGER_BITS = 5  # kScaledDiffIntegerBits of LiteRT's LogSoftmaxPrepare


def _dtype(op: Op, t: Tensor, *allowed: DType) -> None:
    require(t.dtype in allowed, op, f"tensor {t.name!r} is {t.dtype.name}, expected "
            + " or ".join(d.name for d in allowed))


def reduce_runs(op: Op, shape: tuple[int, ...], axes: tuple[int, ...]
                ) -> tuple[list[int], list[int]]:
    """The input as alternating kept and reduced runs [k0, r0, k1, r1, k2, r2, k3, r3]
    (tc_reduce_shape): neighbouring axes that are both kept or both reduced merge, axes of
    extent 1 drop out, and the pattern is right-aligned so that the innermost run lands in
    k3 (kept: the kernel accumulates neighbouring outputs at once) or r3 (reduced: a
    contiguous run per output)."""
    runs: list[list] = []  # [reduced?, extent]
    for i, d in enumerate(shape):
        if d == 1:
            continue
        reduced = i in axes
        if runs and runs[-1][0] == reduced:
            runs[-1][1] *= d
        else:
            runs.append([reduced, d])
    slots = [1] * (2 * REDUCE_RUNS)  # k0 r0 k1 r1 k2 r2 k3 r3
    position = len(slots) - 1 if runs and runs[-1][0] else len(slots) - 2
    for reduced, extent in reversed(runs):
        require(position >= 0, op, f"reducing {shape} over axes {axes} alternates between "
                f"kept and reduced axes more than {REDUCE_RUNS} times")
        slots[position] = extent
        position -= 1
    return slots[0::2], slots[1::2]


def _shape_struct(kept: list[int], reduced: list[int]) -> CStruct:
    return CStruct({"kept": CExpr("{" + ", ".join(map(str, kept)) + "}"),
                    "reduced": CExpr("{" + ", ".join(map(str, reduced)) + "}")})


def _suffix(t: Tensor) -> str:
    return "s8" if t.dtype is DType.INT8 else "s16"


# -- MEAN, SUM, REDUCE_MAX --------------------------------------------------------------------

def mean_multiplier(input_scale: float, output_scale: float, count: int) -> tuple[int, int]:
    """LiteRT's MEAN rescaling: PrepareMeanOrSum's QuantizeMultiplier(input_scale /
    output_scale) in double, then QuantizedMeanOrSum folds 1/count in: the multiplier is
    scaled up by 2^s (s = floor(log2 count), at most 32 and at most 31 + shift so that the
    final shift stays >= -31) and divided by count, truncating."""
    multiplier, shift = quantize_multiplier(float(input_scale) / float(output_scale))
    extra = min(count.bit_length() - 1, 32, 31 + shift)
    multiplier = (multiplier << extra) // count
    return int(multiplier), shift - extra  # < 2^31: 2^extra <= count


def _reduce_io(op: Reduce | Mean) -> tuple[Tensor, Tensor]:
    x, y = op.x, op.y
    _dtype(op, x, DType.INT8, DType.INT16)
    require(y.dtype is x.dtype, op, f"output is {y.dtype.name}, the input {x.dtype.name}")
    tensor_quant(op, x), tensor_quant(op, y)
    return x, y


@lowering(Mean, Sum, kernels=("tc_reduce_sum_s8", "tc_reduce_sum_s16"), dtypes=("int8", "int16"))
def lower_mean_sum(op: Mean | Sum, ctx: LowerContext) -> KernelCall:
    """QuantizedMeanOrSum. For SUM this is what LiteRT's source and TFLite Micro compute;
    LiteRT 2.3.0's BUILTIN_REF binary computes quantized SUM wrongly (int8 as if uint8,
    int16 garbage), so tests compare SUM with TFLite Micro."""
    x, y = _reduce_io(op)
    kept, reduced = reduce_runs(op, tuple(x.shape), op.axes)
    count = math.prod(x.shape[a] for a in op.axes)
    if isinstance(op, Mean):
        multiplier, shift = mean_multiplier(x.quant.s, y.quant.s, count)
    else:
        multiplier, shift = quantize_multiplier(float(x.quant.s) / float(y.quant.s))
    params = ctx.param("tc_reduce_sum_params", CStruct({
        "shape": _shape_struct(kept, reduced),
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        "multiplier": multiplier,
        "shift": shift,
    }), f"{op.kind.lower()}_params")
    return KernelCall(f"tc_reduce_sum_{_suffix(x)}", [
        params, ctx.tensor_ptr(x), ctx.tensor_ptr(y),
    ], comment=f"{op.kind} axes {op.axes}")


@lowering(ReduceMax, kernels=("tc_reduce_max_s8", "tc_reduce_max_s16"), dtypes=("int8", "int16"))
def lower_reduce_max(op: ReduceMax, ctx: LowerContext) -> KernelCall:
    x, y = _reduce_io(op)
    require(x.quant.zp == y.quant.zp, op, "input and output zero points differ")
    kept, reduced = reduce_runs(op, tuple(x.shape), op.axes)
    shape = ctx.param("tc_reduce_shape", _shape_struct(kept, reduced), "reduce_max_shape")
    return KernelCall(f"tc_reduce_max_{_suffix(x)}", [
        shape, ctx.tensor_ptr(x), ctx.tensor_ptr(y),
    ], comment=f"axes {op.axes}")


# -- ARG_MAX, ARG_MIN ------------------------------------------------------------------------

@lowering(ArgMax, ArgMin, kernels=("tc_arg_min_max_s8",), dtypes=("int8",))
def lower_arg_min_max(op: ArgMax, ctx: LowerContext) -> KernelCall:
    x, y = op.x, op.y
    _dtype(op, x, DType.INT8)
    _dtype(op, y, DType.INT32, DType.INT64)
    shape = tuple(x.shape)
    params = ctx.param("tc_arg_min_max_params", CStruct({
        "outer": math.prod(shape[:op.axis]),
        "axis_size": shape[op.axis],
        "inner": math.prod(shape[op.axis + 1:]),
        "is_min": isinstance(op, ArgMin),
        "output_int64": y.dtype is DType.INT64,
    }), f"{op.kind.lower()}_params")
    return KernelCall("tc_arg_min_max_s8", [params, ctx.tensor_ptr(x), ctx.tensor_ptr(y)],
                      comment=f"axis {op.axis}")


# -- LOG_SOFTMAX --------------------------------------------------------------------------------

def log_softmax_params(op: LogSoftmax) -> dict:
    """LiteRT's LogSoftmaxPrepare for int8: PreprocessLogSoftmaxScalingExp(beta 1, input
    scale, 5 integer bits) and diff_min = -CalculateInputRadius(5, input_left_shift)."""
    bits = LOG_SOFTMAX_INPUT_INTEGER_BITS
    qx = tensor_quant(op, op.x)
    # PreprocessSoftmaxScaling: min(beta * scale * 2^(31 - bits), 2^31 - 1), in double.
    real = min(1.0 * float(qx.s) * float(1 << (31 - bits)), float(2**31 - 1))
    require(real > 1.0, op, f"input scale {qx.s!r} is too small for the int8 log softmax "
            "(LiteRT's QuantizeMultiplierGreaterThanOne fails)")
    multiplier, left_shift = quantize_multiplier(real)
    reverse_real = float(1 << (31 - left_shift)) / float(multiplier)
    reverse_multiplier, reverse_shift = quantize_multiplier(reverse_real)
    require(reverse_shift <= 0, op, f"input scale {qx.s!r} gives no log softmax reverse "
            "scaling below one (LiteRT's QuantizeMultiplierSmallerThanOneExp fails)")
    radius = math.floor(1.0 * ((1 << bits) - 1) * (1 << (31 - bits)) / (1 << left_shift))
    return {"input_multiplier": multiplier, "input_left_shift": left_shift,
            "reverse_multiplier": reverse_multiplier,
            "reverse_right_shift": -reverse_shift, "diff_min": -radius}


@lowering(LogSoftmax, kernels=("tc_log_softmax_s8",), dtypes=("int8",))
def lower_log_softmax(op: LogSoftmax, ctx: LowerContext) -> KernelCall:
    _dtype(op, op.x, DType.INT8), _dtype(op, op.y, DType.INT8)
    params = ctx.param("tc_log_softmax_params", CStruct(log_softmax_params(op)),
                       "log_softmax_params")
    depth = op.x.shape[-1]
    return KernelCall("tc_log_softmax_s8", [params, str(op.x.size // depth), str(depth),
                                            ctx.tensor_ptr(op.x), ctx.tensor_ptr(op.y)])


# -- L2_NORMALIZATION ---------------------------------------------------------------------------

@lowering(L2Normalization, kernels=("tc_l2_normalization_s8",), dtypes=("int8",))
def lower_l2_normalization(op: L2Normalization, ctx: LowerContext) -> KernelCall:
    _dtype(op, op.x, DType.INT8), _dtype(op, op.y, DType.INT8)
    depth = op.x.shape[-1]
    return KernelCall("tc_l2_normalization_s8", [
        str(-tensor_quant(op, op.x).zp), str(op.x.size // depth), str(depth),
        ctx.tensor_ptr(op.x), ctx.tensor_ptr(op.y)])
