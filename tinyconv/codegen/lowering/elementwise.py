"""Lowering of elementwise ops, activations, softmax and (de)quantization.

Each lowering computes the kernel's parameters exactly as the op's Prepare() in LiteRT
computes them (tensorflow/lite/kernels/{add,sub,mul,activations,quantize}.cc): the same
float or double arithmetic in the same order, then TFLite's QuantizeMultiplier. Where
LiteRT's reference kernel is a 256-entry table built from float math (int8 LOGISTIC and
TANH), the identical table is built here and emitted as a const array; int8 HARD_SWISH, a
function of one input byte too, becomes such a table of its integer arithmetic.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools
import math
from typing import Callable

import numpy as np

from ...ir.graph import DType, Tensor
from ...ir.ops import (Activation, Add, Dequantize, HardSwish, LeakyRelu, Logistic, Mul,
                       Op, Quantize, Relu, Relu6, Softmax, Sub, Tanh)
from ...quant import (INT8_MAX, INT8_MIN, activation_range, f32, quantize_multiplier,
                      tflite_round)
from .base import CStruct, KernelCall, LowerContext, activation, dims_of, lowering, require

# ADD/SUB put both int8 inputs on a common scale with this much headroom (add.cc).
ADD_LEFT_SHIFT = 20
# Integer bits of the softmax exp() input, Q5.26 (PreprocessSoftmaxScaling).
SOFTMAX_DIFF_INTEGER_BITS = 5


# -- shared helpers ------------------------------------------------------------------------

def _quant(op: Op, t: Tensor):
    require(t.quant is not None and len(t.quant.scale) >= 1, op,
            f"tensor {t.name!r} has no quantization parameters")
    require(not t.quant.per_channel, op, f"tensor {t.name!r} is quantized per channel; "
            "elementwise kernels take one scale and zero point per tensor")
    return t.quant


def _require_dtype(op: Op, t: Tensor, dtype: DType) -> None:
    require(t.dtype is dtype, op, f"tensor {t.name!r} is {t.dtype.name}, the kernel takes "
            f"{dtype.name}")


def _multiplier(op: Op, real: float, what: str) -> tuple[int, int]:
    """TFLite's QuantizeMultiplier, refusing values its double-rounding path cannot hold."""
    require(math.isfinite(real) and abs(real) < 2.0**30, op,
            f"{what} multiplier {real!r} is out of range")
    return quantize_multiplier(real)


def _multiplier_below_one(op: Op, real: float, what: str) -> tuple[int, int]:
    """QuantizeMultiplierSmallerThanOneExp (TFLite aborts when the multiplier is >= 1)."""
    require(0.0 <= real < 1.0, op, f"{what} multiplier {real!r} is not below 1 (the output "
            "scale is too small for the input scales)")
    return quantize_multiplier(real)


def _param(ctx: LowerContext, ctype: str, fields: dict, hint: str) -> str:
    return ctx.param(ctype, CStruct(fields), hint)


def _dims(ctx: LowerContext, shape: tuple[int, int, int, int], hint: str) -> str:
    return ctx.param("tc_dims", dims_of(shape), hint)


def _unary_call(function: str, params: str, op: Op, ctx: LowerContext) -> KernelCall:
    return KernelCall(function, [params, ctx.elements(op.y), ctx.tensor_ptr(op.x),
                                 ctx.tensor_ptr(op.y)])


def _nhwc(op: Op, t: Tensor) -> tuple[int, int, int, int]:
    require(len(t.shape) <= 4, op, f"tensor {t.name!r} has {len(t.shape)} dimensions; "
            "elementwise kernels broadcast over at most 4")
    return t.nhwc()


def _broadcast_shapes(op: Op) -> tuple[tuple, tuple, tuple]:
    a, b = op.inputs[0], op.inputs[1]
    require(a is not None and b is not None, op, "needs two inputs")
    sa, sb, sy = _nhwc(op, a), _nhwc(op, b), _nhwc(op, op.y)
    for da, db, dy in zip(sa, sb, sy):
        require(da in (1, dy) and db in (1, dy) and dy == max(da, db), op,
                f"shapes {a.shape} and {b.shape} do not broadcast to {op.y.shape}")
    return sa, sb, sy


