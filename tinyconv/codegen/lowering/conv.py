"""Lowering of CONV_2D and FULLY_CONNECTED to the kernels of firmware/kernels/conv.

CONV_2D -> tc_convolve_1x1_s8 (1x1, stride 1, one group) or tc_convolve_s8, with TFLite's
fixed-point per-channel multipliers (conv.cc computes them in double, then
QuantizeMultiplier). FULLY_CONNECTED -> tc_fully_connected_f64_s8: LiteRT's reference
kernel requantizes in double, round(acc * s_in * s_w / s_out); TFLite Micro uses the
fixed-point multiplier instead (tc_fully_connected_s8, see fully_connected_fixed_point).
16x8 layers (int16 activations, int8 weights, int64 bias) go to the *_s16 kernels: CONV_2D
with TFLite's MultiplyByQuantizedMultiplier(int64) and its reduced 16-bit multiplier,
FULLY_CONNECTED again in double for LiteRT (tc_fully_connected_f64_s16) or fixed point
for TFLite Micro (tc_fully_connected_s16).
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.graph import DType, Tensor
from ...ir.ops import Conv2D, FullyConnected, Op
from ...quant import (INT16_MAX, INT16_MIN, accumulator_bounds, activation_range,
                      bias_scale_accepted, effective_scale, effective_scales,
                      narrow_requantization, quantize_multiplier, quantize_multipliers,
                      wrap_int32_array)
from .base import (CExpr, CStruct, KernelCall, LowerContext, activation, conv_padding, dims,
                   dims_of, lowering, require, tile)


def check_quantized(op: Op, x: Tensor, w: Tensor, y: Tensor) -> None:
    require(w.quant is not None and x.quant is not None and y.quant is not None, op,
            "weights and activations must be quantized (float models are not supported)")


def per_channel_quant(op: Op, ctx: LowerContext, x: Tensor, w: Tensor, y: Tensor,
                      channels: int, bias: Tensor | None, channel_axis: int,
                      weight_zero_point: int = 0) -> str:
    """Multipliers exactly as TFLite's PopulateConvolutionQuantizationParams: in double;
    `narrow` where the weights, bias and zero points allow the short requantization."""
    check_quantized(op, x, w, y)
    mults, shifts = quantize_multipliers(effective_scales(
        x.quant.s, [w.quant.scale_at(c) for c in range(channels)], y.quant.s))
    narrow = w.data is not None and (bias is None or bias.data is not None) and \
        narrow_requantization(accumulator_bounds(w.data, channel_axis,
                                                 None if bias is None else bias.data,
                                                 x.quant.zp, weight_zero_point),
                              mults, shifts, y.quant.zp)
    return ctx.param("tc_per_channel_quant_params", CStruct({
        "multiplier": CExpr(ctx.const_array(mults, "int32_t", f"{op.name}_mult")),
        "shift": CExpr(ctx.const_array(shifts, "int32_t", f"{op.name}_shift")),
        "narrow": int(narrow),
    }), "quant")


def bias_args(ctx: LowerContext, bias: Tensor | None, channels: int) -> tuple[str, str]:
    bias_dims = ctx.param("tc_dims", dims_of((1, 1, 1, channels)), "bias_dims")
    return bias_dims, (ctx.tensor_ptr(bias) if bias is not None else "NULL")


def check_int8_io(op: Op) -> None:
    for t in op.activation_inputs() + op.outputs:
        require(t.dtype.name == "INT8", op, f"tensor {t.name!r} is {t.dtype.name}, "
                "only int8 activations are supported")


def activation_dtype(op: Op) -> DType:
    """INT8, or INT16 for the 16-bit activations of TFLite's 16x8 mode: every activation
    tensor of the op (inputs and output) must be one of them, all the same."""
    tensors = op.activation_inputs() + op.outputs
    first = tensors[0].dtype
    for t in tensors:
        require(t.dtype is first and t.dtype in (DType.INT8, DType.INT16), op,
                f"tensor {t.name!r} is {t.dtype.name}, the kernels take int8 or int16 "
                "activations (all of one type)")
    return first


def value_range(dtype: DType) -> tuple[int, int]:
    """The clamp range of an activation type."""
    return (INT16_MIN, INT16_MAX) if dtype is DType.INT16 else (-128, 127)


def per_channel_quant_s16(op: Op, ctx: LowerContext, x: Tensor, w: Tensor, y: Tensor,
                          channels: int) -> str:
    """16x8 multipliers: as PopulateConvolutionQuantizationParams computes them (double,
    QuantizeMultiplier); the kernels apply them with the 16-bit reduced multiplier of
    MultiplyByQuantizedMultiplier(int64), whose total shift 15 - shift must be 1..46."""
    check_quantized(op, x, w, y)
    mults, shifts = np.zeros(channels, np.int32), np.zeros(channels, np.int32)
    for c in range(channels):
        mults[c], shifts[c] = quantize_multiplier(effective_scale(x.quant.s, w.quant.scale_at(c),
                                                                  y.quant.s))
        require(-31 <= shifts[c] <= 14 and mults[c] >= 0, op,
                f"output channel {c}: effective scale "
                f"{effective_scale(x.quant.s, w.quant.scale_at(c), y.quant.s)!r} is outside "
                "the range of TFLite's 16x8 requantization (2^-31 to 2^14)")
    return ctx.param("tc_per_channel_quant_params", CStruct({
        "multiplier": CExpr(ctx.const_array(mults, "int32_t", f"{op.name}_mult")),
        "shift": CExpr(ctx.const_array(shifts, "int32_t", f"{op.name}_shift")),
        "narrow": 0,
    }), "quant")


def lower_conv_s16(op: Conv2D, ctx: LowerContext) -> KernelCall:
    """CONV_2D 16x8 -> tc_convolve_s16 (int64 accumulator and bias, fixed-point
    requantization with the reduced multiplier, as LiteRT's reference kernel)."""
    x, w, y = op.x, op.filter, op.y
    check_quantized(op, x, w, y)
    require(x.quant.zp == 0, op, "16-bit activations must have zero point 0")
    require(op.bias is None or op.bias.dtype is DType.INT64, op,
            "a 16x8 CONV_2D takes an int64 bias")
    _, ih, iw, _ = x.nhwc()
    _, oh, ow, oc = y.nhwc()
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = op.stride, op.dilation
    act = activation_range(op.activation, y.quant.s, y.quant.zp, INT16_MIN, INT16_MAX)
    params = ctx.param("tc_conv_params", CStruct({
        "input_offset": 0,
        "output_offset": y.quant.zp,
        "stride": tile(sh, sw),
        "padding": tile(conv_padding(ih, kh, sh, dh, oh), conv_padding(iw, kw, sw, dw, ow)),
        "dilation": tile(dh, dw),
        "activation": activation(*act),
    }), "conv_params")
    quant = per_channel_quant_s16(op, ctx, x, w, y, oc)
    bias_dims, bias = bias_args(ctx, op.bias, oc)
    return KernelCall("tc_convolve_s16", [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"), ctx.tensor_ptr(w),
        bias_dims, bias,
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ], comment="16x8")


def folded_input_offset(op: Conv2D, ctx: LowerContext) -> str | None:
    """For a convolution without padding (every tap reads the input): the input offset's
    contribution folded into the bias at export, bias'[c] = bias[c] - x_zp * sum(w[c]) in
    int32 (wrapping, as the kernel's sum would), so the kernel runs with input_offset 0 and
    computes sum(w * x) + bias': the same int32 accumulator, with no per-channel weight sum
    at run time. Only where the op has a bias (replaced: no extra flash unless another op
    shares that bias tensor), and then also at zero point 0, so that the flash a model
    needs does not depend on its zero points (the search's graph has placeholder ones).
    None otherwise."""
    x, w, bias = op.x, op.filter, op.bias
    if w.data is None or bias is None or bias.data is None:
        return None
    sums = np.asarray(w.data, np.int64).reshape(w.shape[0], -1).sum(axis=1)
    folded = wrap_int32_array(np.asarray(bias.data, np.int64) - x.quant.zp * sums)
    return ctx.const_array(folded, "int32_t", f"{op.name}_bias")


@lowering(Conv2D, kernels=("tc_convolve_s8", "tc_convolve_1x1_s8", "tc_convolve_s16"),
          dtypes=("int8", "int16"))
def lower_conv(op: Conv2D, ctx: LowerContext) -> KernelCall:
    if activation_dtype(op) is DType.INT16:
        return lower_conv_s16(op, ctx)
    x, w, y = op.x, op.filter, op.y
    check_quantized(op, x, w, y)
    require(x.shape[3] % w.shape[3] == 0, op, "input channels are not a multiple of the "
            "filter's input channels")
    _, ih, iw, _ = x.nhwc()
    _, oh, ow, oc = y.nhwc()
    require(oc % op.groups == 0 and w.shape[0] == oc, op,
            f"{oc} output channels do not split evenly into {op.groups} groups")
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = op.stride, op.dilation
    act = activation_range(op.activation, y.quant.s, y.quant.zp)
    folded_bias = folded_input_offset(op, ctx) if op.is_pointwise else None
    params = ctx.param("tc_conv_params", CStruct({
        "input_offset": -x.quant.zp if folded_bias is None else 0,
        "output_offset": y.quant.zp,
        "stride": tile(sh, sw),
        "padding": tile(conv_padding(ih, kh, sh, dh, oh), conv_padding(iw, kw, sw, dw, ow)),
        "dilation": tile(dh, dw),
        "activation": activation(*act),
    }), "conv_params")
    quant = per_channel_quant(op, ctx, x, w, y, oc, op.bias, channel_axis=0)
    # The folded bias replaces the op's own (whose array then is not emitted at all).
    bias_dims, bias = bias_args(ctx, None if folded_bias else op.bias, oc)
    bias = folded_bias or bias
    function = "tc_convolve_1x1_s8" if op.is_pointwise else "tc_convolve_s8"
    return KernelCall(function, [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"), ctx.tensor_ptr(w),
        bias_dims, bias,
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


def f64_scale(real: float) -> tuple[int, int]:
    """A double as (mantissa, exponent), real = mantissa * 2**-exponent exactly."""
    if real == 0.0:
        return 0, 0
    fraction, exp2 = math.frexp(real)  # real = fraction * 2**exp2, 0.5 <= fraction < 1
    return int(fraction * (1 << 53)), 53 - exp2


def f64_scales(op: Op, ctx: LowerContext, x: Tensor, w: Tensor, y: Tensor,
               units: int) -> str:
    """LiteRT's reference FULLY_CONNECTED requantizes with a double per unit:
    (double)s_in * (double)s_w[u] / (double)s_out, in that order (fully_connected.h)."""
    check_quantized(op, x, w, y)
    mantissas, exponents = np.zeros(units, np.int64), np.zeros(units, np.int32)
    for u in range(units):
        real = effective_scale(x.quant.s, w.quant.scale_at(u), y.quant.s)
        require(real >= 0.0 and math.isfinite(real), op, f"invalid output scale {real}")
        mantissas[u], exponents[u] = f64_scale(real)
    return ctx.param("tc_f64_scale_params", CStruct({
        "mantissa": CExpr(ctx.const_array(mantissas, "int64_t", f"{op.name}_mantissa")),
        "exponent": CExpr(ctx.const_array(exponents, "int32_t", f"{op.name}_exponent")),
    }), "scale")


def _fully_connected(op: FullyConnected, ctx: LowerContext, function: str,
                     requantization) -> KernelCall:
    dtype = activation_dtype(op)
    x, w, y = op.x, op.filter, op.y
    check_quantized(op, x, w, y)
    if dtype is DType.INT16:  # 16x8: int64 bias, int16 in and out
        function = function.replace("_s8", "_s16")
        require(x.quant.zp == 0, op, "16-bit activations must have zero point 0")
        require(op.bias is None or op.bias.dtype is DType.INT64, op,
                "a 16x8 FULLY_CONNECTED takes an int64 bias")
        if requantization is fc_per_channel_quant:  # TFLite Micro's fixed point
            def requantization(op, ctx, x, w, y, units):
                return per_channel_quant_s16(op, ctx, x, w, y, units)
    units, depth = w.shape
    require(x.size % depth == 0, op, f"input size {x.size} is not a multiple of {depth}")
    if not w.quant.per_channel and op.bias is not None:
        bias_scale = op.bias.quant.s if op.bias.quant is not None else 0.0
        require(bias_scale_accepted(x.quant.s, w.quant.s, bias_scale, y.quant.s), op,
                f"bias scale {bias_scale!r} is not input scale x weight scale (LiteRT "
                "refuses the layer: |s_in * s_w - s_bias| / s_out > 0.02)")
    act = activation_range(op.activation, y.quant.s, y.quant.zp, *value_range(dtype))
    # TFLite's per-channel kernels assume symmetric weights; the per-tensor ones apply
    # the weights' zero point.
    filter_offset = 0 if w.quant.per_channel else -w.quant.zero_point[0]
    params = ctx.param("tc_fc_params", CStruct({
        "input_offset": -x.quant.zp,
        "filter_offset": filter_offset,
        "output_offset": y.quant.zp,
        "activation": activation(*act),
    }), "fc_params")
    requant = requantization(op, ctx, x, w, y, units)
    bias_dims, bias = bias_args(ctx, op.bias, units)
    batches = x.size // depth
    return KernelCall(function, [
        ctx.scratch(), params, requant,
        ctx.param("tc_dims", dims_of((batches, 1, 1, depth)), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of((units, 1, 1, depth)), "filter_dims"), ctx.tensor_ptr(w),
        bias_dims, bias,
        ctx.param("tc_dims", dims_of((batches, 1, 1, units)), "output_dims"), ctx.tensor_ptr(y),
    ])


@lowering(FullyConnected, kernels=("tc_fully_connected_s8", "tc_fully_connected_f64_s8",
                                   "tc_fully_connected_s16", "tc_fully_connected_f64_s16"),
          dtypes=("int8", "int16"))
def lower_fully_connected(op: FullyConnected, ctx: LowerContext) -> KernelCall:
    """Bit-exact with LiteRT BUILTIN_REF (the default oracle), or with TFLite Micro."""
    if ctx.match == "tflm":
        return fully_connected_fixed_point(op, ctx)
    return _fully_connected(op, ctx, "tc_fully_connected_f64_s8", f64_scales)


def fc_per_channel_quant(op: FullyConnected, ctx: LowerContext, x: Tensor, w: Tensor,
                         y: Tensor, units: int) -> str:
    return per_channel_quant(op, ctx, x, w, y, units, op.bias, channel_axis=0,
                             weight_zero_point=0 if w.quant.per_channel else w.quant.zero_point[0])


def fully_connected_fixed_point(op: FullyConnected, ctx: LowerContext) -> KernelCall:
    """Bit-exact with TFLite Micro (and CMSIS-NN): the fixed-point multiplier per unit.
    For an export that must match TFLM rather than LiteRT."""
    return _fully_connected(op, ctx, "tc_fully_connected_s8", fc_per_channel_quant)
