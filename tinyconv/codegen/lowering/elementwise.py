"""Lowering of elementwise ops, activations, softmax and (de)quantization.

Each lowering computes the kernel's parameters exactly as the op's Prepare() in LiteRT
computes them (tensorflow/lite/kernels/{add,sub,mul,activations,quantize}.cc): the same
float or double arithmetic in the same order, then TFLite's QuantizeMultiplier. Where
LiteRT's reference kernel is a 256-entry table built from float math (int8 LOGISTIC and
TANH), the identical table is built here and emitted as a const array; int8 HARD_SWISH, a
function of one input byte too, becomes such a table of its integer arithmetic.
int16 activations (TFLite's 16x8 mode) take LiteRT's int16 paths: ADD/SUB general (left
shift 15) or power-of-two (pot_scale_int16), MUL, requantizations, LOGISTIC/TANH on the
sigmoid table, SOFTMAX on the exp and 1/(1+x) tables built here as LUTPopulate builds them.
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
from ...quant import (INT8_MAX, INT8_MIN, INT16_MAX, INT16_MIN, activation_range, f32,
                      quantize_multiplier, tflite_round)
from .base import (CExpr, CStruct, KernelCall, LowerContext, activation, dims_of, lowering,
                   require, tensor_quant)

# ADD/SUB put both int8 inputs on a common scale with this much headroom (add.cc); int16
# inputs with 15 (65535 << 15 still fits in int32).
ADD_LEFT_SHIFT = 20
ADD_LEFT_SHIFT_INT16 = 15
# Integer bits of the softmax exp() input, Q5.26 (PreprocessSoftmaxScaling).
SOFTMAX_DIFF_INTEGER_BITS = 5


# -- shared helpers ------------------------------------------------------------------------

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

def _binary_dtype(op: Op) -> DType:
    """int8, or int16 (16-bit activations): the two inputs and the output alike."""
    for t in [op.inputs[0], op.inputs[1], op.y]:
        require(t is not None, op, "needs two inputs")
    dtype = op.y.dtype
    require(dtype in (DType.INT8, DType.INT16), op, f"tensor {op.y.name!r} is {dtype.name}, "
            "the kernels take int8 or int16")
    for t in [op.inputs[0], op.inputs[1]]:
        _require_dtype(op, t, dtype)  # type: ignore[arg-type]
    return dtype


def _value_range(dtype: DType) -> tuple[int, int]:
    return (INT16_MIN, INT16_MAX) if dtype is DType.INT16 else (INT8_MIN, INT8_MAX)


def _require_symmetric(op: Op, *tensors: Tensor) -> None:
    for t in tensors:
        require(tensor_quant(op, t).zp == 0, op, f"int16 tensor {t.name!r} has zero point "
                f"{t.quant.zp}; LiteRT's int16 {op.kind} requires 0")


def checked_log2(x: float) -> tuple[bool, int]:
    """TFLite's CheckedLog2 on a float scale, in float as it computes it:
    log2 = logf(x) * (1.0f / logf(2.0f)), rounded half away; a power of two when the
    fraction is below 1e-3."""
    logf = libm().logf
    x_log2 = np.float32(np.float32(logf(float(np.float32(x))))
                        * np.float32(np.float32(1.0) / np.float32(logf(2.0))))
    rounded = _round_float(x_log2)
    fraction = np.float32(x_log2 - rounded)
    return bool(abs(fraction) < np.float32(1e-3)), int(rounded)


def add_sub_pot_params(op: Op) -> dict | None:
    """LiteRT's int16 power-of-two ADD/SUB (pot_scale_int16 set, every scale a power of
    two): the shifts of PrepareInt16SubOpPOT / add.cc's POT branch. None: the general
    path applies."""
    if not getattr(op, "pot_scale_int16", True):
        return None
    q1, q2, qy = tensor_quant(op, op.inputs[0]), tensor_quant(op, op.inputs[1]), tensor_quant(op, op.y)
    logs = [checked_log2(q.s) for q in (q1, q2, qy)]
    if not all(is_pot for is_pot, _ in logs):
        return None
    _require_symmetric(op, op.inputs[0], op.inputs[1], op.y)
    shift1, shift2 = logs[0][1] - logs[2][1], logs[1][1] - logs[2][1]
    require((shift1 == 0 or shift2 == 0) and shift1 <= 0 and shift2 <= 0, op,
            f"power-of-two int16 {op.kind}: input scales 2^{logs[0][1]} and 2^{logs[1][1]} "
            f"with output scale 2^{logs[2][1]} (LiteRT shifts only one input, right)")
    require(shift1 >= -15 and shift2 >= -15, op, f"power-of-two int16 {op.kind}: a shift "
            f"of {min(shift1, shift2)} is beyond 15 bits")
    act = activation_range(op.activation, qy.s, qy.zp, INT16_MIN, INT16_MAX)
    return {"input1_shift": shift1, "input2_shift": shift2, "activation": activation(*act)}


def add_sub_params(op: Op) -> dict:
    """add.cc / sub.cc Prepare, general path (both compute these in double from float
    scales): int8 with left shift 20, int16 with 15."""
    dtype = _binary_dtype(op)
    q1, q2, qy = tensor_quant(op, op.inputs[0]), tensor_quant(op, op.inputs[1]), tensor_quant(op, op.y)
    left_shift = ADD_LEFT_SHIFT if dtype is DType.INT8 else ADD_LEFT_SHIFT_INT16
    if dtype is DType.INT16:
        _require_symmetric(op, op.inputs[0], op.inputs[1], op.y)
    twice_max_input_scale = 2.0 * max(float(f32(q1.s)), float(f32(q2.s)))
    real1 = float(f32(q1.s)) / twice_max_input_scale
    real2 = float(f32(q2.s)) / twice_max_input_scale
    real_out = twice_max_input_scale / (float(1 << left_shift) * float(f32(qy.s)))
    m1, s1 = _multiplier_below_one(op, real1, "input 1")
    m2, s2 = _multiplier_below_one(op, real2, "input 2")
    mo, so = _multiplier_below_one(op, real_out, "output")
    act = activation_range(op.activation, qy.s, qy.zp, *_value_range(dtype))
    return {
        "input1_offset": -q1.zp, "input2_offset": -q2.zp, "left_shift": left_shift,
        "input1_multiplier": m1, "input1_shift": s1,
        "input2_multiplier": m2, "input2_shift": s2,
        "output_multiplier": mo, "output_shift": so,
        "output_offset": qy.zp, "activation": activation(*act),
    }


@lowering(Add, Sub, kernels={
    Add: ("tc_elementwise_add_s8", "tc_elementwise_add_s16", "tc_elementwise_add_pot_s16"),
    Sub: ("tc_elementwise_sub_s8", "tc_elementwise_sub_s16", "tc_elementwise_sub_pot_s16")},
    dtypes=("int8", "int16"))
def lower_add_sub(op: Op, ctx: LowerContext) -> KernelCall:
    name = "add" if isinstance(op, Add) else "sub"
    if _binary_dtype(op) is DType.INT16:
        pot = add_sub_pot_params(op)
        if pot is not None:
            # LiteRT's power-of-two ADD runs reference_ops::Add on the flat arrays.
            require(isinstance(op, Sub) or op.inputs[0].shape == op.inputs[1].shape, op,
                    "LiteRT's power-of-two int16 ADD does not broadcast")
            params = _param(ctx, "tc_add_pot_params", pot, "add_pot_params")
            return _binary_call(f"tc_elementwise_{name}_pot_s16", params, op, ctx)
        params = _param(ctx, "tc_add_params", add_sub_params(op), "add_params")
        return _binary_call(f"tc_elementwise_{name}_s16", params, op, ctx)
    params = _param(ctx, "tc_add_params", add_sub_params(op), "add_params")
    return _binary_call(f"tc_elementwise_{name}_s8", params, op, ctx)


def mul_params(op: Mul) -> dict:
    """mul.cc Prepare: in1 * in2 / out scale, all in float, then QuantizeMultiplier
    (int16: zero points 0, as LiteRT requires)."""
    dtype = _binary_dtype(op)
    if dtype is DType.INT16:
        _require_symmetric(op, op.inputs[0], op.inputs[1], op.y)
    q1, q2, qy = tensor_quant(op, op.inputs[0]), tensor_quant(op, op.inputs[1]), tensor_quant(op, op.y)
    real = f32(f32(f32(q1.s) * f32(q2.s)) / f32(qy.s))
    mult, shift = _multiplier(op, real, "output")
    act = activation_range(op.activation, qy.s, qy.zp, *_value_range(dtype))
    return {
        "input1_offset": -q1.zp, "input2_offset": -q2.zp,
        "output_multiplier": mult, "output_shift": shift,
        "output_offset": qy.zp, "activation": activation(*act),
    }


@lowering(Mul, kernels=("tc_elementwise_mul_s8", "tc_elementwise_mul_s16"),
          dtypes=("int8", "int16"))
def lower_mul(op: Mul, ctx: LowerContext) -> KernelCall:
    params = _param(ctx, "tc_mul_params", mul_params(op), "mul_params")
    suffix = "s16" if op.y.dtype is DType.INT16 else "s8"
    return _binary_call(f"tc_elementwise_mul_{suffix}", params, op, ctx)


# -- RELU, RELU6, QUANTIZE int8 -> int8 ---------------------------------------------------------

def relu_params(op: Op, fused: Activation) -> dict:
    """activations.cc ReluPrepare (float division) and QuantizedReluX's clamp range (int8
    or int16)."""
    dtype = _unary_dtype(op)
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
    mult, shift = _multiplier(op, f32(f32(qx.s) / f32(qy.s)), "output")
    return {"input_offset": -qx.zp, "output_offset": qy.zp, "multiplier": mult,
            "shift": shift, "activation": activation(*activation_range(
                fused, qy.s, qy.zp, *_value_range(dtype)))}


def _unary_dtype(op: Op) -> DType:
    """int8 or int16, the same in and out."""
    dtype = op.x.dtype
    require(dtype in (DType.INT8, DType.INT16), op, f"tensor {op.x.name!r} is {dtype.name}, "
            "the kernel takes int8 or int16")
    _require_dtype(op, op.y, dtype)
    return dtype


@lowering(Relu, Relu6, kernels=("tc_requantize_s8", "tc_requantize_s16"),
          dtypes=("int8", "int16"))
def lower_relu(op: Op, ctx: LowerContext) -> KernelCall:
    fused = Activation.RELU if isinstance(op, Relu) else Activation.RELU6
    params = _param(ctx, "tc_requantize_params", relu_params(op, fused), "relu_params")
    suffix = "s16" if op.x.dtype is DType.INT16 else "s8"
    return _unary_call(f"tc_requantize_{suffix}", params, op, ctx)


def requantize_params(op: Quantize) -> dict:
    """quantize.cc Prepare for int8/int16 -> int8/int16: input / output scale in double;
    the clamp is the output type's range."""
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
    mult, shift = _multiplier(op, float(f32(qx.s)) / float(f32(qy.s)), "output")
    return {"input_offset": -qx.zp, "output_offset": qy.zp, "multiplier": mult,
            "shift": shift, "activation": activation(*_value_range(op.y.dtype))}