def _binary_call(function: str, params: str, op: Op, ctx: LowerContext) -> KernelCall:
    a, b = op.inputs[0], op.inputs[1]
    sa, sb, sy = _broadcast_shapes(op)
    assert a is not None and b is not None
    return KernelCall(function, [
        params,
        _dims(ctx, sa, "input1_dims"), ctx.tensor_ptr(a),
        _dims(ctx, sb, "input2_dims"), ctx.tensor_ptr(b),
        _dims(ctx, sy, "output_dims"), ctx.tensor_ptr(op.y),
    ])


def _check_int8_binary(op: Op) -> None:
    for t in [op.inputs[0], op.inputs[1], op.y]:
        require(t is not None, op, "needs two inputs")
        _require_dtype(op, t, DType.INT8)  # type: ignore[arg-type]


# -- ADD, SUB, MUL ---------------------------------------------------------------------------

def add_sub_params(op: Op) -> dict:
    """add.cc / sub.cc Prepare for int8 (both compute these in double from float scales)."""
    _check_int8_binary(op)
    q1, q2, qy = _quant(op, op.inputs[0]), _quant(op, op.inputs[1]), _quant(op, op.y)
    twice_max_input_scale = 2.0 * max(float(f32(q1.s)), float(f32(q2.s)))
    real1 = float(f32(q1.s)) / twice_max_input_scale
    real2 = float(f32(q2.s)) / twice_max_input_scale
    real_out = twice_max_input_scale / (float(1 << ADD_LEFT_SHIFT) * float(f32(qy.s)))
    m1, s1 = _multiplier_below_one(op, real1, "input 1")
    m2, s2 = _multiplier_below_one(op, real2, "input 2")
    mo, so = _multiplier_below_one(op, real_out, "output")
    act = activation_range(op.activation, qy.s, qy.zp)
    return {
        "input1_offset": -q1.zp, "input2_offset": -q2.zp, "left_shift": ADD_LEFT_SHIFT,
        "input1_multiplier": m1, "input1_shift": s1,
        "input2_multiplier": m2, "input2_shift": s2,
        "output_multiplier": mo, "output_shift": so,
        "output_offset": qy.zp, "activation": activation(*act),
    }


@lowering(Add, Sub)
def lower_add_sub(op: Op, ctx: LowerContext) -> KernelCall:
    params = _param(ctx, "tc_add_params", add_sub_params(op), "add_params")
    function = "tc_elementwise_add_s8" if isinstance(op, Add) else "tc_elementwise_sub_s8"
    return _binary_call(function, params, op, ctx)


def mul_params(op: Mul) -> dict:
    """mul.cc Prepare: in1 * in2 / out scale, all in float, then QuantizeMultiplier."""
    _check_int8_binary(op)
    q1, q2, qy = _quant(op, op.inputs[0]), _quant(op, op.inputs[1]), _quant(op, op.y)
    real = f32(f32(f32(q1.s) * f32(q2.s)) / f32(qy.s))
    mult, shift = _multiplier(op, real, "output")
    act = activation_range(op.activation, qy.s, qy.zp)
    return {
        "input1_offset": -q1.zp, "input2_offset": -q2.zp,
        "output_multiplier": mult, "output_shift": shift,
        "output_offset": qy.zp, "activation": activation(*act),
    }


@lowering(Mul)
def lower_mul(op: Mul, ctx: LowerContext) -> KernelCall:
    params = _param(ctx, "tc_mul_params", mul_params(op), "mul_params")
    return _binary_call("tc_elementwise_mul_s8", params, op, ctx)


# -- RELU, RELU6, QUANTIZE int8 -> int8 ---------------------------------------------------------

def relu_params(op: Op, fused: Activation) -> dict:
    """activations.cc ReluPrepare (float division) and QuantizedReluX's clamp range."""
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = _quant(op, op.x), _quant(op, op.y)
    mult, shift = _multiplier(op, f32(f32(qx.s) / f32(qy.s)), "output")
    return {"input_offset": -qx.zp, "output_offset": qy.zp, "multiplier": mult,
            "shift": shift, "activation": activation(*activation_range(fused, qy.s, qy.zp))}


@lowering(Relu, Relu6)
def lower_relu(op: Op, ctx: LowerContext) -> KernelCall:
    fused = Activation.RELU if isinstance(op, Relu) else Activation.RELU6
    params = _param(ctx, "tc_requantize_params", relu_params(op, fused), "relu_params")
    return _unary_call("tc_requantize_s8", params, op, ctx)


