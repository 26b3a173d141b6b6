"""Lowering of elementwise math, comparisons and select.

Each lowering computes the kernel's parameters as the op's Prepare() in LiteRT computes
them (tensorflow/lite/kernels/{maximum_minimum,comparisons,squared_difference,select,
activations,elementwise,neg,exp}.cc): the same float or double arithmetic in the same
order, then TFLite's QuantizeMultiplier. What LiteRT does with the stored integers
(MAXIMUM/MINIMUM, NEG, SELECT, int16/int32 comparisons) is done with them here too,
whatever the quantization says.

The int8 unary ops are functions of one input byte, so each becomes a 256-entry table run
by tc_lut_s8: ABS, NEG and RSQRT tables of LiteRT's integer arithmetic (computed here
step by step), EXP and ELU tables built as LiteRT's (EXP) and TFLite Micro's (ELU)
float LUTPopulate builds them.
"""

from __future__ import annotations

import numpy as np

from ...ir.graph import DType, Tensor
from ...ir.ops import (Abs, Comparison, Elu, Equal, Exp, Greater, GreaterEqual, Less,
                       LessEqual, Maximum, Minimum, Neg, NotEqual, Op, Prelu, Rsqrt, Select,
                       SelectV2, SquaredDifference)
from ...quant import (INT8_MAX, INT8_MIN, INT32_MAX, INT32_MIN, f32,
                      multiply_by_quantized_multiplier, quantize_multiplier,
                      rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
                      wrap_int32)
from .base import CExpr, CStruct, KernelCall, LowerContext, lowering, require, tensor_quant
from .elementwise import libm, lut_call, lut_int8

MAX_RANK = 6  # TC_MATH_MAX_RANK (tc_nn_math.h)
_SUFFIX = {DType.INT8: "s8", DType.INT16: "s16", DType.INT32: "s32"}
# tc_comparison (tc_nn_math.h)
_COMPARISON_CODES = {Equal: 0, NotEqual: 1, Less: 2, LessEqual: 3, Greater: 4,
                     GreaterEqual: 5}
COMPARISON_LEFT_SHIFT = 8        # comparisons.cc
SQUARED_DIFFERENCE_LEFT_SHIFT = 7  # squared_difference.cc
RSQRT_SHIFT = 20                 # elementwise.cc RsqrtEvalQuantized's kShift
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1


# -- shared helpers ----------------------------------------------------------------------------

def _nd_dims(ctx: LowerContext, op: Op, shape: tuple[int, ...], hint: str) -> str:
    require(len(shape) <= MAX_RANK, op, f"rank {len(shape)} is over {MAX_RANK}")
    dims = (1,) * (MAX_RANK - len(shape)) + tuple(int(d) for d in shape)
    return ctx.param("tc_nd_dims", CStruct({"d": CExpr("{" + ", ".join(map(str, dims)) + "}")}),
                     hint)


def _ptr(ctx: LowerContext, t: Tensor) -> str:
    """A pointer to the tensor's elements; a constant BOOL tensor is emitted as bytes (the
    weights file knows no `bool`) and cast."""
    if t.is_constant and t.dtype is DType.BOOL:
        assert t.data is not None
        symbol = ctx.const_array(t.data.astype(np.uint8), "uint8_t", "bool_const")
        return f"((const bool *){symbol})"
    return ctx.tensor_ptr(t)


def _suffix(op: Op, t: Tensor) -> str:
    require(t.dtype in _SUFFIX, op, f"tensor {t.name!r} is {t.dtype.name}; the kernels take "
            "INT8, INT16 or INT32")
    return _SUFFIX[t.dtype]


def _inputs(op: Op, n: int) -> list[Tensor]:
    ts = op.inputs[:n]
    require(len(ts) == n and all(t is not None for t in ts), op, f"needs {n} inputs")
    return ts  # type: ignore[return-value]