@lowering(Quantize, kernels=("tc_quantize_f32_s8", "tc_quantize_f32_s16", "tc_requantize_s8",
                             "tc_requantize_s16", "tc_requantize_s8_s16",
                             "tc_requantize_s16_s8"), dtypes=("int8", "int16"))
def lower_quantize(op: Quantize, ctx: LowerContext) -> KernelCall:
    """float -> int8/int16 (AffineQuantize), and requantization between int8 and int16
    either way (reference_ops::Requantize)."""
    suffixes = {DType.INT8: "s8", DType.INT16: "s16"}
    require(op.y.dtype in suffixes, op, f"tensor {op.y.name!r} is {op.y.dtype.name}, "
            "QUANTIZE writes int8 or int16")
    qy = tensor_quant(op, op.y)
    out = suffixes[op.y.dtype]
    if op.x.dtype is DType.FLOAT32:
        params = _param(ctx, "tc_affine_quant_params",
                        {"scale": float(f32(qy.s)), "zero_point": qy.zp}, "quant_params")
        return _unary_call(f"tc_quantize_f32_{out}", params, op, ctx)
    require(op.x.dtype in suffixes, op, f"tensor {op.x.name!r} is {op.x.dtype.name}, "
            "QUANTIZE reads float32, int8 or int16")
    source = suffixes[op.x.dtype]
    function = f"tc_requantize_{out}" if source == out else f"tc_requantize_{source}_{out}"
    params = _param(ctx, "tc_requantize_params", requantize_params(op), "requant_params")
    return _unary_call(function, params, op, ctx)