def requantize_params(op: Quantize) -> dict:
    """quantize.cc Prepare for int8 -> int8: input / output scale in double."""
    qx, qy = _quant(op, op.x), _quant(op, op.y)
    mult, shift = _multiplier(op, float(f32(qx.s)) / float(f32(qy.s)), "output")
    return {"input_offset": -qx.zp, "output_offset": qy.zp, "multiplier": mult,
            "shift": shift, "activation": activation(INT8_MIN, INT8_MAX)}


@lowering(Quantize)
def lower_quantize(op: Quantize, ctx: LowerContext) -> KernelCall:
    _require_dtype(op, op.y, DType.INT8)
    qy = _quant(op, op.y)
    if op.x.dtype is DType.FLOAT32:
        params = _param(ctx, "tc_affine_quant_params",
                        {"scale": float(f32(qy.s)), "zero_point": qy.zp}, "quant_params")
        return _unary_call("tc_quantize_f32_s8", params, op, ctx)
    _require_dtype(op, op.x, DType.INT8)
    params = _param(ctx, "tc_requantize_params", requantize_params(op), "requant_params")
    return _unary_call("tc_requantize_s8", params, op, ctx)


@lowering(Dequantize)
def lower_dequantize(op: Dequantize, ctx: LowerContext) -> KernelCall:
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.FLOAT32)
    qx = _quant(op, op.x)
    params = _param(ctx, "tc_affine_quant_params",
                    {"scale": float(f32(qx.s)), "zero_point": qx.zp}, "dequant_params")
    return _unary_call("tc_dequantize_s8_f32", params, op, ctx)


# -- LEAKY_RELU, HARD_SWISH -----------------------------------------------------------------------

def leaky_relu_params(op: LeakyRelu) -> dict:
    """LeakyReluPrepare: in * alpha / out and in / out, in float."""
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = _quant(op, op.x), _quant(op, op.y)
    alpha_mult, alpha_shift = _multiplier(
        op, f32(f32(f32(qx.s) * f32(op.alpha)) / f32(qy.s)), "alpha")
    id_mult, id_shift = _multiplier(op, f32(f32(qx.s) / f32(qy.s)), "identity")
    require(alpha_mult != -(2**31), op, f"alpha {op.alpha} gives a multiplier of -2^31")
    return {"input_offset": -qx.zp, "output_offset": qy.zp,
            "identity_multiplier": id_mult, "identity_shift": id_shift,
            "alpha_multiplier": alpha_mult, "alpha_shift": alpha_shift}


@lowering(LeakyRelu)
def lower_leaky_relu(op: LeakyRelu, ctx: LowerContext) -> KernelCall:
    params = _param(ctx, "tc_leaky_relu_params", leaky_relu_params(op), "leaky_params")
    return _unary_call("tc_leaky_relu_s8", params, op, ctx)


def downscale_int32_to_int16_multiplier(multiplier: int) -> int:
    """TFLite's DownScaleInt32ToInt16Multiplier (round to the top 16 bits, saturating)."""
    rounding_offset = 1 << 15
    if multiplier >= (2**31 - 1) - rounding_offset:
        return 2**15 - 1
    return (multiplier + rounding_offset) >> 16


def hard_swish_params(op: HardSwish) -> dict:
    """HardSwishPrepare: float scales, QuantizeMultiplier, then 16-bit multipliers."""
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = _quant(op, op.x), _quant(op, op.y)
    hires_input_scale = f32(f32(1.0 / 128.0) * f32(qx.s))
    reluish_scale = f32(3.0 / 32768.0)
    out_mult, out_exp = _multiplier(op, f32(hires_input_scale / f32(qy.s)), "output")
    relu_mult, relu_exp = _multiplier(op, f32(hires_input_scale / reluish_scale), "reluish")
    require(out_exp <= 0, op, "the output scale is too small for HARD_SWISH (LiteRT "
            "requires input_scale / 128 / output_scale < 1)")
    require(relu_exp >= -31, op, "input scale too small for HARD_SWISH")
    return {
        "input_zero_point": qx.zp, "output_zero_point": qy.zp,
        "reluish_multiplier_fixedpoint_int16": downscale_int32_to_int16_multiplier(relu_mult),
        "reluish_multiplier_exponent": relu_exp,
        "output_multiplier_fixedpoint_int16": downscale_int32_to_int16_multiplier(out_mult),
        "output_multiplier_exponent": out_exp,
    }


INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1


def _int16(x: int) -> int:
    """A C cast to int16_t (wraps)."""
    return (x + 2**15) % 2**16 - 2**15


def _div_2_15(x: int) -> int:
    """x / 2^15 in C: toward zero."""
    return abs(x) >> 15 if x >= 0 else -(abs(x) >> 15)


def _srdhm16(a: int, b: int) -> int:
    """gemmlowp SaturatingRoundingDoublingHighMul on int16 (truncating division)."""
    if a == b == INT16_MIN:
        return INT16_MAX
    ab = a * b
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    return _int16(_div_2_15(ab + nudge))


def _sdhm16(a: int, b: int) -> int:
    """TFLite's SaturatingDoublingHighMul on int16: the product / 2^15 toward zero."""
    if a == b == INT16_MIN:
        return INT16_MAX
    return _int16(_div_2_15(a * b))


def _rdbpot16(x: int, exponent: int) -> int:
    """gemmlowp RoundingDivideByPOT on int16, with its int16 mask for exponents >= 16."""
    mask = _int16((1 << exponent) - 1)
    remainder = _int16(x & mask)
    threshold = _int16((mask >> 1) + (1 if x < 0 else 0))
    return _int16((x >> exponent) + (1 if remainder > threshold else 0))


def hard_swish_lut(p: dict) -> np.ndarray:
    """TFLite's reference_ops::HardSwish (int8) on every input code, as a 256-entry table in
    tc_lut_s8's order, so the firmware does one lookup per element. 16-bit fixed point:
      hires   = (in - input_zero_point) * 128                (input scale / 128)
      preout  = SRDHM16(hires, output_multiplier)            (output scale, before its shift)
      reluish = hires rescaled so that +-3.0 maps to +-32768, saturating, then moved from
                [-1, 1] to [0, 1]
      out     = RoundingDivideByPOT(SDHM16(reluish, preout), -output_exponent) + output_zp
    SRDHM16 rounds; SDHM16 truncates (TFLite's choice, to cancel the others' rounding bias)."""
    relu_exp = p["reluish_multiplier_exponent"]
    table = np.zeros(256, np.int8)
    for value in range(INT8_MIN, INT8_MAX + 1):
        hires = _int16((value - p["input_zero_point"]) * 128)
        preshift_output = _srdhm16(hires, p["output_multiplier_fixedpoint_int16"])
        reluish = hires
        if relu_exp > 0:  # all but the last bit of left shift first
            reluish = min(max(reluish << (relu_exp - 1), INT16_MIN), INT16_MAX)
        reluish = _srdhm16(reluish, p["reluish_multiplier_fixedpoint_int16"])
        if relu_exp > 0:
            reluish = min(max(reluish * 2, INT16_MIN), INT16_MAX)
        elif relu_exp < 0:
            reluish = _rdbpot16(reluish, -relu_exp)
        reluish = _int16((reluish + (1 << 15)) >> 1)
        preshift = _sdhm16(reluish, preshift_output)
        # TFLite adds the zero point in int16, then clamps to int8.
        y = _int16(_rdbpot16(preshift, -p["output_multiplier_exponent"]) +
                   p["output_zero_point"])
        table[value & 0xFF] = min(max(y, INT8_MIN), INT8_MAX)
    return table


@lowering(HardSwish)
def lower_hard_swish(op: HardSwish, ctx: LowerContext) -> KernelCall:
    return _lut_call(op, ctx, hard_swish_lut(hard_swish_params(op)), "hswish_lut")


# -- LOGISTIC, TANH: LiteRT's float-built lookup tables -------------------------------------------

@functools.lru_cache(maxsize=1)
def _libm() -> ctypes.CDLL:
    """The C math library: LiteRT calls expf/tanhf from it, so its tables come from here."""
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for name in ("expf", "tanhf"):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return lib


def _round_float(x: np.float32) -> np.float32:
    """std::round on a float (halves away from zero), staying in float."""
    return np.float32(tflite_round(float(x))) if abs(x) < 2.0**23 else x


def sigmoid_f32(x: np.float32) -> np.float32:
    # 1.0f / (1.0f + std::exp(-value)), each step rounded to float.
    e = np.float32(_libm().expf(float(-x)))
    return np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + e))


