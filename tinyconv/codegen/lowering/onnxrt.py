"""Lowering of the ONNX importer's ops (tinyconv/ir/onnx_ops.py) to the kernels of
firmware/kernels/onnxrt, which reproduce onnxruntime's CPU arithmetic (`--match
onnxruntime`; the arithmetic is stated in firmware/kernels/include/tc_nn_onnxrt.h).

The float32 parameters are computed here exactly as onnxruntime computes them, in float32:
- QLinearConv / QGemm / QLinearMatMul: scale[c] = (x_scale * w_scale[c]) / y_scale;
- QLinearGlobalAveragePool: x_scale / (y_scale * (float)(H * W));
- QLinearAdd: r_a = s_a / s_c, r_b = s_b / s_c, F = (float)zp_c - (r_a * zp_a + r_b * zp_b)
  with the zero points in onnxruntime's domain (uint8 ones for a uint8 model);
- QLinearMul: R = (s_a * s_b) / s_c;
- QLinearConcat's requantization table (QlinearBuildLookupTable): for every input code x,
  clamp(round_half_even(((float)(x - zp_x) * s_x) / s_y) + zp_y).
"""

from __future__ import annotations

import numpy as np

from ...ir.onnx_ops import (OrtAdd, OrtAveragePool, OrtConv2D, OrtDepthwiseConv2D,
                            OrtFullyConnected, OrtGlobalAveragePool, OrtMul, OrtRequantize)
from .base import (CExpr, CStruct, KernelCall, LowerContext, activation, conv_padding, dims,
                   dims_of, lowering, require, tile)

MATCH = "onnxruntime"
f32 = np.float32


def _check_match(op, ctx: LowerContext) -> None:
    require(ctx.match == MATCH, op, f"comes from an ONNX model and computes as onnxruntime "
            f"does: export it with --match {MATCH} (not {ctx.match})")


def _requant(op, ctx: LowerContext, x_scale: float, w_scales: tuple[float, ...],
             y_scale: float, filter_offset: int) -> str:
    scales = np.array([f32(f32(x_scale) * f32(s)) / f32(y_scale) for s in w_scales], f32)
    return ctx.param("tc_ort_requant_params", CStruct({
        "scale": CExpr(ctx.const_array(scales, "float", f"{op.name}_scale")),
        "per_channel": int(len(scales) > 1),
        "filter_offset": filter_offset,
    }), "requant")