@lowering(Dequantize, kernels=("tc_dequantize_s8_f32", "tc_dequantize_s16_f32"),
          dtypes=("int8", "int16"))
def lower_dequantize(op: Dequantize, ctx: LowerContext) -> KernelCall:
    require(op.x.dtype in (DType.INT8, DType.INT16), op, f"tensor {op.x.name!r} is "
            f"{op.x.dtype.name}, DEQUANTIZE reads int8 or int16")
    _require_dtype(op, op.y, DType.FLOAT32)
    qx = tensor_quant(op, op.x)
    params = _param(ctx, "tc_affine_quant_params",
                    {"scale": float(f32(qx.s)), "zero_point": qx.zp}, "dequant_params")
    suffix = "s16" if op.x.dtype is DType.INT16 else "s8"
    return _unary_call(f"tc_dequantize_{suffix}_f32", params, op, ctx)


# -- LEAKY_RELU, HARD_SWISH -----------------------------------------------------------------------

def leaky_relu_params(op: LeakyRelu) -> dict:
    """LeakyReluPrepare: in * alpha / out and in / out, in float (int8 or int16)."""
    _unary_dtype(op)
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
    alpha_mult, alpha_shift = _multiplier(
        op, f32(f32(f32(qx.s) * f32(op.alpha)) / f32(qy.s)), "alpha")
    id_mult, id_shift = _multiplier(op, f32(f32(qx.s) / f32(qy.s)), "identity")
    require(alpha_mult != -(2**31), op, f"alpha {op.alpha} gives a multiplier of -2^31")
    return {"input_offset": -qx.zp, "output_offset": qy.zp,
            "identity_multiplier": id_mult, "identity_shift": id_shift,
            "alpha_multiplier": alpha_mult, "alpha_shift": alpha_shift}


