"""Lowering of depthwise convolution, pooling, PAD, CONCATENATION, TRANSPOSE (and
RESHAPE / SQUEEZE, which are aliases: no kernel runs).

Every number the kernels need is derived here the way LiteRT's Prepare derives it, so
the firmware only does integer (and, for requantizing concatenation, the same float)
work as LiteRT's reference kernels.
"""

from __future__ import annotations

import numpy as np

from ...ir.graph import Tensor
from ...ir.ops import (Activation, AveragePool2D, Concatenation, DepthwiseConv2D, MaxPool2D, Op, Pad,
                       Pool2D, Reshape, Squeeze, Transpose)
from ...quant import INT8_MAX, INT8_MIN, activation_range, f32
from .base import (CExpr, CStruct, KernelCall, LowerContext, activation, c_initializer,
                   conv_padding, dims, dims_of, lowering, require, tile)
from ...ir.graph import DType
from .conv import (activation_dtype, bias_args, per_channel_quant,
                   per_channel_quant_s16, value_range)

TRANSPOSE_MAX_DIMS = 5  # TC_TRANSPOSE_MAX_DIMS in tc_nn_dwconv_pool.h


def _dims_param(ctx: LowerContext, shape: tuple[int, ...], hint: str) -> str:
    return ctx.param("tc_dims", dims_of(tuple(shape)), hint)  # type: ignore[arg-type]


def _as_4d(op: Op, shape: tuple[int, ...], what: str) -> tuple[int, int, int, int]:
    require(len(shape) <= 4, op, f"{what} has {len(shape)} dimensions, at most 4 are supported")
    return tuple([1] * (4 - len(shape)) + list(shape))  # type: ignore[return-value]


