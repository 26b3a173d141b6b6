"""tinyconv.quant against LiteRT's own arithmetic, seen through a real model."""

import math

import numpy as np
import pytest

from tinyconv.ir.ops import Activation
from tinyconv.quant import (activation_range, multiply_by_quantized_multiplier,
                            quantize_multiplier, tflite_round)


def test_round_half_away_from_zero():
    assert [tflite_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 2.49)] == [1, 2, 3, -1, -3, 2]


@pytest.mark.parametrize("real", [1e-9, 3e-5, 0.0123, 0.4999999, 0.5, 0.75, 1.0, 1.9999999, 7.3])
def test_quantize_multiplier_represents_the_real_value(real):
    q, shift = quantize_multiplier(real)
    assert 2**30 <= q < 2**31
    assert math.isclose(q * 2.0 ** (shift - 31), real, rel_tol=2**-30)


def test_multiplier_rounding_matches_exact_rational_rounding_for_positive_values():
    rng = np.random.default_rng(0)
    for _ in range(2000):
        real = float(rng.uniform(1e-4, 0.9))
        x = int(rng.integers(-2**20, 2**20))
        q, shift = quantize_multiplier(real)
        got = multiply_by_quantized_multiplier(x, q, shift)
        exact = x * q * 2.0 ** (shift - 31)
        assert abs(got - exact) <= 0.5 + 1e-9 or abs(got - exact) <= 1  # double rounding


def test_activation_ranges():
    assert activation_range(Activation.NONE, 0.1, 3) == (-128, 127)
    assert activation_range(Activation.RELU, 0.1, -5) == (-5, 127)
    assert activation_range(Activation.RELU6, 0.05, -128) == (-128, -8)
    assert activation_range(Activation.RELU6, 0.01, -128) == (-128, 127)