@lowering(LeakyRelu, kernels=("tc_leaky_relu_s8", "tc_leaky_relu_s16"),
          dtypes=("int8", "int16"))
def lower_leaky_relu(op: LeakyRelu, ctx: LowerContext) -> KernelCall:
    params = _param(ctx, "tc_leaky_relu_params", leaky_relu_params(op), "leaky_params")
    suffix = "s16" if op.x.dtype is DType.INT16 else "s8"
    return _unary_call(f"tc_leaky_relu_{suffix}", params, op, ctx)


def downscale_int32_to_int16_multiplier(multiplier: int) -> int:
    """TFLite's DownScaleInt32ToInt16Multiplier (round to the top 16 bits, saturating)."""
    rounding_offset = 1 << 15
    if multiplier >= (2**31 - 1) - rounding_offset:
        return 2**15 - 1
    return (multiplier + rounding_offset) >> 16


def hard_swish_params(op: HardSwish) -> dict:
    """HardSwishPrepare: float scales, QuantizeMultiplier, then 16-bit multipliers."""
    # Measured: LiteRT 2.3's HARD_SWISH and TFLite Micro's both fail on int16 ("Only
    # float32, uint8 and int8 are supported currently" / "Unsupported type INT16"), and the
    # TFLite converter in 16x8 mode refuses a Keras hard_swish ("Quantization to 16x8-bit
    # not yet supported for op: 'HARD_SWISH'") or, with TFLITE_BUILTINS allowed, keeps it
    # float32 between DEQUANTIZE and QUANTIZE.
    require(op.x.dtype is not DType.INT16, op, "int16 HARD_SWISH is not supported: no "
            "reference runs it (LiteRT's and TFLite Micro's kernels take float32, uint8 and "
            "int8 only) and the TFLite converter's 16x8 mode never emits it")
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
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