def tanh_f32(x: np.float32) -> np.float32:
    return np.float32(_libm().tanhf(float(x)))


def lut_int8(input_scale: float, input_zp: int, output_scale: float, output_zp: int,
             transform: Callable[[np.float32], np.float32]) -> np.ndarray:
    """TFLite's LUTPopulateInt8, in float32 step by step, in LiteRT's (uint8-indexed) order."""
    in_scale, out_scale = np.float32(input_scale), np.float32(output_scale)
    inverse_scale = np.float32(np.float32(1.0) / out_scale)
    table = np.zeros(256, np.int8)
    for value in range(INT8_MIN, INT8_MAX + 1):
        dequantized = np.float32(in_scale * np.float32(value - input_zp))
        rescaled = _round_float(np.float32(transform(dequantized) * inverse_scale))
        quantized = int(np.float32(rescaled + np.float32(output_zp)))
        table[value & 0xFF] = min(max(quantized, INT8_MIN), INT8_MAX)
    return table


def _lut_call(op: Op, ctx: LowerContext, table: np.ndarray, hint: str) -> KernelCall:
    symbol = ctx.const_array(table, "int8_t", hint)
    return KernelCall("tc_lut_s8", [symbol, ctx.elements(op.y), ctx.tensor_ptr(op.x),
                                    ctx.tensor_ptr(op.y)])


@lowering(Logistic)
def lower_logistic(op: Logistic, ctx: LowerContext) -> KernelCall:
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = _quant(op, op.x), _quant(op, op.y)
    require(f32(qy.s) == f32(1.0 / 256) and qy.zp == INT8_MIN, op,
            "int8 LOGISTIC output must have scale 1/256 and zero point -128 (as LiteRT requires)")
    return _lut_call(op, ctx, lut_int8(qx.s, qx.zp, qy.s, qy.zp, sigmoid_f32), "sigmoid_lut")


@lowering(Tanh)
def lower_tanh(op: Tanh, ctx: LowerContext) -> KernelCall:
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = _quant(op, op.x), _quant(op, op.y)
    return _lut_call(op, ctx, lut_int8(qx.s, qx.zp, qy.s, qy.zp, tanh_f32), "tanh_lut")


# -- SOFTMAX -------------------------------------------------------------------------------------

def softmax_params(op: Softmax) -> dict:
    """SoftmaxPrepare (kReference): PreprocessSoftmaxScaling and CalculateInputRadius."""
    _require_dtype(op, op.x, DType.INT8)
    qx = _quant(op, op.x)
    real = min(float(f32(op.beta)) * float(f32(qx.s)) *
               float(1 << (31 - SOFTMAX_DIFF_INTEGER_BITS)), float(2**31 - 1))
    require(real > 1.0, op, f"beta * input scale ({real / 2**26!r}) is too small for the "
            "int8 softmax")
    multiplier, left_shift = quantize_multiplier(real)  # no cap: LiteRT's double rounding
    radius = math.floor(1.0 * ((1 << SOFTMAX_DIFF_INTEGER_BITS) - 1) *
                        (1 << (31 - SOFTMAX_DIFF_INTEGER_BITS)) / (1 << left_shift))
    return {"input_multiplier": multiplier, "input_left_shift": left_shift,
            "diff_min": -radius}


@lowering(Softmax)
def lower_softmax(op: Softmax, ctx: LowerContext) -> KernelCall:
    params = _param(ctx, "tc_softmax_params", softmax_params(op), "softmax_params")
    require(len(op.x.shape) >= 1 and op.x.shape == op.y.shape, op,
            "input and output shapes differ")
    row_size = op.x.shape[-1]
    rows = op.x.size // row_size
    qy = _quant(op, op.y)
    if op.y.dtype is DType.INT16:
        # LiteRT computes round(65536 * p) - 32768 whatever the int16 quantization says.
        function = "tc_softmax_s8_s16"
    else:
        _require_dtype(op, op.y, DType.INT8)
        require(qy.zp == INT8_MIN and abs(f32(qy.s) - 1.0 / 256) <= 0.001 / 256, op,
                "int8 SOFTMAX output must have scale 1/256 and zero point -128 "
                "(as LiteRT requires)")
        function = "tc_softmax_s8"
    return KernelCall(function, [params, str(rows), str(row_size), ctx.tensor_ptr(op.x),
                                 ctx.tensor_ptr(op.y)])
