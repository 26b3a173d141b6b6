"""Lowering of spatial and matrix ops to firmware/kernels/spatial (tc_nn_spatial.h).

RESIZE_NEAREST_NEIGHBOR -> tc_resize_nearest_s8/_s16: the input row and column of every
output row and column, computed here with TFLite's float32 arithmetic
(reference_ops::GetNearestNeighbor), as two int32 tables in flash.
RESIZE_BILINEAR -> tc_resize_bilinear_s8/_s16: LiteRT's all-integer ResizeBilinearInteger
(10-bit fractions); its two scales are computed here (ir/validate.bilinear_scales).
TRANSPOSE_CONV -> tc_transpose_conv_s8 (int8, int32 bias) / _s16 (16x8, int64 bias): the
padding of LiteRT's Eval (ComputePaddingHeightWidth on the output's size) and the
per-channel multipliers of its Prepare (PopulateConvolutionQuantizationParams).
BATCH_MATMUL -> tc_batch_matmul_s8 / _s16 / _s16_s8: the operands read through strides
(adj_x, adj_y, broadcast batch axes), the per-tensor multiplier of LiteRT's Prepare
(GetQuantizedConvolutionMultipler); a constant RHS is stored transposed, as LiteRT's
Prepare transposes it once, so that its depth axis is contiguous.
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.graph import DType, Tensor
from ...ir.ops import BatchMatMul, Padding, ResizeBilinear, ResizeNearestNeighbor, TransposeConv
from ...ir.validate import bilinear_scales, transpose_conv_input_size
from ...quant import activation_range, effective_scale, f32, quantize_multiplier, tflite_round
from .base import (CExpr, CStruct, KernelCall, LowerContext, activation, dims, dims_of,
                   lowering, require, tile)

_RANGES = {DType.INT8: (-128, 127), DType.INT16: (-32768, 32767)}
_SUFFIX = {DType.INT8: "s8", DType.INT16: "s16"}
# TFLite's 64-bit MultiplyByQuantizedMultiplier shifts right by 15 - shift: shift <= 14.
_S64_MAX_SHIFT = 14


def _suffix(op, t: Tensor) -> str:
    require(t.dtype in _SUFFIX, op, f"tensor {t.name!r} is {t.dtype.name}, expected int8 or "
            "int16")
    return _SUFFIX[t.dtype]


# -- resize -----------------------------------------------------------------------------------

def nearest_indices(in_size: int, out_size: int, align_corners: bool,
                    half_pixel_centers: bool) -> np.ndarray:
    """reference_ops::GetNearestNeighbor of every output index, in float32 as TFLite:
    scale = in / out (align_corners: (in - 1) / (out - 1)), v = (i + offset) * scale,
    round (align_corners, halves away from zero) or floor, at most in - 1, and with
    half_pixel_centers at least 0."""
    if align_corners and out_size > 1:
        scale = np.float32(in_size - 1) / np.float32(out_size - 1)
    else:
        scale = np.float32(in_size) / np.float32(out_size)
    offset = np.float32(0.5 if half_pixel_centers else 0.0)
    table = np.zeros(out_size, np.int32)
    for i in range(out_size):
        v = float((np.float32(i) + offset) * scale)
        index = tflite_round(v) if align_corners else math.floor(v)
        index = min(index, in_size - 1)
        if half_pixel_centers:
            index = max(0, index)
        table[i] = index
    return table


@lowering(ResizeNearestNeighbor, kernels=("tc_resize_nearest_s8", "tc_resize_nearest_s16"),
          dtypes=("int8", "int16"))
def lower_resize_nearest(op: ResizeNearestNeighbor, ctx: LowerContext) -> KernelCall:
    x, y = op.x, op.y
    suffix = _suffix(op, x)
    rows = nearest_indices(x.shape[1], y.shape[1], op.align_corners, op.half_pixel_centers)
    cols = nearest_indices(x.shape[2], y.shape[2], op.align_corners, op.half_pixel_centers)
    params = ctx.param("tc_resize_nearest_params", CStruct({
        "rows": CExpr(ctx.const_array(rows, "int32_t", f"{op.name}_rows")),
        "cols": CExpr(ctx.const_array(cols, "int32_t", f"{op.name}_cols")),
    }), "resize_params")
    return KernelCall(f"tc_resize_nearest_{suffix}", [
        params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y)])


@lowering(ResizeBilinear, kernels=("tc_resize_bilinear_s8", "tc_resize_bilinear_s16"),
          dtypes=("int8", "int16"))
def lower_resize_bilinear(op: ResizeBilinear, ctx: LowerContext) -> KernelCall:
    x, y = op.x, op.y
    suffix = _suffix(op, x)
    require(not (op.align_corners and op.half_pixel_centers), op,
            "align_corners and half_pixel_centers are both set")
    scale_h, scale_w = bilinear_scales(op)
    params = ctx.param("tc_resize_bilinear_params", CStruct({
        "scale_h": scale_h, "scale_w": scale_w,
        "half_pixel_centers": int(op.half_pixel_centers),
    }), "resize_params")
    return KernelCall(f"tc_resize_bilinear_{suffix}", [
        params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y)])


# -- transpose convolution ---------------------------------------------------------------------

def transpose_conv_padding(padding: Padding, out_size: int, kernel: int, stride: int) -> int:
    """LiteRT's TRANSPOSE_CONV Eval: ComputePaddingHeightWidth with the output's size as
    the 'input' size: total = (ComputeOutSize(out) - 1) * stride + kernel - out, clamped
    at 0, halved (the odd pixel goes to the bottom/right)."""
    total = (transpose_conv_input_size(padding, out_size, kernel, stride) - 1) * stride \
        + kernel - out_size
    return max(total, 0) // 2


def _multipliers(op, x: Tensor, w: Tensor, y: Tensor, channels: int,
                 max_shift: int | None) -> tuple[np.ndarray, np.ndarray]:
    """PopulateConvolutionQuantizationParams: QuantizeMultiplier of
    (double)s_in * (double)s_w[c] / (double)s_out per output channel."""
    mults, shifts = np.zeros(channels, np.int32), np.zeros(channels, np.int32)
    for c in range(channels):
        real = effective_scale(x.quant.s, w.quant.scale_at(c), y.quant.s)
        require(math.isfinite(real) and real >= 0, op, f"invalid effective scale {real!r} "
                f"of output channel {c}")
        mults[c], shifts[c] = quantize_multiplier(real)
        require(max_shift is None or shifts[c] <= max_shift, op,
                f"output channel {c}'s effective scale {real!r} is too large for the 16-bit "
                "requantization (at most 2^14)")
    return mults, shifts


@lowering(TransposeConv, kernels=("tc_transpose_conv_s8", "tc_transpose_conv_s16"),
          dtypes=("int8", "int16"))
def lower_transpose_conv(op: TransposeConv, ctx: LowerContext) -> KernelCall:
    x, w, y, bias = op.x, op.filter, op.y, op.bias
    suffix = _suffix(op, x)
    require(w.quant is not None and x.quant is not None and y.quant is not None, op,
            "weights and activations must be quantized")
    oc, kh, kw, _ = w.shape
    _, oh, ow, _ = y.nhwc()
    sh, sw = op.stride
    wide = x.dtype is DType.INT16
    qmin, qmax = _RANGES[y.dtype]
    act = activation_range(op.activation, y.quant.s, y.quant.zp, qmin, qmax)
    params = ctx.param("tc_conv_params", CStruct({
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        "stride": tile(sh, sw),
        "padding": tile(transpose_conv_padding(op.padding, oh, kh, sh),
                        transpose_conv_padding(op.padding, ow, kw, sw)),
        "dilation": tile(1, 1),
        "activation": activation(*act),
    }), "conv_params")
    mults, shifts = _multipliers(op, x, w, y, oc, _S64_MAX_SHIFT if wide else None)
    quant = ctx.param("tc_per_channel_quant_params", CStruct({
        "multiplier": CExpr(ctx.const_array(mults, "int32_t", f"{op.name}_mult")),
        "shift": CExpr(ctx.const_array(shifts, "int32_t", f"{op.name}_shift")),
        "narrow": 0,
    }), "quant")
    return KernelCall(f"tc_transpose_conv_{suffix}", [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"), ctx.tensor_ptr(w),
        ctx.param("tc_dims", dims_of((1, 1, 1, oc)), "bias_dims"),
        ctx.tensor_ptr(bias) if bias is not None else "NULL",
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


# -- batch matmul ------------------------------------------------------------------------------

def batch_matmul_multiplier(lhs: Tensor, rhs: Tensor, y: Tensor) -> float:
    """GetQuantizedConvolutionMultipler without a bias: the product of the two scales in
    float, then divided by the output scale in double."""
    with np.errstate(all="ignore"):
        product = np.float32(f32(lhs.quant.s)) * np.float32(f32(rhs.quant.s))
        return float(np.float64(product) / np.float64(f32(y.quant.s)))


def _extent_strides(shape: tuple[int, ...]) -> list[int]:
    """reference_ops batch_matmul::extent of the three batch axes of a rank-5 shape: the
    elements one step advances, 0 where the axis has size 1 (it broadcasts)."""
    return [0 if shape[d] == 1 else math.prod(shape[d + 1:]) for d in range(3)]


@lowering(BatchMatMul, kernels=("tc_batch_matmul_s8", "tc_batch_matmul_s16",
                                "tc_batch_matmul_s16_s8"), dtypes=("int8", "int16"))
def lower_batch_matmul(op: BatchMatMul, ctx: LowerContext) -> KernelCall:
    lhs, rhs, y = op.inputs[0], op.inputs[1], op.y
    assert lhs is not None and rhs is not None
    require(lhs.quant is not None and rhs.quant is not None and y.quant is not None, op,
            "operands and output must be quantized")
    a = (1,) * (5 - len(lhs.shape)) + tuple(lhs.shape)
    b = (1,) * (5 - len(rhs.shape)) + tuple(rhs.shape)
    rows, depth = (a[4], a[3]) if op.adj_x else (a[3], a[4])
    cols = b[3] if op.adj_y else b[4]
    batch = [max(da, db) for da, db in zip(a[:3], b[:3])]
    lhs_row, lhs_depth = (1, rows) if op.adj_x else (depth, 1)
    if rhs.is_constant and not op.adj_y:
        # Stored [..., cols, depth]: each column's depth contiguous (LiteRT's Prepare
        # transposes a constant RHS once in the same way; the sums are the same).
        data = np.swapaxes(np.asarray(rhs.data).reshape(b), -1, -2)
        rhs_ptr = ctx.const_array(np.ascontiguousarray(data), rhs.dtype.c_type,
                                  f"{op.name}_rhs_t")
        rhs_depth, rhs_col = 1, depth
    elif rhs.is_constant:
        rhs_ptr = ctx.tensor_ptr(rhs)
        rhs_depth, rhs_col = 1, depth
    else:
        rhs_ptr = ctx.tensor_ptr(rhs)
        rhs_depth, rhs_col = (1, depth) if op.adj_y else (cols, 1)
    real = batch_matmul_multiplier(lhs, rhs, y)
    require(math.isfinite(real) and real >= 0, op, f"invalid effective scale {real!r}")
    multiplier, shift = quantize_multiplier(real)
    wide = lhs.dtype is DType.INT16
    require(not wide or shift <= _S64_MAX_SHIFT, op, f"effective scale {real!r} is too "
            "large for the 16-bit requantization (at most 2^14)")

    def array(values: list[int]) -> CExpr:
        return CExpr("{" + ", ".join(str(int(v)) for v in values) + "}")

    params = ctx.param("tc_batch_matmul_params", CStruct({
        "batch": array(batch),
        "lhs_batch_stride": array(_extent_strides(a)),
        "rhs_batch_stride": array(_extent_strides(b)),
        "rows": rows, "cols": cols, "depth": depth,
        "lhs_row_stride": lhs_row, "lhs_depth_stride": lhs_depth,
        "rhs_depth_stride": rhs_depth, "rhs_col_stride": rhs_col,
        "lhs_offset": -lhs.quant.zp, "rhs_offset": -rhs.quant.zp,
        "output_offset": y.quant.zp,
        "quant": CStruct({"multiplier": multiplier, "shift": shift}),
        "activation": activation(*_RANGES[y.dtype]),
    }), "bmm_params")
    function = "tc_batch_matmul_s8"
    if wide:
        function = "tc_batch_matmul_s16" if rhs.dtype is DType.INT16 else \
            "tc_batch_matmul_s16_s8"
    return KernelCall(function, [params, ctx.tensor_ptr(lhs), rhs_ptr, ctx.tensor_ptr(y)])
