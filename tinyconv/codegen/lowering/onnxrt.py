"""Lowering of the ONNX importer's ops (tinyconv/ir/onnx_ops.py) to the kernels of
firmware/kernels/onnxrt, which reproduce onnxruntime's CPU arithmetic (`--match
onnxruntime`; the arithmetic is stated in firmware/kernels/include/tc_nn_onnxrt.h).

The float32 parameters are computed here exactly as onnxruntime computes them, in float32:
- QLinearConv / QGemm / QLinearMatMul: scale[c] = (x_scale * w_scale[c]) / y_scale
  (QGemm: ((alpha * x_scale) * w_scale[c]) / y_scale);
- QLinearGlobalAveragePool: x_scale / (y_scale * (float)(H * W));
- QLinearAdd: r_a = s_a / s_c, r_b = s_b / s_c, F = (float)zp_c - (r_a * zp_a + r_b * zp_b)
  with the zero points in onnxruntime's domain (uint8 ones for a uint8 model);
- QLinearMul: R = (s_a * s_b) / s_c;
- QLinearAdd / QLinearMul broadcasting: the walk of tc_ort_broadcast (broadcast_walk);
- QLinearConcat's requantization table (QlinearBuildLookupTable): for every input code x,
  clamp(round_half_even(((float)(x - zp_x) * s_x) / s_y) + zp_y).
"""

from __future__ import annotations

import math

import numpy as np

from ...ir.onnx_ops import (OrtAdd, OrtAveragePool, OrtConv2D, OrtDepthwiseConv2D,
                            OrtFullyConnected, OrtGlobalAveragePool, OrtMul, OrtRequantize)
# -- ONNX ops added --
from ...ir.onnx_ops import (OrtHardSigmoid, OrtHardSwish, OrtLeakyRelu, OrtLookup,
                            OrtResizeNearest, OrtSigmoid, OrtSoftmax, OrtTanh)
# -- end of ONNX ops added --
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


def _window_call(op: OrtConv2D | OrtDepthwiseConv2D, ctx: LowerContext, kernel: str,
                 params_type: str, hint: str, extra: dict[str, int]) -> KernelCall:
    """The call of a convolution kernel (tc_convolve_s8_ort, tc_depthwise_conv_s8_ort):
    its window parameters (`extra` after the offsets), requantization and tensors."""
    _check_match(op, ctx)
    x, w, y = op.x, op.filter, op.y
    _, ih, iw, _ = x.nhwc()
    _, oh, ow, oc = y.nhwc()
    _, kh, kw, _ = w.shape
    (sh, sw), (dh, dw) = op.stride, op.dilation
    params = ctx.param(params_type, CStruct({
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        **extra,
        "stride": tile(sh, sw),
        "padding": tile(conv_padding(ih, kh, sh, dh, oh), conv_padding(iw, kw, sw, dw, ow)),
        "dilation": tile(dh, dw),
        "activation": activation(op.act_min, op.act_max),
    }), hint)
    quant = _requant(op, ctx, x.quant.s, w.quant.scale, y.quant.s, -op.filter_zero_point)
    bias = op.bias
    return KernelCall(kernel, [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"), ctx.tensor_ptr(w),
        ctx.param("tc_dims", dims_of((1, 1, 1, oc)), "bias_dims"),
        ctx.tensor_ptr(bias) if bias is not None else "NULL",
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ])


@lowering(OrtConv2D, kernels=("tc_convolve_s8_ort",), dtypes=("int8",))
def lower_conv(op: OrtConv2D, ctx: LowerContext) -> KernelCall:
    return _window_call(op, ctx, "tc_convolve_s8_ort", "tc_conv_params", "conv_params", {})


@lowering(OrtDepthwiseConv2D, kernels=("tc_depthwise_conv_s8_ort",), dtypes=("int8",))
def lower_depthwise(op: OrtDepthwiseConv2D, ctx: LowerContext) -> KernelCall:
    return _window_call(op, ctx, "tc_depthwise_conv_s8_ort", "tc_dw_conv_params",
                        "dw_params", {"ch_mult": op.depth_multiplier})


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
    quant = _requant(op, ctx, float(f32(op.alpha) * f32(x.quant.s)), w.quant.scale,
                     y.quant.s, 0)
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