@lowering(HardSwish, kernels=("tc_lut_s8",), dtypes=("int8",))
def lower_hard_swish(op: HardSwish, ctx: LowerContext) -> KernelCall:
    return lut_call(op, ctx, hard_swish_lut(hard_swish_params(op)), "hswish_lut")


# -- LOGISTIC, TANH: LiteRT's float-built lookup tables -------------------------------------------

@functools.lru_cache(maxsize=1)
def libm() -> ctypes.CDLL:
    """The C math library: LiteRT calls expf/tanhf from it, so its tables come from here."""
    lib = ctypes.CDLL(ctypes.util.find_library("m") or "libm.so.6")
    for name in ("expf", "tanhf", "logf"):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = ctypes.c_float, [ctypes.c_float]
    return lib


def _round_float(x: np.float32) -> np.float32:
    """std::round on a float (halves away from zero), staying in float."""
    return np.float32(tflite_round(float(x))) if abs(x) < 2.0**23 else x


def sigmoid_f32(x: np.float32) -> np.float32:
    # 1.0f / (1.0f + std::exp(-value)), each step rounded to float.
    e = np.float32(libm().expf(float(-x)))
    return np.float32(np.float32(1.0) / np.float32(np.float32(1.0) + e))


def tanh_f32(x: np.float32) -> np.float32:
    return np.float32(libm().tanhf(float(x)))


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


def lut_call(op: Op, ctx: LowerContext, table: np.ndarray, hint: str) -> KernelCall:
    symbol = ctx.const_array(table, "int8_t", hint)
    return KernelCall("tc_lut_s8", [symbol, ctx.elements(op.y), ctx.tensor_ptr(op.x),
                                    ctx.tensor_ptr(op.y)])


def sigmoid_s16_params(op: Op) -> dict:
    """TanhPrepare / SigmoidPrepare for int16 (activations.cc), with the kernel's
    power-of-two case (multiplier 0 -> 3 << shift, shift 0) folded in here: the input's
    scale to the table's 1/(3 * 4096) per unit."""
    tanh = isinstance(op, Tanh)
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
    _require_symmetric(op, op.x, op.y)
    out_pot, out_log2 = checked_log2(qy.s)
    require(out_pot and out_log2 == -15, op, f"int16 {op.kind} output must have scale 2^-15 "
            "(as LiteRT requires)")
    if not tanh:
        require(f32(qy.s) == f32(1.0 / 32768), op, "int16 LOGISTIC output must have scale "
                "1/32768 (as LiteRT requires)")
    is_pot, log2 = checked_log2(qx.s)
    shift = (15 - 3) + log2
    multiplier = 0
    if not (is_pot and shift in ((0, 1) if tanh else (0,))):
        real = float(f32(qx.s)) * 4096.0 * 3.0
        shift = 0
        while real <= 32767.0 / 2.0 and shift <= 30:
            shift += 1
            real *= 2.0
        multiplier = int(real)
        require(multiplier < 2**31, op, f"input scale {qx.s!r} is too large for int16 {op.kind}")
    if multiplier == 0:
        multiplier, shift = 3 << shift, 0
    return {"input_multiplier": multiplier, "input_left_shift": shift}