def _below_one(op: Op, real: float, what: str) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp, which aborts outside (0, 1)."""
    require(0.0 < real < 1.0, op, f"{what} multiplier {real!r} is not in (0, 1), where "
            "LiteRT's arithmetic for this op is defined")
    multiplier, shift = quantize_multiplier(real)
    require(shift <= 0, op, f"{what} multiplier {real!r} rounds to 1")
    return multiplier, shift


def _multiplier(op: Op, real: float, what: str) -> tuple[int, int]:
    require(np.isfinite(real) and abs(real) < 2.0**31, op,
            f"{what} multiplier {real!r} is out of range")
    return quantize_multiplier(real)


# -- MAXIMUM, MINIMUM --------------------------------------------------------------------------

@lowering(Maximum, Minimum, kernels=("tc_max_min_s8", "tc_max_min_s16", "tc_max_min_s32"),
          dtypes=("int8", "int16"))
def lower_max_min(op: Op, ctx: LowerContext) -> KernelCall:
    a, b = _inputs(op, 2)
    suffix = _suffix(op, op.y)
    require(a.dtype is b.dtype is op.y.dtype, op, "inputs and output must share one dtype")
    params = ctx.param("tc_max_min_params", CStruct({"is_max": isinstance(op, Maximum)}),
                       "max_min_params")
    return KernelCall(f"tc_max_min_{suffix}", [
        params, _nd_dims(ctx, op, a.shape, "nd_input1_dims"), _ptr(ctx, a),
        _nd_dims(ctx, op, b.shape, "nd_input2_dims"), _ptr(ctx, b),
        _nd_dims(ctx, op, op.y.shape, "nd_output_dims"), _ptr(ctx, op.y)])


# -- comparisons -------------------------------------------------------------------------------

def comparison_params(op: Comparison) -> dict:
    """comparisons.cc ComparisonQuantized (int8): left shift 8, each input's scale (a float,
    as a double) through QuantizeMultiplier; int16/int32 compare the stored integers."""
    a, b = _inputs(op, 2)
    fields = {"op": _COMPARISON_CODES[type(op)], "left_shift": 0,
              "input1_offset": 0, "input1_multiplier": 0, "input1_shift": 0,
              "input2_offset": 0, "input2_multiplier": 0, "input2_shift": 0}
    if a.dtype is DType.INT8:
        q1, q2 = tensor_quant(op, a), tensor_quant(op, b)
        m1, s1 = _below_one(op, float(f32(q1.s)), "input 1 scale")
        m2, s2 = _below_one(op, float(f32(q2.s)), "input 2 scale")
        fields.update({"left_shift": COMPARISON_LEFT_SHIFT,
                       "input1_offset": -q1.zp, "input1_multiplier": m1, "input1_shift": s1,
                       "input2_offset": -q2.zp, "input2_multiplier": m2, "input2_shift": s2})
    return fields


@lowering(Equal, NotEqual, Less, LessEqual, Greater, GreaterEqual,
          kernels=("tc_comparison_s8", "tc_comparison_s16", "tc_comparison_s32"),
          dtypes=("int8", "int16"))
def lower_comparison(op: Comparison, ctx: LowerContext) -> KernelCall:
    a, b = _inputs(op, 2)
    suffix = _suffix(op, a)
    require(a.dtype is b.dtype and op.y.dtype is DType.BOOL, op,
            "compares two inputs of one dtype into a BOOL output")
    params = ctx.param("tc_comparison_params", CStruct(comparison_params(op)),
                       "comparison_params")
    return KernelCall(f"tc_comparison_{suffix}", [
        params, _nd_dims(ctx, op, a.shape, "nd_input1_dims"), _ptr(ctx, a),
        _nd_dims(ctx, op, b.shape, "nd_input2_dims"), _ptr(ctx, b),
        _nd_dims(ctx, op, op.y.shape, "nd_output_dims"), _ptr(ctx, op.y)])


# -- SQUARED_DIFFERENCE ------------------------------------------------------------------------

def squared_difference_params(op: SquaredDifference) -> dict:
    """squared_difference.cc Prepare (int8): twice the larger input scale (float), ratios
    in double, the output's over (1 << 14) * output scale (that product in float)."""
    a, b = _inputs(op, 2)
    for t in (a, b, op.y):
        require(t.dtype is DType.INT8, op, f"tensor {t.name!r} is {t.dtype.name}; LiteRT's "
                "SQUARED_DIFFERENCE takes int8 (or float32/int32)")
    q1, q2, qy = tensor_quant(op, a), tensor_quant(op, b), tensor_quant(op, op.y)
    s1, s2, sy = f32(q1.s), f32(q2.s), f32(qy.s)
    twice_max = f32(2.0 * max(s1, s2))
    real1, real2 = s1 / twice_max, s2 / twice_max
    real_out = (twice_max * twice_max) / f32(float(1 << (2 * SQUARED_DIFFERENCE_LEFT_SHIFT))
                                              * sy)
    m1, sh1 = _below_one(op, real1, "input 1")
    m2, sh2 = _below_one(op, real2, "input 2")
    mo, sho = _below_one(op, real_out, "output")
    return {"input1_offset": -q1.zp, "input2_offset": -q2.zp,
            "left_shift": SQUARED_DIFFERENCE_LEFT_SHIFT,
            "input1_multiplier": m1, "input1_shift": sh1,
            "input2_multiplier": m2, "input2_shift": sh2,
            "output_multiplier": mo, "output_shift": sho, "output_offset": qy.zp}