@lowering(OrtConv2D, kernels=("tc_convolve_s8_ort",), dtypes=("int8",))
def lower_conv(op: OrtConv2D, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, w, y = op.x, op.filter, op.y
    _, ih, iw, _ = x.nhwc()
    _, oh, ow, _ = y.nhwc()
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = op.stride, op.dilation
    params = ctx.param("tc_conv_params", CStruct({
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        "stride": tile(sh, sw),
        "padding": tile(conv_padding(ih, kh, sh, dh, oh), conv_padding(iw, kw, sw, dw, ow)),
        "dilation": tile(dh, dw),
        "activation": activation(op.act_min, op.act_max),
    }), "conv_params")
    quant = _requant(op, ctx, x.quant.s, w.quant.scale, y.quant.s, -op.filter_zero_point)
    bias = op.bias
    return KernelCall("tc_convolve_s8_ort", [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"), ctx.tensor_ptr(w),
        ctx.param("tc_dims", dims_of((1, 1, 1, w.shape[0])), "bias_dims"),
        ctx.tensor_ptr(bias) if bias is not None else "NULL",
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


@lowering(OrtDepthwiseConv2D, kernels=("tc_depthwise_conv_s8_ort",), dtypes=("int8",))
def lower_depthwise(op: OrtDepthwiseConv2D, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, w, y = op.x, op.filter, op.y
    _, ih, iw, _ = x.nhwc()
    _, oh, ow, oc = y.nhwc()
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = op.stride, op.dilation
    params = ctx.param("tc_dw_conv_params", CStruct({
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        "ch_mult": op.depth_multiplier,
        "stride": tile(sh, sw),
        "padding": tile(conv_padding(ih, kh, sh, dh, oh), conv_padding(iw, kw, sw, dw, ow)),
        "dilation": tile(dh, dw),
        "activation": activation(op.act_min, op.act_max),
    }), "dw_params")
    quant = _requant(op, ctx, x.quant.s, w.quant.scale, y.quant.s, -op.filter_zero_point)
    bias = op.bias
    return KernelCall("tc_depthwise_conv_s8_ort", [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"), ctx.tensor_ptr(w),
        ctx.param("tc_dims", dims_of((1, 1, 1, oc)), "bias_dims"),
        ctx.tensor_ptr(bias) if bias is not None else "NULL",
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


@lowering(OrtFullyConnected, kernels=("tc_fully_connected_s8_ort",), dtypes=("int8",))
def lower_fully_connected(op: OrtFullyConnected, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, w, y = op.x, op.filter, op.y
    units, depth = w.shape
    batches = x.size // depth
    params = ctx.param("tc_fc_params", CStruct({
        "input_offset": -x.quant.zp,
        "filter_offset": 0 if w.quant.per_channel else -w.quant.zp,
        "output_offset": y.quant.zp,
        "activation": activation(op.act_min, op.act_max),
    }), "fc_params")
    quant = _requant(op, ctx, x.quant.s, w.quant.scale, y.quant.s, 0)
    bias = op.bias
    return KernelCall("tc_fully_connected_s8_ort", [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims_of((batches, 1, 1, depth)), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of((units, 1, 1, depth)), "filter_dims"), ctx.tensor_ptr(w),
        ctx.param("tc_dims", dims_of((1, 1, 1, units)), "bias_dims"),
        ctx.tensor_ptr(bias) if bias is not None else "NULL",
        ctx.param("tc_dims", dims_of((batches, 1, 1, units)), "output_dims"),
        ctx.tensor_ptr(y),
    ])


def add_constants(op: OrtAdd) -> tuple[np.float32, np.float32, np.float32]:
    """(r_a, r_b, F) in float32 as MlasQLinearAddKernelAvx2Helper computes them."""
    a, b, y = op.inputs[0].quant, op.inputs[1].quant, op.y.quant
    off = op.value_offset
    ra = f32(a.s) / f32(y.s)
    rb = f32(b.s) / f32(y.s)
    fixed = f32(f32(y.zp + off) - f32(f32(ra * f32(a.zp + off)) + f32(rb * f32(b.zp + off))))
    return ra, rb, fixed


@lowering(OrtAdd, kernels=("tc_add_s8_ort",), dtypes=("int8",))
def lower_add(op: OrtAdd, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    a, b, y = op.inputs[0], op.inputs[1], op.y
    ra, rb, fixed = add_constants(op)
    params = ctx.param("tc_ort_add_params", CStruct({
        "ratio_a": float(ra), "ratio_b": float(rb), "fixed": float(fixed),
        "value_offset": op.value_offset,
        "scalar": {"": 0, "a": 1, "b": 2}[op.scalar],
        "activation": activation(op.act_min, op.act_max),
    }), "add_params")
    return KernelCall("tc_add_s8_ort", [params, ctx.tensor_ptr(a), ctx.tensor_ptr(b),
                                        ctx.tensor_ptr(y), ctx.elements(y)])


@lowering(OrtGlobalAveragePool, kernels=("tc_global_avgpool_s8_ort",), dtypes=("int8",))
def lower_global_average_pool(op: OrtGlobalAveragePool, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, y = op.x, op.y
    _, h, w, _ = x.nhwc()
    scale = f32(x.quant.s) / f32(f32(y.quant.s) * f32(h * w))
    params = ctx.param("tc_ort_pool_params", CStruct({
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        "scale": float(scale),
        "activation": activation(op.act_min, op.act_max),
    }), "gap_params")
    return KernelCall("tc_global_avgpool_s8_ort", [
        params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


@lowering(OrtMul, kernels=("tc_mul_s8_ort",), dtypes=("int8",))
def lower_mul(op: OrtMul, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    a, b, y = op.inputs[0], op.inputs[1], op.y
    scale = f32(f32(a.quant.s) * f32(b.quant.s)) / f32(y.quant.s)
    scalar = 1 if a.size == 1 and y.size > 1 else 2 if b.size == 1 and y.size > 1 else 0
    params = ctx.param("tc_ort_mul_params", CStruct({
        "input1_offset": -a.quant.zp, "input2_offset": -b.quant.zp,
        "scale": float(scale), "output_zero_point": float(y.quant.zp + op.value_offset),
        "value_offset": op.value_offset, "scalar": scalar,
        "activation": activation(op.act_min, op.act_max),
    }), "mul_params")
    return KernelCall("tc_mul_s8_ort", [params, ctx.tensor_ptr(a), ctx.tensor_ptr(b),
                                        ctx.tensor_ptr(y), ctx.elements(y)])


@lowering(OrtAveragePool, kernels=("tc_avgpool_s8_ort",), dtypes=("int8",))
def lower_average_pool(op: OrtAveragePool, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, y = op.x, op.y
    top, left, _, _ = op.pads
    params = ctx.param("tc_ort_avgpool_params", CStruct({
        "stride": tile(*op.stride), "filter": tile(*op.filter_size),
        "padding": tile(top, left), "count_include_pad": int(op.count_include_pad),
        "input_offset": -x.quant.zp, "input_scale": float(f32(x.quant.s)),
        "output_scale": float(f32(y.quant.s)),
        "output_zero_point": float(y.quant.zp + op.value_offset),
        "value_offset": op.value_offset,
        "activation": activation(op.act_min, op.act_max),
    }), "avgpool_params")
    return KernelCall("tc_avgpool_s8_ort", [
        params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


def requantize_table(op: OrtRequantize) -> np.ndarray:
    """QlinearBuildLookupTable with the identity: dequantize (float32), QuantizeLinear
    (float32 quotient, round half even, + zero point, saturate), in tc_lut_s8's order
    (index = the input byte as unsigned)."""
    xq, yq, off = op.x.quant, op.y.quant, op.value_offset
    lo, hi = (0, 255) if off else (-128, 127)
    codes = np.arange(-128, 128)
    dq = (codes - xq.zp).astype(f32) * f32(xq.s)
    q = np.clip(np.rint((dq / f32(yq.s)).astype(f32)).astype(np.int64) + yq.zp + off, lo, hi)
    table = np.zeros(256, np.int8)
    table[codes.astype(np.uint8)] = (q - off).astype(np.int8)
    return table


@lowering(OrtRequantize, kernels=("tc_lut_s8",), dtypes=("int8",))
def lower_requantize(op: OrtRequantize, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    table = ctx.const_array(requantize_table(op), "int8_t", f"{op.name}_table")
    return KernelCall("tc_lut_s8", [table, ctx.elements(op.y), ctx.tensor_ptr(op.x),
                                    ctx.tensor_ptr(op.y)])


# -- Softmax, Resize, ConvTranspose and activations -------------------------------------
# -- end of Softmax, Resize, ConvTranspose and activations ------------------------------
