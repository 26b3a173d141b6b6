"""TFLite's fixed-point quantization arithmetic, reproduced exactly in Python.

Codegen precomputes every multiplier and shift here, on the host, with the same double
arithmetic as TFLite's `QuantizeMultiplier` (tensorflow/lite/kernels/internal/
quantization_util.cc), so the firmware only does integer work. The integer functions
(`multiply_by_quantized_multiplier` ...) mirror firmware/kernels/include/tc_nn_support.h
and are checked against LiteRT BUILTIN_REF itself (tests/unit/test_quant.py).

"Exactly" includes the corners TFLite leaves to its compiler, as the LiteRT build that is
the oracle (x86-64) computes them:
- int32 arithmetic wraps (`acc * (1 << left_shift)`, `acc + output_offset`);
- `1 << left_shift` uses the shift modulo 32 (shifts above 31 come from effective scales
  of 2^31 and more: TFLite's double-rounding QuantizeMultiplier does not cap them);
- a double converted to int32 outside its range (or NaN) gives INT32_MIN.
"""

from __future__ import annotations

import math

import numpy as np

from .errors import TinyconvError
from .ir.ops import Activation

INT8_MIN, INT8_MAX = -128, 127
INT16_MIN, INT16_MAX = -(2**15), 2**15 - 1
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def wrap_int32(x: int) -> int:
    """x reduced to int32 as two's-complement arithmetic does (C's int32 overflow on the
    targets TFLite runs on)."""
    return ((int(x) + 2**31) % 2**32) - 2**31


def wrap_int32_array(x: np.ndarray) -> np.ndarray:
    """wrap_int32 on every element of an integer array."""
    return (((np.asarray(x, np.int64) + 2**31) % 2**32) - 2**31).astype(np.int32)


def tflite_round(x: float) -> int:
    """std::round: halves go away from zero (Python's round() goes to even). Exact for
    every finite double (no `+ 0.5` that rounds 0.49999999999999994 up)."""
    magnitude = abs(x)
    whole = math.floor(magnitude)
    if magnitude - whole >= 0.5:  # exact: the fraction of a double is a double
        whole += 1
    return int(whole) if x >= 0 else -int(whole)


