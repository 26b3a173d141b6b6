"""Lowering of CONV_2D and FULLY_CONNECTED to tc_convolve_*_s8 / tc_fully_connected_s8."""

from __future__ import annotations

import numpy as np

from ...ir.graph import Tensor
from ...ir.ops import Conv2D, FullyConnected, Op
from ...quant import activation_range, quantize_multiplier
from .base import (CExpr, CStruct, KernelCall, LowerContext, activation, conv_padding, dims,
                   dims_of, lowering, require, tile)


def per_channel_quant(op: Op, ctx: LowerContext, x: Tensor, w: Tensor, y: Tensor,
                      channels: int) -> str:
    """Multipliers exactly as TFLite's PopulateConvolutionQuantizationParams: in double."""
    require(w.quant is not None and x.quant is not None and y.quant is not None, op,
            "weights and activations must be quantized (float models are not supported)")
    mults, shifts = np.zeros(channels, np.int32), np.zeros(channels, np.int32)
    for c in range(channels):
        real = float(x.quant.s) * float(w.quant.scale_at(c)) / float(y.quant.s)
        mults[c], shifts[c] = quantize_multiplier(real)
    return ctx.param("tc_per_channel_quant_params", CStruct({
        "multiplier": CExpr(ctx.const_array(mults, "int32_t", f"{op.name}_mult")),
        "shift": CExpr(ctx.const_array(shifts, "int32_t", f"{op.name}_shift")),
    }), "quant")


def bias_args(ctx: LowerContext, bias: Tensor | None, channels: int) -> tuple[str, str]:
    bias_dims = ctx.param("tc_dims", dims_of((1, 1, 1, channels)), "bias_dims")
    return bias_dims, (ctx.tensor_ptr(bias) if bias is not None else "NULL")


def check_int8_io(op: Op) -> None:
    for t in op.activation_inputs() + op.outputs:
        require(t.dtype.name == "INT8", op, f"tensor {t.name!r} is {t.dtype.name}, "
                "only int8 activations are supported")


@lowering(Conv2D)
def lower_conv(op: Conv2D, ctx: LowerContext) -> KernelCall:
    check_int8_io(op)
    x, w, y = op.x, op.filter, op.y
    require(op.x.shape[3] % w.shape[3] == 0, op, "input channels are not a multiple of the "
            "filter's input channels")
    _, ih, iw, _ = x.nhwc()
    _, oh, ow, oc = y.nhwc()
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = op.stride, op.dilation
    act = activation_range(op.activation, y.quant.s, y.quant.zp)
    params = ctx.param("tc_conv_params", CStruct({
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        "stride": tile(sh, sw),
        "padding": tile(conv_padding(ih, kh, sh, dh, oh), conv_padding(iw, kw, sw, dw, ow)),
        "dilation": tile(dh, dw),
        "activation": activation(*act),
    }), "conv_params")
    quant = per_channel_quant(op, ctx, x, w, y, oc)
    bias_dims, bias = bias_args(ctx, op.bias, oc)
    function = "tc_convolve_1x1_s8" if op.is_pointwise else "tc_convolve_s8"
    return KernelCall(function, [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"), ctx.tensor_ptr(w),
        bias_dims, bias,
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


@lowering(FullyConnected)
def lower_fully_connected(op: FullyConnected, ctx: LowerContext) -> KernelCall:
    check_int8_io(op)
    x, w, y = op.x, op.filter, op.y
    units, depth = w.shape
    require(x.size % depth == 0, op, f"input size {x.size} is not a multiple of {depth}")
    act = activation_range(op.activation, y.quant.s, y.quant.zp)
    params = ctx.param("tc_fc_params", CStruct({
        "input_offset": -x.quant.zp,
        "filter_offset": -w.quant.zero_point[0],
        "output_offset": y.quant.zp,
        "activation": activation(*act),
    }), "fc_params")
    quant = per_channel_quant(op, ctx, x, w, y, units)
    bias_dims, bias = bias_args(ctx, op.bias, units)
    batches = x.size // depth
    return KernelCall("tc_fully_connected_s8", [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims_of((batches, 1, 1, depth)), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of((units, 1, 1, depth)), "filter_dims"), ctx.tensor_ptr(w),
        bias_dims, bias,
        ctx.param("tc_dims", dims_of((batches, 1, 1, units)), "output_dims"), ctx.tensor_ptr(y),
    ])