@lowering(SquaredDifference, kernels=("tc_squared_difference_s8",), dtypes=("int8",))
def lower_squared_difference(op: SquaredDifference, ctx: LowerContext) -> KernelCall:
    a, b = _inputs(op, 2)
    params = ctx.param("tc_squared_difference_params", CStruct(squared_difference_params(op)),
                       "sqdiff_params")
    return KernelCall("tc_squared_difference_s8", [
        params, _nd_dims(ctx, op, a.shape, "nd_input1_dims"), _ptr(ctx, a),
        _nd_dims(ctx, op, b.shape, "nd_input2_dims"), _ptr(ctx, b),
        _nd_dims(ctx, op, op.y.shape, "nd_output_dims"), _ptr(ctx, op.y)])


# -- SELECT_V2, SELECT -------------------------------------------------------------------------

@lowering(SelectV2, Select, kernels=("tc_select_v2",), dtypes=("int8", "int16"))
def lower_select(op: SelectV2, ctx: LowerContext) -> KernelCall:
    c, x, v = _inputs(op, 3)
    _suffix(op, op.y)
    require(c.dtype is DType.BOOL and x.dtype is v.dtype is op.y.dtype, op,
            "takes a BOOL condition and two values of the output's dtype")
    c_shape = tuple(c.shape)
    if isinstance(op, Select) and c_shape != tuple(x.shape):
        # SELECT's rank-1 condition picks whole slices along the first dim.
        c_shape = c_shape + (1,) * (len(x.shape) - 1)
    return KernelCall("tc_select_v2", [
        str(op.y.dtype.itemsize), _nd_dims(ctx, op, c_shape, "nd_condition_dims"),
        _ptr(ctx, c), _nd_dims(ctx, op, x.shape, "nd_x_dims"), _ptr(ctx, x),
        _nd_dims(ctx, op, v.shape, "nd_y_dims"), _ptr(ctx, v),
        _nd_dims(ctx, op, op.y.shape, "nd_output_dims"), _ptr(ctx, op.y)])


# -- PRELU -------------------------------------------------------------------------------------

def prelu_params(op: Prelu) -> dict:
    """activations.cc PreluPrepare (int8): input / output and input * alpha / output, each
    in float, then QuantizeMultiplier."""
    x, alpha = _inputs(op, 2)
    for t in (x, alpha, op.y):
        require(t.dtype is DType.INT8, op, f"tensor {t.name!r} is {t.dtype.name}; the PRELU "
                "kernel takes int8")
    qx, qa, qy = tensor_quant(op, x), tensor_quant(op, alpha), tensor_quant(op, op.y)
    sx, sa, sy = f32(qx.s), f32(qa.s), f32(qy.s)
    m1, s1 = _multiplier(op, f32(sx / sy), "identity")
    m2, s2 = _multiplier(op, f32(f32(sx * sa) / sy), "alpha")
    return {"input_offset": -qx.zp, "alpha_offset": -qa.zp, "output_offset": qy.zp,
            "output_multiplier_1": m1, "output_shift_1": s1,
            "output_multiplier_2": m2, "output_shift_2": s2}


@lowering(Prelu, kernels=("tc_prelu_s8",), dtypes=("int8",))
def lower_prelu(op: Prelu, ctx: LowerContext) -> KernelCall:
    x, alpha = _inputs(op, 2)
    require(x.shape == op.y.shape, op, "the output must have the input's shape")
    params = ctx.param("tc_prelu_params", CStruct(prelu_params(op)), "prelu_params")
    return KernelCall("tc_prelu_s8", [
        params, _nd_dims(ctx, op, x.shape, "nd_input_dims"), _ptr(ctx, x),
        _nd_dims(ctx, op, alpha.shape, "nd_alpha_dims"), _ptr(ctx, alpha),
        _nd_dims(ctx, op, op.y.shape, "nd_output_dims"), _ptr(ctx, op.y)])