def broadcast_walk(op) -> CStruct:
    """tc_ort_broadcast of a binary op: the output's stored shape as 4 axes and each
    input's element steps along them (0 where it broadcasts: the IR's right-aligned
    broadcasting of the stored shapes, which the importer lays out as the output)."""
    y = op.y
    dims = (1,) * (4 - len(y.shape)) + tuple(int(d) for d in y.shape)
    walk = {"dims": dims}
    for key, t in (("stride1", op.inputs[0]), ("stride2", op.inputs[1])):
        shape = (1,) * (4 - len(t.shape)) + tuple(int(d) for d in t.shape)
        steps, step = [0] * 4, 1
        for k in range(3, -1, -1):
            steps[k] = step if shape[k] > 1 else 0
            step *= shape[k]
        walk[key] = tuple(steps)
    return CStruct({k: CExpr("{" + ", ".join(str(v) for v in values) + "}")
                    for k, values in walk.items()})


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
        "broadcast": broadcast_walk(op),
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
    params = ctx.param("tc_ort_mul_params", CStruct({
        "input1_offset": -a.quant.zp, "input2_offset": -b.quant.zp,
        "scale": float(scale), "output_zero_point": float(y.quant.zp + op.value_offset),
        "value_offset": op.value_offset,
        "activation": activation(op.act_min, op.act_max),
        "broadcast": broadcast_walk(op),
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

# The activations as onnxruntime 1.32 computes them in float32 (CPU EP, x86-64 with FMA3,
# the MLAS kernels every x86-64 CPU since 2013 and Arm64 run): MlasComputeLogistic and
# MlasComputeTanh are Eigen's rational approximations evaluated with fused multiply-adds;
# HardSigmoid is Eigen's alpha * x + beta (two roundings), clamped to [0, 1]; HardSwish
# is fused by onnxruntime into x * HardSigmoid(x) with alpha = 1/6, beta = 0.5; LeakyRelu
# is x >= 0 ? x : alpha * x. Checked against onnxruntime over 2e5 random float inputs
# each (and every code of 150-200 random quantizations): 0 differ.
_LOGISTIC = tuple(f32(v) for v in (
    4.37031012579801e-11, 1.15627324459942e-07, 6.08574864600143e-05, 8.51377133304701e-03,
    2.48287947061529e-01, 6.10247389755681e-13, 5.76102136993427e-09, 6.29106785017040e-06,
    1.70198817374094e-03, 1.16817656904453e-01, 9.93151921023180e-01))
_TANH = tuple(f32(v) for v in (
    -2.76076847742355e-16, 2.00018790482477e-13, -8.60467152213735e-11, 5.12229709037114e-08,
    1.48572235717979e-05, 6.37261928875436e-04, 4.89352455891786e-03, 1.19825839466702e-06,
    1.18534705686654e-04, 2.26843463243900e-03, 4.89352518554385e-03))


def fma32(a, b, c) -> np.ndarray:
    """float32 a * b + c with one rounding (as FMA3's vfmadd): the product is exact in
    float64, the float64 sum is rounded to odd (its error from TwoSum), and a float64
    rounded to odd then to float32 is the correctly rounded float32 result."""
    a, b, c = (np.asarray(v, f32).astype(np.float64) for v in (a, b, c))
    p = a * b
    s = p + c
    bb = s - p
    err = (p - (s - bb)) + (c - bb)
    bits = s.view(np.int64).copy()
    fix = (err != 0) & ((bits & 1) == 0)
    bits = np.where(fix, np.where((err > 0) == (s > 0), bits + 1, bits - 1), bits)
    return bits.view(np.float64).astype(f32)


def _rational(x, alphas, betas, lo, hi) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    v = np.minimum(np.maximum(x, f32(lo)), f32(hi)).astype(f32)
    v2 = (v * v).astype(f32)
    p = fma32(v2, alphas[0], alphas[1])
    for a in alphas[2:]:
        p = fma32(p, v2, a)
    p = (p * v).astype(f32)
    q = fma32(v2, betas[0], betas[1])
    for b in betas[2:]:
        q = fma32(q, v2, b)
    return v, p, q


def ort_function(op: OrtLookup, x: np.ndarray) -> np.ndarray:
    """The op's float32 function as onnxruntime computes it (see above)."""
    x = np.asarray(x, f32)
    if op.function == "sigmoid":
        _, p, q = _rational(x, _LOGISTIC[:5], _LOGISTIC[5:], -18.0, 18.0)
        return np.clip(((p / q).astype(f32) + f32(0.5)).astype(f32), f32(0), f32(1))
    if op.function == "tanh":
        _, p, q = _rational(x, _TANH[:7], _TANH[7:], -9.0, 9.0)
        return (p / q).astype(f32)
    if op.function == "leaky_relu":
        return np.where(x >= 0, x, (f32(op.alpha) * x).astype(f32)).astype(f32)
    if op.function in ("hard_sigmoid", "hard_swish"):
        alpha, beta = (f32(1.0) / f32(6.0), f32(0.5)) if op.function == "hard_swish" else \
            (f32(op.alpha), f32(op.beta))
        h = np.maximum(np.minimum(((alpha * x).astype(f32) + beta).astype(f32), f32(1)),
                       f32(0)).astype(f32)
        return h if op.function == "hard_sigmoid" else (x * h).astype(f32)
    raise AssertionError(f"no float function {op.function!r}")


def lookup_table(op: OrtLookup) -> np.ndarray:
    """QlinearBuildLookupTable: for every input code, x_scale * (code - zp_x) in float32,
    the function, then MlasQuantizeLinear (float32 quotient, clamp to the range minus the
    zero point, round half even, + zero point); in tc_lut_s8's order (index = the stored
    byte as unsigned)."""
    xq, yq, off = op.x.quant, op.y.quant, op.value_offset
    codes = np.arange(-128, 128)
    dq = (f32(xq.s) * (codes - xq.zp).astype(f32)).astype(f32)
    with np.errstate(over="ignore", invalid="ignore"):
        t = (ort_function(op, dq) / f32(yq.s)).astype(f32)
    lo, hi = (0, 255) if off else (-128, 127)
    zp = yq.zp + off
    q = np.rint(np.clip(t, f32(lo - zp), f32(hi - zp))).astype(np.int64) + zp
    table = np.zeros(256, np.int8)
    table[codes.astype(np.uint8)] = (q - off).astype(np.int8)
    return table


@lowering(OrtSigmoid, OrtLeakyRelu, OrtTanh, OrtHardSigmoid, OrtHardSwish,
          kernels=("tc_lut_s8",), dtypes=("int8",))
def lower_lookup(op: OrtLookup, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    table = ctx.const_array(lookup_table(op), "int8_t", f"{op.name}_table")
    return KernelCall("tc_lut_s8", [table, ctx.elements(op.y), ctx.tensor_ptr(op.x),
                                    ctx.tensor_ptr(op.y)])


def softmax_table(op: OrtSoftmax) -> np.ndarray:
    """QlinearBuildLookupTableUint32 (EXP_OUT_DTYPE float) indexed by d = max - x:
    bit_shift = max(0, log(FLT_MAX / (float)D) - 5) / x_scale and
    table[d] = (float)exp(((double)(255 - d) - 255 + bit_shift) * (double)x_scale), in
    double with the C library's exp and log (Python's math uses the same)."""
    scale = float(f32(op.x.quant.s))
    flt_max = float(np.finfo(f32).max)
    shift = max(0.0, math.log(float(f32(flt_max) / f32(op.depth))) - 5.0) / scale
    return np.array([math.exp((float(255 - d) - 255 + shift) * scale) for d in range(256)],
                    np.float64).astype(f32)


@lowering(OrtSoftmax, kernels=("tc_softmax_s8_ort",), dtypes=("int8",))
def lower_softmax(op: OrtSoftmax, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    y_scale = np.floor(f32(1.0) / f32(op.y.quant.s)).astype(f32)
    require(y_scale <= 2 ** 22, op, f"output scale {op.y.quant.s!r} is below 2^-22 "
            "(onnxruntime's floor(1 / scale) must be at most 2^22)")
    table = softmax_table(op)
    with np.errstate(over="ignore"):
        top = f32(table[0] * y_scale)
    require(bool(np.isfinite(top)), op, f"rows of {op.depth} with output scale "
            f"{op.y.quant.s!r}: onnxruntime's exp(x) * floor(1 / scale) overflows float32 "
            "(its result is then undefined C++)")
    params = ctx.param("tc_ort_softmax_params", CStruct({
        "table": CExpr(ctx.const_array(table, "float", f"{op.name}_exp")),
        "y_scale": float(y_scale),
        "output_zero_point": op.y.quant.zp + op.value_offset,
        "value_offset": op.value_offset,
    }), "softmax_params")
    return KernelCall("tc_softmax_s8_ort", [params, ctx.tensor_ptr(op.x), ctx.tensor_ptr(op.y),
                                            op.y.size // op.depth, op.depth])


def _original_coordinate(mode: str, x: int, scale, out_len: int, in_len: int,
                         roi_start, roi_end) -> np.float32:
    """onnxruntime's GetOriginalCoordinateFromResizedCoordinate, in its float32 (and,
    where its C++ promotes, double) arithmetic."""
    xr, s, lr, lo = f32(x), f32(scale), f32(out_len), f32(in_len)
    if mode == "asymmetric":
        return f32(xr / s)
    if mode == "pytorch_half_pixel":
        return f32(f32(f32(xr + f32(0.5)) / s) - f32(0.5)) if lr > 1 else f32(0)
    if mode == "tf_half_pixel_for_nn":
        return f32(f32(xr + f32(0.5)) / s)
    if mode == "align_corners":
        return f32(0) if lr == 1 else f32(f32(xr * f32(lo - 1)) / f32(lr - 1))
    if mode == "tf_crop_and_resize":
        rs, re = f32(roi_start), f32(roi_end)
        if lr > 1:
            return f32(f32(rs * f32(lo - 1)) + f32(f32(f32(xr * f32(re - rs)) * f32(lo - 1))
                                                   / f32(lr - 1)))
        return f32(0.5 * float(f32(rs + re)) * float(f32(lo - 1)))
    if mode == "half_pixel_symmetric":
        output_width = f32(s * lo)
        adjustment = f32(lr / output_width)
        center = f32(lo / f32(2))
        offset = f32(center * f32(f32(1) - adjustment))
        return f32(float(offset) + (float(xr) + 0.5) / float(s) - 0.5)
    return f32(f32(f32(xr + f32(0.5)) / s) - f32(0.5))  # half_pixel


def _nearest_pixel(mode: str, v: np.float32, downsample: bool) -> int:
    """onnxruntime's GetNearestPixelFromOriginal (std::round: halves away from zero)."""
    def away(t):
        return int(math.floor(t + 0.5)) if t >= 0 else -int(math.floor(-t + 0.5))
    v = float(v)
    if mode == "simple":
        return math.ceil(v) if downsample else int(v)
    if mode == "round_prefer_ceil":
        return away(v)
    if mode == "floor":
        return math.floor(v)
    if mode == "ceil":
        return math.ceil(v)
    if v == float(f32(f32(int(v)) + f32(0.5))):  # round_prefer_floor: halves go down
        return math.floor(v)
    return away(v)


def resize_nearest_indices(op: OrtResizeNearest, axis: int) -> np.ndarray:
    """The input index of every output index along NHWC axis 1 (H) or 2 (W), as
    onnxruntime's UpsampleNearest maps them: original coordinate, nearest pixel, clamped
    to the input."""
    in_len, out_len = op.x.shape[axis], op.y.shape[axis]
    scale = op.scales[axis - 1]
    # An axis of scale 1 maps to itself; an output of the input's shape is a copy
    # (onnxruntime 1.32, measured), whatever the scales and the modes.
    if f32(scale) == 1 or tuple(op.y.shape) == tuple(op.x.shape):
        return np.arange(out_len, dtype=np.int32)
    roi_start, roi_end = op.roi[axis - 1], op.roi[axis + 1]
    out = []
    for i in range(out_len):
        v = _original_coordinate(op.coordinate_mode, i, scale, out_len, in_len, roi_start,
                                 roi_end)
        down = float(f32(scale)) < 1
        k = min(max(_nearest_pixel(op.nearest_mode, v, down), 0), in_len - 1)
        out.append(k)
        tie = _near_tie(op.nearest_mode, v)
        if tie is not None:  # the pixel on the boundary and just across it
            sides = {min(max(_nearest_pixel(op.nearest_mode, f32(w), down), 0), in_len - 1)
                     for w in (tie, f32(2 * float(tie) - float(v)))}
        if tie is not None and sides != {k}:
            require(False, op, f"output index {i} of axis {'HW'[axis - 1]} maps to the "
                    f"float32 coordinate {float(v)!r}, within four ulps of a rounding tie: "
                    "onnxruntime's x86-64 build rounds such coordinates to the other side "
                    "(measured; its division is not the correctly rounded one), so the "
                    "index is not reproducible")
    return np.asarray(out, np.int32)


def _near_tie(mode: str, v: np.float32) -> np.float32 | None:
    """The boundary where `mode` changes its pixel (k + 0.5 for the rounding modes, an
    integer for floor, ceil and simple) if `v` lies within four ulps of it without being
    on it; else None."""
    v = f32(v)
    half = mode in ("round_prefer_floor", "round_prefer_ceil")
    b = math.floor(float(v)) + 0.5 if half else float(round(float(v)))
    gap = abs(float(v) - b)
    if 0 < gap <= 4 * float(np.spacing(f32(max(abs(b), 1.0)))):
        return f32(b)
    return None


@lowering(OrtResizeNearest, kernels=("tc_resize_nearest_s8",), dtypes=("int8",))
def lower_resize_nearest(op: OrtResizeNearest, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, y = op.x, op.y
    params = ctx.param("tc_resize_nearest_params", CStruct({
        "rows": CExpr(ctx.const_array(resize_nearest_indices(op, 1), "int32_t",
                                      f"{op.name}_rows")),
        "cols": CExpr(ctx.const_array(resize_nearest_indices(op, 2), "int32_t",
                                      f"{op.name}_cols")),
    }), "resize_params")
    return KernelCall("tc_resize_nearest_s8", [
        params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y)])
# Resize (linear)
from ...ir.onnx_ops import OrtResizeLinear  # noqa: E402


def resize_linear_tables(op: OrtResizeLinear, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """onnxruntime's SetupUpsampleBilinear along NHWC axis 1 (H) or 2 (W): for every output
    index the two input indices (i1, i2, interleaved) and the float32 weights (d1, d2,
    interleaved; i1 takes d2, i2 takes d1):
        v = scale == 1 ? i : original coordinate (float32, _original_coordinate)
        v = max(0, min(v, in - 1));  i1 = min((int)v, in - 1);  i2 = min(i1 + 1, in - 1)
        d1 = |v - i1|;  d2 = |v - i2|;  d1 = d2 = 0.5 where i1 == i2.
    An output of the input's shape is a copy in onnxruntime (measured): weights 0 and 1."""
    in_len, out_len = op.x.shape[axis], op.y.shape[axis]
    scale = f32(op.scales[axis - 1])
    idx = np.zeros(2 * out_len, np.int32)
    wts = np.zeros(2 * out_len, f32)
    copy = tuple(op.y.shape) == tuple(op.x.shape)
    for i in range(out_len):
        if copy:
            idx[2 * i:2 * i + 2], wts[2 * i:2 * i + 2] = i, (f32(0), f32(1))
            continue
        v = f32(i) if scale == 1 else _original_coordinate(op.coordinate_mode, i, scale,
                                                           out_len, in_len, 0.0, 1.0)
        v = f32(max(f32(0), min(f32(v), f32(in_len - 1))))
        i1 = min(int(v), in_len - 1)
        i2 = min(i1 + 1, in_len - 1)
        d1, d2 = f32(abs(f32(v - f32(i1)))), f32(abs(f32(v - f32(i2))))
        if i1 == i2:
            d1 = d2 = f32(0.5)
        idx[2 * i:2 * i + 2] = i1, i2
        wts[2 * i:2 * i + 2] = d1, d2
    return idx, wts


def resize_linear_int_tables(op: OrtResizeLinear, axis: int) -> tuple[np.ndarray, np.ndarray]:
    """onnxruntime's SetupUpsampleBilinearInteger (arithmetic "integer"): the indices of
    resize_linear_tables and 10-bit weights d1 = |(int)(v * 1024) - i1 * 1024|,
    d2 = |(int)(v * 1024) - i2 * 1024| (512 / 512 where i1 == i2; a copy: 0 / 1024)."""
    in_len, out_len = op.x.shape[axis], op.y.shape[axis]
    scale = f32(op.scales[axis - 1])
    idx, _ = resize_linear_tables(op, axis)
    wts = np.zeros(2 * out_len, np.int32)
    copy = tuple(op.y.shape) == tuple(op.x.shape)
    for i in range(out_len):
        i1, i2 = int(idx[2 * i]), int(idx[2 * i + 1])
        if copy:
            wts[2 * i:2 * i + 2] = 0, 1024
            continue
        v = f32(i) if scale == 1 else _original_coordinate(op.coordinate_mode, i, scale,
                                                           out_len, in_len, 0.0, 1.0)
        v10 = int(f32(f32(max(f32(0), min(f32(v), f32(in_len - 1)))) * f32(1024)))
        wts[2 * i:2 * i + 2] = (512, 512) if i1 == i2 else \
            (abs(v10 - i1 * 1024), abs(v10 - i2 * 1024))
    return idx, wts


def resize_linear_reference(op: OrtResizeLinear, x: np.ndarray) -> np.ndarray:
    """The op on a stored int8 NHWC array, in numpy as the kernel computes it."""
    if op.arithmetic == "integer":
        rows, dy = resize_linear_int_tables(op, 1)
        cols, dx = resize_linear_int_tables(op, 2)
        v = x.astype(np.int64) + op.value_offset
        y1, y2, x1, x2 = rows[0::2], rows[1::2], cols[0::2], cols[1::2]
        dy1, dy2 = dy[0::2][:, None, None], dy[1::2][:, None, None]
        dx1, dx2 = dx[0::2][None, :, None], dx[1::2][None, :, None]
        t = dx2 * dy2 * v[:, y1][:, :, x1] + dx1 * dy2 * v[:, y1][:, :, x2] + \
            dx2 * dy1 * v[:, y2][:, :, x1] + dx1 * dy1 * v[:, y2][:, :, x2]
        q = np.sign(t) * (np.abs(t) // (1 << 20))
        return (q - op.value_offset).astype(np.int8)
    rows, dy = resize_linear_tables(op, 1)
    cols, dx = resize_linear_tables(op, 2)
    xs, xz, ys, yz = op.x.quant.s, op.x.quant.zp, op.y.quant.s, op.y.quant.zp
    if op.arithmetic == "truncate":
        xs, xz, ys, yz = 1.0, -op.value_offset, 1.0, -op.value_offset
    v = ((x.astype(np.int32) - xz).astype(f32) * f32(xs)).astype(f32)
    y1, y2, x1, x2 = rows[0::2], rows[1::2], cols[0::2], cols[1::2]
    dy1, dy2 = dy[0::2][:, None, None], dy[1::2][:, None, None]
    dx1, dx2 = dx[0::2][None, :, None], dx[1::2][None, :, None]
    out = (f32(dx2 * dy2) * v[:, y1][:, :, x1]).astype(f32)
    out = (out + (f32(dx1 * dy2) * v[:, y1][:, :, x2]).astype(f32)).astype(f32)
    out = (out + ((dx2 * dy1).astype(f32) * v[:, y2][:, :, x1]).astype(f32)).astype(f32)
    out = (out + ((dx1 * dy1).astype(f32) * v[:, y2][:, :, x2]).astype(f32)).astype(f32)
    t = (out / f32(ys)).astype(f32)
    t = np.clip(t, f32(-128 - yz), f32(127 - yz))
    q = (np.trunc(t) if op.arithmetic == "truncate" else np.rint(t)).astype(np.int64) + yz
    return q.astype(np.int8)


@lowering(OrtResizeLinear, kernels=("tc_resize_linear_s8_ort", "tc_resize_linear_int_s8_ort"),
          dtypes=("int8",))
def lower_resize_linear(op: OrtResizeLinear, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, y = op.x, op.y
    if op.arithmetic == "integer":
        rows, dy = resize_linear_int_tables(op, 1)
        cols, dx = resize_linear_int_tables(op, 2)
        params = ctx.param("tc_ort_resize_linear_int_params", CStruct({
            "rows": CExpr(ctx.const_array(rows, "int32_t", f"{op.name}_rows")),
            "row_weights": CExpr(ctx.const_array(dy, "int32_t", f"{op.name}_dy")),
            "cols": CExpr(ctx.const_array(cols, "int32_t", f"{op.name}_cols")),
            "col_weights": CExpr(ctx.const_array(dx, "int32_t", f"{op.name}_dx")),
            "value_offset": op.value_offset,
        }), "resize_params")
        return KernelCall("tc_resize_linear_int_s8_ort", [
            params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
            ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y)])
    rows, dy = resize_linear_tables(op, 1)
    cols, dx = resize_linear_tables(op, 2)
    trunc = op.arithmetic == "truncate"  # on the values themselves: scale 1, zp -offset
    params = ctx.param("tc_ort_resize_linear_params", CStruct({
        "rows": CExpr(ctx.const_array(rows, "int32_t", f"{op.name}_rows")),
        "row_weights": CExpr(ctx.const_array(dy, "float", f"{op.name}_dy")),
        "cols": CExpr(ctx.const_array(cols, "int32_t", f"{op.name}_cols")),
        "col_weights": CExpr(ctx.const_array(dx, "float", f"{op.name}_dx")),
        "input_scale": 1.0 if trunc else float(f32(x.quant.s)),
        "input_zero_point": -op.value_offset if trunc else x.quant.zp,
        "output_scale": 1.0 if trunc else float(f32(y.quant.s)),
        "output_zero_point": -op.value_offset if trunc else y.quant.zp,
        "truncate": int(trunc),
    }), "resize_params")
    return KernelCall("tc_resize_linear_s8_ort", [
        params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y)])
# ConvTranspose (float path)
from ...ir.onnx_ops import OrtConvTranspose  # noqa: E402


def conv_transpose_weights(op: OrtConvTranspose) -> np.ndarray:
    """The weights as onnxruntime's DequantizeLinear makes them, (float)(w - zp) * scale
    in float32 per output channel, in the kernel's [out_c, k_h, k_w, in_c / group]."""
    w, q = op.filter, op.filter.quant
    zp = np.asarray(q.zero_point, np.int32).reshape(-1, 1, 1, 1)
    scale = np.asarray(q.scale, f32).reshape(-1, 1, 1, 1)
    return ((np.asarray(w.data, np.int32) - zp).astype(f32) * scale).astype(f32)


@lowering(OrtConvTranspose, kernels=("tc_conv_transpose_f32_ort",), dtypes=("int8",))
def lower_conv_transpose(op: OrtConvTranspose, ctx: LowerContext) -> KernelCall:
    _check_match(op, ctx)
    x, w, y = op.x, op.filter, op.y
    bias = CExpr(ctx.const_array(np.asarray(op.bias, f32), "float", f"{op.name}_bias")) \
        if op.bias else CExpr("NULL")
    params = ctx.param("tc_ort_conv_transpose_params", CStruct({
        "weights": CExpr(ctx.const_array(conv_transpose_weights(op), "float",
                                         f"{op.name}_weights")),
        "bias": bias,
        "input_scale": float(f32(x.quant.s)),
        "input_zero_point": x.quant.zp,
        "output_scale": float(f32(y.quant.s)),
        "output_zero_point": y.quant.zp,
        "groups": op.group,
        "stride": tile(*op.stride),
        "padding": tile(op.pads[0], op.pads[1]),
        "dilation": tile(*op.dilation),
        "act_min": float(f32(op.act_min)),
        "act_max": float(f32(op.act_max)),
    }), "conv_transpose_params")
    return KernelCall("tc_conv_transpose_f32_ort", [
        params, ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        ctx.param("tc_dims", dims_of(tuple(w.shape)), "filter_dims"),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y)])
# -- end of Softmax, Resize, ConvTranspose and activations ------------------------------