def _sigmoid_s16_call(op: Op, ctx: LowerContext) -> KernelCall:
    params = _param(ctx, "tc_sigmoid_s16_params", sigmoid_s16_params(op), "sigmoid_params")
    function = "tc_tanh_s16" if isinstance(op, Tanh) else "tc_logistic_s16"
    return _unary_call(function, params, op, ctx)


@lowering(Logistic, kernels=("tc_lut_s8", "tc_logistic_s16"), dtypes=("int8", "int16"))
def lower_logistic(op: Logistic, ctx: LowerContext) -> KernelCall:
    if _unary_dtype(op) is DType.INT16:
        return _sigmoid_s16_call(op, ctx)
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
    require(f32(qy.s) == f32(1.0 / 256) and qy.zp == INT8_MIN, op,
            "int8 LOGISTIC output must have scale 1/256 and zero point -128 (as LiteRT requires)")
    return lut_call(op, ctx, lut_int8(qx.s, qx.zp, qy.s, qy.zp, sigmoid_f32), "sigmoid_lut")


@lowering(Tanh, kernels=("tc_lut_s8", "tc_tanh_s16"), dtypes=("int8", "int16"))
def lower_tanh(op: Tanh, ctx: LowerContext) -> KernelCall:
    if _unary_dtype(op) is DType.INT16:
        return _sigmoid_s16_call(op, ctx)
    _require_dtype(op, op.x, DType.INT8)
    _require_dtype(op, op.y, DType.INT8)
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
    return lut_call(op, ctx, lut_int8(qx.s, qx.zp, qy.s, qy.zp, tanh_f32), "tanh_lut")


# -- SOFTMAX -------------------------------------------------------------------------------------

def softmax_params(op: Softmax) -> dict:
    """SoftmaxPrepare (kReference): PreprocessSoftmaxScaling and CalculateInputRadius."""
    _require_dtype(op, op.x, DType.INT8)
    qx = tensor_quant(op, op.x)
    real = min(float(f32(op.beta)) * float(f32(qx.s)) *
               float(1 << (31 - SOFTMAX_DIFF_INTEGER_BITS)), float(2**31 - 1))
    require(real > 1.0, op, f"beta * input scale ({real / 2**26!r}) is too small for the "
            "int8 softmax")
    multiplier, left_shift = quantize_multiplier(real)  # no cap: LiteRT's double rounding
    radius = math.floor(1.0 * ((1 << SOFTMAX_DIFF_INTEGER_BITS) - 1) *
                        (1 << (31 - SOFTMAX_DIFF_INTEGER_BITS)) / (1 << left_shift))
    return {"input_multiplier": multiplier, "input_left_shift": left_shift,
            "diff_min": -radius}


def lut_populate_int16(input_scale: float, input_zp: int, output_scale: float, output_zp: int,
                       transform: Callable[[float], float]) -> np.ndarray:
    """TFLite's LUTPopulate for int16 with double arithmetic (LUTPopulateInt16): 512 steps
    over the input range plus the end point, each sample biased by half the error of linear
    interpolation at the step's midpoint, rounded half away and saturated to int16."""
    input_min = input_scale * (INT16_MIN - input_zp)
    input_max = input_scale * (INT16_MAX - input_zp)
    output_min = output_scale * (INT16_MIN - output_zp)
    output_max = output_scale * (INT16_MAX - output_zp)
    steps = 512
    step = (input_max - input_min) / steps
    half_step = step / 2
    inverse = float(INT16_MAX - INT16_MIN + 1) / (output_max - output_min)
    table = np.zeros(steps + 1, np.int16)

    def clamp(v: float) -> int:
        return int(min(max(v, float(INT16_MIN)), float(INT16_MAX)))

    for i in range(steps):
        value = transform(input_min + i * step)
        midpoint = transform(input_min + i * step + half_step)
        following = transform(input_min + (i + 1) * step)
        sample = tflite_round(value * inverse)
        interpolated = tflite_round((following * inverse + tflite_round(value * inverse)) / 2)
        error = interpolated - tflite_round(midpoint * inverse)
        table[i] = clamp(sample - tflite_round(error / 2))
    table[steps] = clamp(tflite_round(transform(input_max) * inverse))
    return table