def double_to_int32(x: float) -> int:
    """static_cast<int32_t>(double) as x86-64 computes it (cvttsd2si): toward zero, and
    INT32_MIN for NaN and for values outside the int32 range."""
    if not math.isfinite(x) or not (INT32_MIN - 1 < x < INT32_MAX + 1):
        return INT32_MIN
    return int(x)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """(q31 multiplier, shift) with real = q * 2**(shift - 31): TFLite's QuantizeMultiplier.

    As LiteRT's double-rounding build computes it: frexp, std::round of the mantissa times
    2^31, a mantissa that rounds up to 2^31 halved; a shift below -31 gives (0, 0) (every
    bit would be shifted out); a shift above 30 is kept (only TFLITE_SINGLE_ROUNDING caps
    it, and tc_requantize does that itself under -DTC_SINGLE_ROUNDING). Zero, NaN and
    infinity give (0, 0), which is what LiteRT computes for them. Negative multipliers
    (negative scales, which LiteRT's CONV_2D accepts) keep their sign.
    """
    if real_multiplier == 0.0 or not math.isfinite(real_multiplier):
        return 0, 0
    mantissa, shift = math.frexp(real_multiplier)  # same as C frexp on a double
    q_fixed = tflite_round(mantissa * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quantize_multipliers(real_multipliers) -> tuple[np.ndarray, np.ndarray]:
    """`quantize_multiplier` of every element (int32 multipliers, int32 shifts), vectorized
    with the same steps: frexp, round half away from zero of mantissa * 2^31, a mantissa
    that rounds to 2^31 halved, shifts below -31 and zero/NaN/inf multipliers -> (0, 0)."""
    real = np.asarray(real_multipliers, np.float64)
    q = np.zeros(real.shape, np.int64)
    shift = np.zeros(real.shape, np.int64)
    ok = (real != 0.0) & np.isfinite(real)
    mantissa, exponent = np.frexp(real[ok])
    scaled = mantissa * float(1 << 31)           # exact: a power-of-two product
    magnitude = np.abs(scaled)
    whole = np.floor(magnitude)
    whole += (magnitude - whole) >= 0.5          # exact, as in tflite_round
    fixed = np.where(scaled >= 0, whole, -whole).astype(np.int64)
    exponent = exponent.astype(np.int64)
    full = fixed == (1 << 31)
    fixed[full] //= 2
    exponent[full] += 1
    tiny = exponent < -31
    fixed[tiny] = 0
    exponent[tiny] = 0
    q[ok], shift[ok] = fixed, exponent
    return q.astype(np.int32), shift.astype(np.int32)


def quantize_multiplier_smaller_than_one(real_multiplier: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp: the shift is <= 0."""
    q, shift = quantize_multiplier(real_multiplier)
    assert shift <= 0, real_multiplier
    return q, shift


def effective_scale(input_scale: float, filter_scale: float, output_scale: float) -> float:
    """(double)s_in * (double)s_w / (double)s_out, in that order, with IEEE semantics
    (x / 0 is inf or NaN, not an exception), each scale first rounded to float32 as the
    .tflite stores it: TFLite's PopulateConvolutionQuantizationParams and the reference
    FULLY_CONNECTED's per-unit scale."""
    return float(effective_scales(input_scale, np.asarray([filter_scale]), output_scale)[0])


def effective_scales(input_scale: float, filter_scales, output_scale: float) -> np.ndarray:
    """`effective_scale` for each of `filter_scales` (float64 array), vectorized."""
    with np.errstate(all="ignore"):
        w = np.asarray(filter_scales, np.float64).astype(np.float32).astype(np.float64)
        return (np.float64(f32(input_scale)) * w) / np.float64(f32(output_scale))


def f32(x: float) -> float:
    """Round a Python double to float32, as C code that keeps the value in a float."""
    with np.errstate(over="ignore"):
        return float(np.float32(x))


def activation_range(activation: Activation, scale: float, zero_point: int,
                     qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized: q = zero_point + round(f / scale) in
    float. Where LiteRT's Prepare refuses the model (f / scale rounds outside the int32
    range, or is NaN: a zero output scale with RELU), a TinyconvError says so."""

    def quantize(value: float) -> int:
        with np.errstate(all="ignore"):
            ratio = float(np.float32(f32(value)) / np.float32(f32(scale)))
        rounded = float(tflite_round(ratio)) if math.isfinite(ratio) else ratio
        if not -(2.0**31) <= rounded <= 2.0**31:  # also NaN
            raise TinyconvError(
                f"{activation.name} on an output of scale {scale!r}: {value} / scale = "
                f"{ratio!r} overflows int32 (LiteRT refuses such a model)")
        return wrap_int32(zero_point + double_to_int32(rounded))

    if activation is Activation.RELU:
        return max(qmin, quantize(0.0)), qmax
    if activation is Activation.RELU6:
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation is Activation.RELU_N1_TO_1:
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    return qmin, qmax


def bias_scale_accepted(input_scale: float, filter_scale: float, bias_scale: float,
                        output_scale: float) -> bool:
    """LiteRT's check on a per-tensor FULLY_CONNECTED with a bias
    (GetQuantizedConvolutionMultipler): |s_in * s_w - s_bias| / s_out <= 0.02 in double,
    and s_in * s_w >= 0 in float. A bias without quantization has scale 0."""
    with np.errstate(all="ignore"):
        product = np.float64(f32(input_scale)) * np.float64(f32(filter_scale))
        ratio = abs(product - np.float64(f32(bias_scale))) / np.float64(f32(output_scale))
        float_product = np.float32(f32(input_scale)) * np.float32(f32(filter_scale))
    return bool(ratio <= 0.02) and bool(float_product >= 0)


# -- integer arithmetic, mirrors tc_nn_support.h ------------------------------------------

def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    """gemmlowp's SaturatingRoundingDoublingHighMul on int32 a and b."""
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    total = ab + nudge
    # C integer division truncates toward zero.
    q = abs(total) >> 31
    return q if total >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    """gemmlowp's RoundingDivideByPOT: x / 2^exponent, halves away from zero (0..31)."""
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLite's double-rounding MultiplyByQuantizedMultiplier on an int32 x:
    RoundingDivideByPOT(SaturatingRoundingDoublingHighMul(x * (1 << left_shift), q),
    right_shift), with `x * (1 << left_shift)` wrapping and the shift taken modulo 32."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    shifted = wrap_int32(x << (left & 31))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier),
                                  right)


def requantize_output(acc: int, multiplier: int, shift: int, output_offset: int,
                      act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> int:
    """One output of TFLite's reference CONV_2D / DEPTHWISE_CONV_2D / fixed-point
    FULLY_CONNECTED: scale the int32 accumulator, add the output offset (int32, wrapping),
    clamp to the activation range."""
    scaled = multiply_by_quantized_multiplier(wrap_int32(acc), multiplier, shift)
    return max(act_min, min(act_max, wrap_int32(scaled + output_offset)))


def requantize_output_f64(acc: int, scale: float, output_offset: int,
                          act_min: int = INT8_MIN, act_max: int = INT8_MAX) -> int:
    """One output of LiteRT's reference FULLY_CONNECTED, which requantizes in double:
    static_cast<int32_t>(round((double)acc * scale)) + output_offset, clamped. `scale` is
    `effective_scale(...)` of the unit."""
    with np.errstate(all="ignore"):
        product = float(np.float64(wrap_int32(acc)) * np.float64(scale))
    scaled = double_to_int32(float(tflite_round(product))) if math.isfinite(product) \
        else INT32_MIN
    return max(act_min, min(act_max, wrap_int32(scaled + output_offset)))


def accumulator_bounds(weights: np.ndarray, channel_axis: int, bias: np.ndarray | None,
                       input_zero_point: int, weight_zero_point: int = 0) -> np.ndarray:
    """Per output channel, the largest |acc| a conv-like op can reach on any int8 input:
    acc = bias + sum (w - w_zp) * (x - x_zp) over x in [-128, 127] (padded taps contribute
    0, fewer taps only lower the bound)."""
    w = np.moveaxis(np.asarray(weights, np.int64) - weight_zero_point, channel_axis, 0)
    w_abs = np.abs(w.reshape(w.shape[0], -1)).sum(axis=1)
    x_max = max(abs(INT8_MIN - input_zero_point), abs(INT8_MAX - input_zero_point))
    b = np.zeros(w.shape[0], np.int64) if bias is None else np.abs(np.asarray(bias, np.int64))
    return b + w_abs * x_max


def narrow_requantization(acc_bounds: np.ndarray, multipliers: np.ndarray,
                          shifts: np.ndarray, output_offset: int) -> bool:
    """Whether tc_requantize_narrow (firmware/kernels/include/tc_nn_simd.h) equals the
    general requantization for every accumulator within `acc_bounds`: |acc| < 2^30, a right
    shift e of 1..31 and no left shift, a non-negative multiplier, and
    |high| + |2^(e-1) + offset * 2^e| < 2^31 with high the doubling high product's bound.
    (The elementwise kernels check the same rule per call, tc_rq_narrow_ok, with e = 0
    allowed for their six-instruction form.)"""
    for bound, m, shift in zip(acc_bounds.tolist(), multipliers.tolist(), shifts.tolist()):
        right = -shift
        if bound >= 1 << 30 or not 1 <= right <= 31 or m < 0:
            return False
        high = (bound * m + (1 << 30)) >> 31
        add = (1 << right >> 1) + output_offset * (1 << right)
        if high + abs(add) >= 1 << 31:
            return False
    return True
