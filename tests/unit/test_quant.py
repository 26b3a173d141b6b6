"""tinyconv.quant against LiteRT BUILTIN_REF itself, exactly (no tolerance).

Single-op CONV_2D / DEPTHWISE_CONV_2D / FULLY_CONNECTED models (tests/support/
requant_cases.py) whose per-channel effective scales sweep the whole space TFLite allows
(multipliers above and below 1, shifts from +41 to -31 and the zero multiplier below,
exact halves, zero and denormal scales, accumulators that wrap) run through LiteRT, and
every output byte must equal the pure-Python evaluation with quant.py.
"""

import math

import numpy as np
import pytest
import requant_cases as rc
import tflite_builder as tb

from tinyconv import targets
from tinyconv.deploy import prepare
from tinyconv.errors import TinyconvError
from tinyconv.ir.ops import Activation
from tinyconv.ir.tflite_import import import_tflite
from tinyconv.quant import (INT32_MIN, accumulator_bounds, activation_range, double_to_int32,
                            effective_scale, multiply_by_quantized_multiplier,
                            narrow_requantization, quantize_multiplier, tflite_round,
                            wrap_int32)
from tinyconv.reference import litert_outputs


def _assert_litert_equals_quant_py(case: rc.Case) -> bool:
    """Every output byte of LiteRT equals quant.py's; or LiteRT refuses the model and so
    does tinyconv. True when LiteRT ran it."""
    x = rc.all_codes(case)
    model = rc.build(case)
    try:
        got = litert_outputs(model, [[x]])[0][0]
    except TinyconvError as exc:
        assert "LiteRT cannot load" in str(exc)
        with pytest.raises(TinyconvError):
            prepare(import_tflite(model), targets.get_board("host"))
        return False
    want = rc.expected(case, x)
    bad = np.argwhere(got.reshape(256, -1) != want.reshape(256, -1))
    assert len(bad) == 0, (
        f"{case.op} in {case.input_quant} out {case.output_quant}: {len(bad)} of {got.size} "
        f"differ, first at (pixel, channel) {tuple(bad[0])}: "
        f"{case.channels[bad[0][1]]}, LiteRT {got.reshape(256, -1)[tuple(bad[0])]}, "
        f"quant.py {want.reshape(256, -1)[tuple(bad[0])]}")
    return True


@pytest.mark.parametrize("op", rc.OPS)
def test_requantization_sweep_matches_litert_exactly(op):
    """A sixth of the sweep's channels per scale frame (each frame a different sixth, so the
    frames together cover every effective scale); the slow test runs all of them."""
    for case in rc.sweep_cases(op, seed=1, stride=6, activations=("NONE", "RELU", "RELU6")):
        assert _assert_litert_equals_quant_py(case)


@pytest.mark.parametrize("op", rc.OPS)
def test_random_requantization_matches_litert_exactly(op):
    ran = [_assert_litert_equals_quant_py(case) for case in rc.random_cases(op, n=8, seed=7)]
    assert sum(ran) >= 5


@pytest.mark.slow
@pytest.mark.parametrize("op", rc.OPS)
def test_full_requantization_sweep_matches_litert_exactly(op):
    for case in rc.sweep_cases(op, seed=2, activations=tuple(tb.ACTIVATIONS)):
        assert _assert_litert_equals_quant_py(case)
    ran = [_assert_litert_equals_quant_py(case) for case in rc.random_cases(op, n=60, seed=8)]
    assert sum(ran) >= 40


def test_the_sweep_reaches_every_corner():
    """The cases above really contain what they claim (else they would test less)."""
    shifts = set()
    for case in rc.sweep_cases("CONV_2D", stride=6):
        s_in, s_out = case.input_quant[0], case.output_quant[0]
        for ch in case.channels:
            shifts.add(quantize_multiplier(effective_scale(s_in, ch.scale, s_out)))
    exponents = {s for q, s in shifts if q != 0}
    assert set(range(-31, 32)) <= exponents and max(exponents) >= 40  # 1 << 40 & 31 ...
    assert (0, 0) in shifts  # zero scales and shifts below -31
    assert any(q == 2**30 for q, _ in shifts)  # mantissa 0.5: exact halves
    assert (2**31 - 26, 0) in shifts  # NEAR_ONE: result + output_offset wraps


# -- LiteRT's refusals are tinyconv's refusals ----------------------------------------------

def _one_channel(op: str, s_in: float, s_w: float, s_out: float, activation: str = "NONE",
                 per_channel: bool = True) -> rc.Case:
    return rc.Case(op, (s_in, 0), (s_out, 0), (rc.Channel(3, 5, s_w), rc.Channel(-7, 0, s_w)),
                   per_channel=per_channel, activation=activation)