SOFTMAX_S16_RANGE = INT16_MAX - INT16_MIN  # 65535


@functools.lru_cache(maxsize=1)
def softmax_s16_tables() -> tuple[np.ndarray, np.ndarray]:
    """SoftmaxPrepare's int16 tables: exp on [-10, 0] and 1 / (1 + x) on [0, 1], both onto
    a symmetric [-1, 1] output range (as LiteRT builds them)."""
    exp_lut = lut_populate_int16(10.0 / SOFTMAX_S16_RANGE, INT16_MAX, 2.0 / SOFTMAX_S16_RANGE,
                                 0, math.exp)
    reciprocal_lut = lut_populate_int16(1.0 / SOFTMAX_S16_RANGE, INT16_MIN,
                                        2.0 / SOFTMAX_S16_RANGE, 0, lambda v: 1.0 / (1.0 + v))
    return exp_lut, reciprocal_lut


def lower_softmax_s16(op: Softmax, ctx: LowerContext) -> KernelCall:
    """SOFTMAX int16 -> int16 (reference_ops::SoftmaxInt16)."""
    _require_dtype(op, op.y, DType.INT16)
    qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
    _require_symmetric(op, op.x, op.y)
    require(abs(f32(qy.s) - 1.0 / 32768) <= 0.001 / 32768, op, "int16 SOFTMAX output must "
            "have scale 1/32768 (as LiteRT requires)")
    # float input scale * float beta (a float product), then / (10 / 65535) in double.
    real = f32(f32(qx.s) * f32(op.beta)) / (10.0 / 65535.0)
    multiplier, shift = _multiplier(op, real, "input")
    row_size = op.x.shape[-1]
    require(row_size <= 65535, op, f"rows of {row_size} values overflow the int16 softmax's "
            "int32 sum of exps (at most 65535)")
    exp_lut, reciprocal_lut = softmax_s16_tables()
    params = _param(ctx, "tc_softmax_s16_params", {
        "input_multiplier": multiplier, "input_left_shift": shift,
        "exp_lut": CExpr(ctx.const_array(exp_lut, "int16_t", "softmax_exp_lut")),
        "one_over_one_plus_x_lut": CExpr(ctx.const_array(reciprocal_lut, "int16_t",
                                                         "softmax_recip_lut")),
    }, "softmax_params")
    return KernelCall("tc_softmax_s16", [params, str(op.x.size // row_size), str(row_size),
                                         ctx.tensor_ptr(op.x), ctx.tensor_ptr(op.y)])


@lowering(Softmax, kernels=("tc_softmax_s8", "tc_softmax_s8_s16", "tc_softmax_s16"),
          dtypes=("int8", "int16"))
def lower_softmax(op: Softmax, ctx: LowerContext) -> KernelCall:
    if op.x.dtype is DType.INT16:
        return lower_softmax_s16(op, ctx)
    params = _param(ctx, "tc_softmax_params", softmax_params(op), "softmax_params")
    require(len(op.x.shape) >= 1 and op.x.shape == op.y.shape, op,
            "input and output shapes differ")
    row_size = op.x.shape[-1]
    rows = op.x.size // row_size
    qy = tensor_quant(op, op.y)
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