# -- int8 tables: ABS, NEG, RSQRT, EXP, ELU ----------------------------------------------------

def _clamp8(v: int) -> int:
    return min(max(v, INT8_MIN), INT8_MAX)


def abs_table(input_scale: float, input_zp: int, output_scale: float,
              output_zp: int) -> np.ndarray:
    """elementwise.cc AbsEvalQuantized<int8_t>: |in - zp_in|, rescaled by in / out (a float
    ratio) unless the two scales are equal, plus zp_out, clamped; in tc_lut_s8's order."""
    sx, sy = f32(input_scale), f32(output_scale)
    rescale = sx != sy
    multiplier, shift = quantize_multiplier(f32(sx / sy)) if rescale else (0, 0)
    table = np.zeros(256, np.int8)
    for code in range(INT8_MIN, INT8_MAX + 1):
        value = abs(code - input_zp)
        if rescale:
            value = multiply_by_quantized_multiplier(value, multiplier, shift)
        table[code & 0xFF] = _clamp8(wrap_int32(value + output_zp))
    return table


def neg_table() -> np.ndarray:
    """neg.cc: the stored int8 negated, -(-128) wrapping to -128."""
    table = np.zeros(256, np.int8)
    for code in range(INT8_MIN, INT8_MAX + 1):
        table[code & 0xFF] = ((-code + 128) % 256) - 128
    return table


def _saturating_mul_by_pot(x: int, exponent: int) -> int:
    """gemmlowp SaturatingRoundingMultiplyByPOT<exponent> on int32."""
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    if x > threshold:
        return INT32_MAX
    if x < -threshold:
        return INT32_MIN
    return x << exponent


def inv_sqrt_multiplier_exp(value: int, reverse_shift: int = -1) -> tuple[int, int]:
    """TFLite's GetInvSqrtQuantizedMultiplierExp: 1 / sqrt(value) as (multiplier, shift),
    by gemmlowp fixed-point Newton-Raphson (5 iterations on Q3.28 values)."""
    if value <= 1:
        return INT32_MAX, 0
    shift = 11
    while value >= 1 << 29:
        value //= 4
        shift += 1
    max_left_shift_bits = (32 - value.bit_length()) - 1  # CountLeadingZeros - 1
    left_shift_bit_pairs = max_left_shift_bits // 2 - 1
    shift -= left_shift_bit_pairs
    value <<= 2 * left_shift_bit_pairs
    srdhm = saturating_rounding_doubling_high_mul
    half_input = rounding_divide_by_pot(value >> 1, 1)  # F3, SaturatingRoundingMultiplyByPOT<-1>
    half_three = (1 << 28) + (1 << 27)                  # F3 1.5
    x = 1 << 28                                         # F3 1.0
    for _ in range(5):
        x3 = _saturating_mul_by_pot(srdhm(srdhm(x, x), x), 6)  # F9 -> F3
        x = _saturating_mul_by_pot(wrap_int32(srdhm(half_three, x) - srdhm(half_input, x3)),
                                   3)                           # F6 -> F3
    x = srdhm(x, 1518500250)  # * sqrt(2) / 2 (F0)
    if shift < 0:
        x = wrap_int32(x << -shift)
        shift = 0
    return x, shift * reverse_shift


def rsqrt_params(input_scale: float, output_scale: float) -> tuple[int, int]:
    """SetRsqrtOutputMultiplier: 1. / (std::sqrt(float in) * float out), the product in
    float, the division in double."""
    root = f32(float(np.sqrt(np.float32(input_scale))))
    return quantize_multiplier(1.0 / f32(root * f32(output_scale)))


def rsqrt_table(input_scale: float, input_zp: int, output_scale: float,
                output_zp: int) -> np.ndarray:
    """elementwise.cc RsqrtEvalQuantized (int8). Codes below the input zero point (negative
    values) make LiteRT stop with an error; their entries here are 127, as for 0."""
    multiplier, shift = rsqrt_params(input_scale, output_scale)
    table = np.full(256, INT8_MAX, np.int8)
    for code in range(input_zp + 1, INT8_MAX + 1):
        inv, inv_shift = inv_sqrt_multiplier_exp(code - input_zp)
        data = multiply_by_quantized_multiplier(1, inv, inv_shift + RSQRT_SHIFT)
        out = multiply_by_quantized_multiplier(data, multiplier, shift - RSQRT_SHIFT)
        table[code & 0xFF] = _clamp8(wrap_int32(out + output_zp))
    return table