@pytest.mark.parametrize("case", [
    # zero output scale: the per-tensor FULLY_CONNECTED's bias-scale check divides by it
    _one_channel("FULLY_CONNECTED", 1.0, 0.5, 0.0, per_channel=False),
    # s_in * s_w overflows float32
    _one_channel("FULLY_CONNECTED", 3e38, 3e38, 1e-45, per_channel=False),
    # a bias scale 1e-6 off s_in * s_w, with an effective scale of 2^20
    rc.Case("FULLY_CONNECTED", (1.0, 0), (2.0**-20, 0), (rc.Channel(3, 5, 1.0),),
            per_channel=False, bias_scale_error=1e-6),
    # 6 / s_out and 1 / s_out overflow int32; 0 / 0 is NaN
    _one_channel("CONV_2D", 1.0, 0.5, 1e-42, "RELU6"),
    _one_channel("DEPTHWISE_CONV_2D", 1.0, 0.5, 1e-42, "RELU_N1_TO_1"),
    _one_channel("CONV_2D", 1.0, 0.5, 0.0, "RELU"),
], ids=["fc-zero-output-scale", "fc-float-overflow", "fc-bias-scale-off", "conv-relu6-overflow",
        "dw-relu-n1-overflow", "conv-relu-zero-scale"])
def test_what_litert_refuses_tinyconv_refuses(case):
    assert _assert_litert_equals_quant_py(case) is False


@pytest.mark.parametrize("case", [
    # a zero output scale without activation: LiteRT computes multiplier 0 (output = zp)
    _one_channel("CONV_2D", 1.0, 0.5, 0.0),
    _one_channel("DEPTHWISE_CONV_2D", 1.0, 0.5, 0.0),
    # RELU on a denormal output scale: 0 / s_out is fine
    _one_channel("FULLY_CONNECTED", 1.0, 0.5, 1e-42, "RELU"),
], ids=["conv-zero-output-scale", "dw-zero-output-scale", "fc-relu-denormal-output"])
def test_what_litert_accepts_at_the_edges_matches(case):
    assert _assert_litert_equals_quant_py(case) is True


# -- the pieces, on values whose answer is known ---------------------------------------------

def test_round_half_away_from_zero_exactly():
    assert [tflite_round(x) for x in (0.5, 1.5, 2.5, -0.5, -2.5, 2.49)] == [1, 2, 3, -1, -3, 2]
    # floor(x + 0.5) would give 1: the sum rounds up in double
    assert tflite_round(0.49999999999999994) == 0
    assert tflite_round(-0.49999999999999994) == 0
    assert tflite_round(2.0**52 + 1) == 2**52 + 1


def test_quantize_multiplier_corners():
    assert quantize_multiplier(0.0) == (0, 0)
    assert quantize_multiplier(2.0**-32) == (2**30, -31)            # the last shift kept
    assert quantize_multiplier(2.0**-32 * 0.999) == (0, 0)          # shift -32: zero
    assert quantize_multiplier(1.0) == (2**30, 1)
    assert quantize_multiplier(1 - 2.0**-33) == (2**30, 1)          # rounds up to 2^31
    assert quantize_multiplier(2.0**40) == (2**30, 41)              # no cap at 30
    assert quantize_multiplier(float("inf")) == (0, 0)
    assert quantize_multiplier(float("nan")) == (0, 0)
    q, shift = quantize_multiplier(0.3)
    assert q * 2.0 ** (shift - 31) == pytest.approx(0.3, rel=2**-31)


def test_left_shift_wraps_modulo_32_as_litert():
    q, shift = quantize_multiplier(12.0)  # 0.75 * 2^4: (3 * 2^29, 4)
    assert (q, shift) == (3 * 2**29, 4)
    assert multiply_by_quantized_multiplier(3, q, shift) == 36
    # (2^28 + k) * 2^4 wraps to k * 2^4
    assert multiply_by_quantized_multiplier(2**28, q, shift) == 0
    assert multiply_by_quantized_multiplier(2**28 + 1, q, shift) == 12
    q, shift = quantize_multiplier(1.5 * 2**32)  # 0.75 * 2^33: 1 << 33 is 1 << 1 on x86
    assert shift == 33 and multiply_by_quantized_multiplier(10, q, shift) == 15


def test_int32_corners():
    assert wrap_int32(2**31) == INT32_MIN and wrap_int32(-(2**31) - 1) == 2**31 - 1
    assert double_to_int32(2.0**31) == INT32_MIN and double_to_int32(-(2.0**31)) == INT32_MIN
    assert double_to_int32(float("nan")) == INT32_MIN and double_to_int32(-7.9) == -7
    assert effective_scale(1.0, 1.0, 0.0) == math.inf
    assert math.isnan(effective_scale(0.0, 1.0, 0.0))