def _quantized(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        require(t.quant is not None, op, f"tensor {t.name!r} has no quantization parameters")


# -- depthwise convolution ------------------------------------------------------------------

@lowering(DepthwiseConv2D, kernels=("tc_depthwise_conv_s8", "tc_depthwise_conv_inplace_s8",
                                    "tc_depthwise_conv_s16"), dtypes=("int8", "int16"))
def lower_depthwise(op: DepthwiseConv2D, ctx: LowerContext) -> KernelCall:
    wide = activation_dtype(op) is DType.INT16  # 16x8: tc_depthwise_conv_s16
    x, w, y = op.x, op.filter, op.y
    _quantized(op, x, y)
    if wide:
        require(x.quant.zp == 0, op, "16-bit activations must have zero point 0")
        require(op.bias is None or op.bias.dtype is DType.INT64, op,
                "a 16x8 DEPTHWISE_CONV_2D takes an int64 bias")
    require(len(x.shape) == 4 and len(w.shape) == 4 and w.shape[0] == 1, op,
            "expects a 4D input and a 1 x KH x KW x C filter")
    _, ih, iw, ic = x.shape
    _, oh, ow, oc = y.nhwc()
    _, kh, kw, _ = w.shape
    require(w.shape[3] == oc and oc % ic == 0, op,
            f"{oc} output channels are not a multiple of {ic} input channels")
    ch_mult = oc // ic
    (sh, sw), (dh, dw) = op.stride, op.dilation
    act = activation_range(op.activation, y.quant.s, y.quant.zp, *value_range(x.dtype))
    params = ctx.param("tc_dw_conv_params", CStruct({
        "input_offset": -x.quant.zp,
        "output_offset": y.quant.zp,
        "ch_mult": ch_mult,
        "stride": tile(sh, sw),
        "padding": tile(conv_padding(ih, kh, sh, dh, oh), conv_padding(iw, kw, sw, dw, ow)),
        "dilation": tile(dh, dw),
        "activation": activation(*act),
    }), "dw_params")
    if wide:
        quant = per_channel_quant_s16(op, ctx, x, w, y, oc)
    else:
        quant = per_channel_quant(op, ctx, x, w, y, oc, op.bias, channel_axis=3)
    bias_dims, bias = bias_args(ctx, op.bias, oc)
    if wide:
        require(not ctx.inplace, op, "the 16x8 depthwise kernel does not run in place")
        function = "tc_depthwise_conv_s16"
    elif ctx.inplace:
        require(op.inplace_input() == 0, op, "in place needs depth multiplier 1 and 1 batch")
        function = "tc_depthwise_conv_inplace_s8"
    else:
        function = "tc_depthwise_conv_s8"
    return KernelCall(function, [
        ctx.scratch(), params, quant,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        _dims_param(ctx, tuple(w.shape), "filter_dims"), ctx.tensor_ptr(w),
        bias_dims, bias,
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ], comment=f"{kh}x{kw} stride {sh},{sw}" + (f" x{ch_mult}" if ch_mult > 1 else ""))


# -- pooling --------------------------------------------------------------------------------

@lowering(AveragePool2D, MaxPool2D, kernels={
    AveragePool2D: ("tc_avgpool_s8", "tc_avgpool_s16"),
    MaxPool2D: ("tc_max_pool_s8", "tc_max_pool_s16")}, dtypes=("int8", "int16"))
def lower_pool(op: Pool2D, ctx: LowerContext) -> KernelCall:
    dtype = activation_dtype(op)
    x, y = op.x, op.y
    _quantized(op, y)
    require(len(x.shape) == 4, op, "expects a 4D NHWC input")
    _, ih, iw, _ = x.shape
    _, oh, ow, _ = y.nhwc()
    fh, fw = op.filter_size
    sh, sw = op.stride
    # LiteRT only DCHECKs that input and output share quantization and never rescales:
    # the activation clamp uses the output's parameters, the values pass through.
    act = activation_range(op.activation, y.quant.s, y.quant.zp, *value_range(dtype))
    pad_h, pad_w = conv_padding(ih, fh, sh, 1, oh), conv_padding(iw, fw, sw, 1, ow)
    # A window wholly in the padding has nothing to average (LiteRT fails there too); the
    # firmware's kernels do not check it at run time (TC_ARG_CHECKS), so it is refused here.
    for size, filt, stride, pad, out in ((ih, fh, sh, pad_h, oh), (iw, fw, sw, pad_w, ow)):
        require(all(o * stride - pad < size and o * stride - pad + filt > 0
                    for o in range(out)), op, "a pooling window lies wholly in the padding")
    params = ctx.param("tc_pool_params", CStruct({
        "stride": tile(sh, sw),
        "padding": tile(pad_h, pad_w),
        "activation": activation(*act),
    }), "pool_params")
    function = "tc_avgpool_s8" if isinstance(op, AveragePool2D) else "tc_max_pool_s8"
    if dtype is DType.INT16:
        function = function.replace("_s8", "_s16")
    return KernelCall(function, [
        ctx.scratch(), params,
        ctx.param("tc_dims", dims(x), "input_dims"), ctx.tensor_ptr(x),
        _dims_param(ctx, (1, fh, fw, 1), "filter_dims"),
        ctx.param("tc_dims", dims(y), "output_dims"), ctx.tensor_ptr(y),
    ], comment=f"{fh}x{fw} stride {sh},{sw}")


# -- PAD / PADV2 ----------------------------------------------------------------------------

@lowering(Pad, kernels=("tc_pad_s8", "tc_pad_s16"), dtypes=("int8", "int16"))
def lower_pad(op: Pad, ctx: LowerContext) -> KernelCall:
    dtype = activation_dtype(op)
    x, y = op.x, op.y
    in_shape = _as_4d(op, tuple(x.shape), "the input")
    out_shape = _as_4d(op, tuple(y.shape), "the output")
    paddings = [(0, 0)] * (4 - len(op.paddings)) + [tuple(p) for p in op.paddings]
    require(len(paddings) == 4 and all(a >= 0 and b >= 0 for a, b in paddings), op,
            f"paddings {op.paddings} must be non-negative, one pair per dimension")
    require(all(i + a + b == o for i, (a, b), o in zip(in_shape, paddings, out_shape)), op,
            f"output shape {y.shape} does not match padding {x.shape} by {op.paddings}")
    if op.pad_value is not None:
        value = int(op.pad_value)  # PADV2: the constant, already in the output's int8 domain
    else:
        value = y.quant.zp if y.quant is not None else 0  # PAD: real 0
    low, high = value_range(dtype)
    require(low <= value <= high, op, f"pad value {value} is not an {dtype.name.lower()}")
    params = ctx.param("tc_pad_params", CStruct({
        "before": dims_of(tuple(a for a, _ in paddings)),  # type: ignore[arg-type]
        "pad_value": value,
    }), "pad_params")
    return KernelCall("tc_pad_s16" if dtype is DType.INT16 else "tc_pad_s8", [
        params,
        _dims_param(ctx, in_shape, "input_dims"), ctx.tensor_ptr(x),
        _dims_param(ctx, out_shape, "output_dims"), ctx.tensor_ptr(y),
    ])


# -- CONCATENATION --------------------------------------------------------------------------

def concat_input_quant(input_scale: float, input_zp: int, output_scale: float
                       ) -> tuple[float, float]:
    """(scale, bias) as TFLite's ConcatenationWithScaling computes them, in float32."""
    inverse_output_scale = f32(1.0 / f32(output_scale))
    scale = f32(f32(input_scale) * inverse_output_scale)
    bias = f32(float(-input_zp) * scale)
    return scale, bias


@lowering(Concatenation, kernels=("tc_concatenation_s8",), dtypes=("int8", "int16"))
def lower_concatenation(op: Concatenation, ctx: LowerContext) -> KernelCall:
    dtype = activation_dtype(op)
    # int16 runs as tc_concatenation_s8 on bytes: copy sizes in bytes, no requantization.
    width = dtype.itemsize
    y = op.y
    inputs = [t for t in op.inputs if t is not None]
    require(len(inputs) >= 1, op, "has no inputs")
    rank = len(y.shape)
    axis = op.axis % rank if rank else 0
    for t in inputs:
        require(len(t.shape) == rank and all(
            d == e for i, (d, e) in enumerate(zip(t.shape, y.shape)) if i != axis), op,
            f"input {t.name!r} of shape {t.shape} does not fit output {y.shape} on axis {axis}")
    require(sum(t.shape[axis] for t in inputs) == (y.shape[axis] if rank else 1), op,
            "input sizes along the axis do not add up to the output's")
    outer = int(np.prod(y.shape[:axis], dtype=np.int64))
    inner = int(np.prod(y.shape[axis + 1:], dtype=np.int64))
    if y.quant is not None:
        act = activation_range(op.activation, y.quant.s, y.quant.zp)
    else:
        require(op.activation is Activation.NONE, op, "fused activation on an unquantized output")
        act = (INT8_MIN, INT8_MAX)
    if width > 1:  # bytes are copied: the full int8 range makes the kernel a memcpy
        require(op.activation is Activation.NONE, op,
                "int16 CONCATENATION with a fused activation")
        act = (INT8_MIN, INT8_MAX)

    infos = []
    for t in inputs:
        copy_size = (t.shape[axis] if rank else 1) * inner * width
        same = (t.quant is None and y.quant is None) or (
            t.quant is not None and y.quant is not None and f32(t.quant.s) == f32(y.quant.s)
            and t.quant.zp == y.quant.zp)
        if same:
            scale, bias = 1.0, 0.0
        else:
            require(width == 1, op, f"int16 input {t.name!r} is quantized unlike the output "
                    "(LiteRT's int16 CONCATENATION needs equal scales and zero points)")
            _quantized(op, t, y)
            scale, bias = concat_input_quant(t.quant.s, t.quant.zp, y.quant.s)
        infos.append(c_initializer(CStruct({
            "copy_size": copy_size, "requantize": int(not same), "scale": scale, "bias": bias})))

    base = f"op{op.index}_concat"
    pointers = ", ".join(f"(const int8_t *){ctx.tensor_ptr(t)}" for t in inputs)
    prologue = [
        f"static const tc_concat_input {base}_info[] = {{{', '.join(infos)}}};",
        f"const int8_t *const {base}_inputs[] = {{{pointers}}};",
    ]
    params = ctx.param("tc_concat_params", CStruct({
        "num_inputs": len(inputs),
        "outer_size": outer,
        "output_offset": y.quant.zp if y.quant is not None else 0,
        "activation": activation(*act),
    }), "concat_params")
    return KernelCall("tc_concatenation_s8", [
        params, f"{base}_info", f"{base}_inputs", ctx.tensor_ptr(y),
    ], comment=f"{len(inputs)} inputs on axis {axis}", prologue=prologue)


# -- TRANSPOSE ------------------------------------------------------------------------------

@lowering(Transpose, kernels=("tc_transpose_s8", "tc_transpose_s16"),
          dtypes=("int8", "int16"))
def lower_transpose(op: Transpose, ctx: LowerContext) -> KernelCall:
    """reference_ops::Transpose: the values are moved as they are (int8 or int16)."""
    dtype = activation_dtype(op)
    x, y = op.x, op.y
    rank = len(x.shape)
    require(rank <= TRANSPOSE_MAX_DIMS, op,
            f"{rank} dimensions, at most {TRANSPOSE_MAX_DIMS} are supported")
    perm = [int(p) % rank for p in op.perm] if rank else []
    require(sorted(perm) == list(range(rank)), op, f"{op.perm} is not a permutation")
    require(tuple(x.shape[p] for p in perm) == tuple(y.shape), op,
            f"output shape {y.shape} is not {x.shape} permuted by {op.perm}")
    lead = TRANSPOSE_MAX_DIMS - rank
    shape = [1] * lead + list(x.shape)
    full_perm = list(range(lead)) + [p + lead for p in perm]
    params = ctx.param("tc_transpose_params", CStruct({
        "input_shape": CExpr("{" + ", ".join(map(str, shape)) + "}"),
        "perm": CExpr("{" + ", ".join(map(str, full_perm)) + "}"),
    }), "transpose_params")
    function = "tc_transpose_s16" if dtype is DType.INT16 else "tc_transpose_s8"
    return KernelCall(function, [params, ctx.tensor_ptr(x), ctx.tensor_ptr(y)],
                      comment=f"perm {tuple(perm)}")


# -- RESHAPE / SQUEEZE ----------------------------------------------------------------------

@lowering(Reshape, Squeeze, dtypes=("int8", "int16"))
def lower_alias(op: Op, ctx: LowerContext) -> None:
    """The output is the input's bytes under another shape: the planner aliases them."""
    require(op.x.nbytes == op.y.nbytes, op,
            f"reshapes {op.x.shape} ({op.x.nbytes} B) to {op.y.shape} ({op.y.nbytes} B)")
    return None

