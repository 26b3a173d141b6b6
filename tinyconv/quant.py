"""TFLite's fixed-point quantization arithmetic, reproduced exactly in Python.

Codegen precomputes every multiplier and shift here, on the host, with the same double
arithmetic as TFLite's `QuantizeMultiplier` (tensorflow/lite/kernels/internal/
quantization_util.cc), so the firmware only does integer work. The integer functions
(`multiply_by_quantized_multiplier` ...) mirror firmware/kernels/include/tc_nn_support.h
and exist for tests and for reasoning about kernels in Python.
"""

from __future__ import annotations

import math

import numpy as np

from .ir.ops import Activation

INT8_MIN, INT8_MAX = -128, 127
INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1


def tflite_round(x: float) -> int:
    """std::round: halves go away from zero (Python's round() goes to even)."""
    return int(math.floor(abs(x) + 0.5)) * (1 if x >= 0 else -1)


def quantize_multiplier_unclamped(real_multiplier: float) -> tuple[int, int]:
    """QuantizeMultiplier as LiteRT's double-rounding path builds it: no cap on large shifts."""
    if real_multiplier == 0.0:
        return 0, 0
    mantissa, shift = math.frexp(real_multiplier)  # same as C frexp on a double
    q_fixed = tflite_round(mantissa * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return int(q_fixed), int(shift)


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """(q31 multiplier, shift) with real = q * 2**(shift - 31), as TFLite computes it."""
    q_fixed, shift = quantize_multiplier_unclamped(real_multiplier)
    if shift > 30:
        return (1 << 31) - 1, 30
    return q_fixed, shift


def quantize_multiplier_smaller_than_one(real_multiplier: float) -> tuple[int, int]:
    """TFLite's QuantizeMultiplierSmallerThanOneExp: the shift is <= 0."""
    q, shift = quantize_multiplier(real_multiplier)
    assert shift <= 0, real_multiplier
    return q, shift


def f32(x: float) -> float:
    """Round a Python double to float32, as C code that keeps the value in a float."""
    return float(np.float32(x))


def activation_range(activation: Activation, scale: float, zero_point: int,
                     qmin: int = INT8_MIN, qmax: int = INT8_MAX) -> tuple[int, int]:
    """TFLite's CalculateActivationRangeQuantized (float division, std::round)."""

    def quantize(value: float) -> int:
        return zero_point + tflite_round(f32(f32(value) / f32(scale)))

    if activation is Activation.RELU:
        return max(qmin, quantize(0.0)), qmax
    if activation is Activation.RELU6:
        return max(qmin, quantize(0.0)), min(qmax, quantize(6.0))
    if activation is Activation.RELU_N1_TO_1:
        return max(qmin, quantize(-1.0)), min(qmax, quantize(1.0))
    return qmin, qmax


# -- integer arithmetic, mirrors tc_nn_support.h ------------------------------------------

def saturating_rounding_doubling_high_mul(a: int, b: int) -> int:
    if a == b == INT32_MIN:
        return INT32_MAX
    ab = a * b
    nudge = (1 << 30) if ab >= 0 else (1 - (1 << 30))
    total = ab + nudge
    # C integer division truncates toward zero.
    q = abs(total) >> 31
    return q if total >= 0 else -q


def rounding_divide_by_pot(x: int, exponent: int) -> int:
    mask = (1 << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


def multiply_by_quantized_multiplier(x: int, multiplier: int, shift: int) -> int:
    """TFLite's double-rounding MultiplyByQuantizedMultiplier."""
    left = shift if shift > 0 else 0
    right = 0 if shift > 0 else -shift
    shifted = max(INT32_MIN, min(INT32_MAX, x * (1 << left)))
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)