def exp_f32(x: np.float32) -> np.float32:
    """std::exp on a float (expf)."""
    return np.float32(libm().expf(float(x)))


def elu_f32(x: np.float32) -> np.float32:
    """TFLite's ELU transform: value < 0 ? std::exp(value) - 1.0f : value, in float."""
    if x < 0:
        return np.float32(exp_f32(x) - np.float32(1.0))
    return np.float32(x)


def _check_int8_unary(op: Op) -> tuple:
    for t in (op.x, op.y):
        require(t.dtype is DType.INT8, op, f"tensor {t.name!r} is {t.dtype.name}; the int8 "
                f"{op.kind} kernel takes int8")
    return tensor_quant(op, op.x), tensor_quant(op, op.y)


def _int16_pair(op: Op) -> None:
    require(op.x.dtype is op.y.dtype is DType.INT16, op,
            f"{op.kind} takes int8 or int16 in and out of one dtype")


@lowering(Abs, kernels=("tc_lut_s8", "tc_abs_s16"), dtypes=("int8", "int16"))
def lower_abs(op: Abs, ctx: LowerContext) -> KernelCall:
    if op.x.dtype is DType.INT16:
        _int16_pair(op)
        if op.x.quant is None and op.y.quant is None:
            fields = {"mode": 0, "multiplier": 0, "shift": 0}
        else:
            qx, qy = tensor_quant(op, op.x), tensor_quant(op, op.y)
            require(qx.zp == 0 and qy.zp == 0, op, "int16 ABS takes zero points of 0")
            sx, sy = f32(qx.s), f32(qy.s)
            if sx == sy:
                fields = {"mode": 1, "multiplier": 0, "shift": 0}
            else:
                m, s = _multiplier(op, f32(sx / sy), "output")
                fields = {"mode": 2, "multiplier": m, "shift": s}
        params = ctx.param("tc_abs_params", CStruct(fields), "abs_params")
        return KernelCall("tc_abs_s16", [params, ctx.elements(op.y), ctx.tensor_ptr(op.x),
                                         ctx.tensor_ptr(op.y)])
    qx, qy = _check_int8_unary(op)
    return lut_call(op, ctx, abs_table(qx.s, qx.zp, qy.s, qy.zp), "abs_lut")


@lowering(Neg, kernels=("tc_lut_s8", "tc_neg_s16"), dtypes=("int8", "int16"))
def lower_neg(op: Neg, ctx: LowerContext) -> KernelCall:
    if op.x.dtype is DType.INT16:
        _int16_pair(op)
        return KernelCall("tc_neg_s16", [ctx.elements(op.y), ctx.tensor_ptr(op.x),
                                         ctx.tensor_ptr(op.y)])
    require(op.x.dtype is op.y.dtype is DType.INT8, op,
            "NEG takes int8 or int16 in and out of one dtype")
    return lut_call(op, ctx, neg_table(), "neg_lut")


@lowering(Rsqrt, kernels=("tc_lut_s8",), dtypes=("int8",))
def lower_rsqrt(op: Rsqrt, ctx: LowerContext) -> KernelCall:
    qx, qy = _check_int8_unary(op)
    return lut_call(op, ctx, rsqrt_table(qx.s, qx.zp, qy.s, qy.zp), "rsqrt_lut")


@lowering(Exp, kernels=("tc_lut_s8",), dtypes=("int8",))
def lower_exp(op: Exp, ctx: LowerContext) -> KernelCall:
    qx, qy = _check_int8_unary(op)
    return lut_call(op, ctx, lut_int8(qx.s, qx.zp, qy.s, qy.zp, exp_f32), "exp_lut")


@lowering(Elu, kernels=("tc_lut_s8",), dtypes=("int8",))
def lower_elu(op: Elu, ctx: LowerContext) -> KernelCall:
    qx, qy = _check_int8_unary(op)
    return lut_call(op, ctx, lut_int8(qx.s, qx.zp, qy.s, qy.zp, elu_f32), "elu_lut")