def test_activation_ranges():
    assert activation_range(Activation.NONE, 0.1, 3) == (-128, 127)
    assert activation_range(Activation.RELU, 0.1, -5) == (-5, 127)
    assert activation_range(Activation.RELU6, 0.05, -128) == (-128, -8)
    assert activation_range(Activation.RELU6, 0.01, -128) == (-128, 127)


def _narrow(acc: int, multiplier: int, shift: int, output_offset: int) -> int:
    """tc_requantize_narrow (tc_nn_simd.h) step for step: SMMULR of 2 acc, then the
    rounding shift with the output offset folded into the added constant."""
    right = -shift
    x = (2 * acc * multiplier + (1 << 31)) >> 32
    add = (1 << right >> 1) + output_offset * (1 << right)
    total = x + (x >> 31) + add
    assert -(1 << 31) <= total < (1 << 31)  # the int32 sum never overflows
    return total >> right


def test_narrow_requantization_equals_tflite_where_the_generator_allows_it():
    rng = np.random.default_rng(7)
    checked = 0
    for _ in range(3000):
        right = int(rng.integers(1, 32))
        multiplier = int(rng.choice([1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31))]))
        offset = int(rng.integers(-128, 128))
        bound = int(rng.choice([(1 << 30) - 1, int(rng.integers(0, 1 << 30)),
                                int(rng.integers(0, 1 << 20))]))
        if not narrow_requantization(np.array([bound]), np.array([multiplier]),
                                     np.array([-right]), offset):
            continue
        accs = [bound, -bound, 0, 1, -1] + rng.integers(-bound, bound + 1, 40).tolist()
        # Ties of the rounding shift, where the two roundings could disagree.
        half = 1 << right >> 1
        accs += [a for a in (half, -half, 3 * half, -3 * half) if abs(a) <= bound]
        for acc in accs:
            want = wrap_int32(multiply_by_quantized_multiplier(acc, multiplier, -right) + offset)
            assert _narrow(acc, multiplier, -right, offset) == want, (acc, multiplier, right)
            checked += 1
    assert checked > 10_000


def test_narrow_requantization_refuses_what_it_cannot_hold():
    m = np.array([1 << 30])
    assert narrow_requantization(np.array([(1 << 30) - 1]), m, np.array([-8]), 0)
    assert not narrow_requantization(np.array([1 << 30]), m, np.array([-8]), 0)  # |acc|
    assert not narrow_requantization(np.array([100]), m, np.array([0]), 0)  # no right shift
    assert not narrow_requantization(np.array([100]), m, np.array([3]), 0)  # left shift
    assert not narrow_requantization(np.array([100]), m, np.array([-25]), 127)  # offset << 25
    w = np.array([[1, -2], [3, 4]], np.int8)  # two channels on axis 0
    assert accumulator_bounds(w, 0, np.array([-5, 0]), input_zero_point=-128).tolist() == \
        [5 + 3 * 255, 7 * 255]

def test_vectorized_multipliers_equal_the_scalar_ones():
    """quantize_multipliers / effective_scales (what lowering uses per channel) give exactly
    quantize_multiplier / effective_scale of every element, edge cases included."""
    import math

    import numpy as np

    from tinyconv.quant import (effective_scale, effective_scales, quantize_multiplier,
                                quantize_multipliers)
    rng = np.random.default_rng(0)
    reals = np.concatenate([rng.lognormal(0, 20, 5000) * rng.choice([-1, 1], 5000),
                            [0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, 0.5, 2.0**-31, 2.0**-32,
                             1 - 2.0**-40, 0.49999999999999994, 5e-324, 1e300]])
    mults, shifts = quantize_multipliers(reals)
    assert [quantize_multiplier(float(r)) for r in reals] == list(zip(mults.tolist(), shifts.tolist()))
    scales = np.concatenate([rng.lognormal(-5, 3, 500), [0.0, 1e39, np.nan, 3.5e38]])
    for s_in, s_out in ((0.02, 0.05), (1e-3, 0.0), (3e38, 1e-40)):
        got = effective_scales(s_in, scales, s_out)
        with np.errstate(all="ignore"):  # the definition, in float32-rounded doubles
            want = [float(np.float64(np.float32(s_in)) * np.float64(np.float32(w))
                          / np.float64(np.float32(s_out))) for w in scales]
        assert effective_scale(s_in, float(scales[0]), s_out) == want[0]
        assert all(a == b or (math.isnan(a) and math.isnan(b)) for a, b in zip(got, want))
