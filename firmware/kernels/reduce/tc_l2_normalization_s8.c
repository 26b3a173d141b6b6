/*
 * L2_NORMALIZATION, int8: LiteRT's reference_integer_ops::L2Normalization. Per row of
 * `depth` values:
 *   acc = sum of (x - input_zp)^2                                           (int32)
 *   (M, S) = GetInvSqrtQuantizedMultiplierExp(acc, reverse_shift -1): 1/sqrt(acc) as a
 *            Q0.31 multiplier and a shift, by Newton-Raphson in Q3.28
 *   out = clamp(MultiplyByQuantizedMultiplier(x - input_zp, M, S + 7), -128, 127)
 * (output scale 1/128, zero point 0). acc <= 1 (an all-zero row) gives M = INT32_MAX,
 * S = 0, as in LiteRT. The input is read twice, the output written once per value after
 * the row's sum, so the output may overwrite the input.
 */
#include "tc_nn_reduce.h"
#include "tc_nn_support.h"

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent (saturating shift). */
static int32_t tc_l2_saturating_shl(int32_t x, int32_t exponent)
{
    const int32_t threshold = (int32_t)((1u << (31 - exponent)) - 1);
    if (x > threshold) {
        return INT32_MAX;
    }
    if (x < -threshold) {
        return INT32_MIN;
    }
    return (int32_t)((uint32_t)x << exponent);
}

/* TFLite's GetInvSqrtQuantizedMultiplierExp(input, reverse_shift = -1). */
static void tc_l2_inv_sqrt(int32_t input, int32_t *multiplier, int32_t *shift)
{
    if (input <= 1) {
        *multiplier = INT32_MAX;
        *shift = 0;
        return;
    }
    int32_t out_shift = 11;
    while (input >= (1 << 29)) {
        input /= 4;
        ++out_shift;
    }
    const uint32_t max_left_shift_bits = (uint32_t)__builtin_clz((uint32_t)input) - 1u;
    const uint32_t left_shift_bit_pairs = max_left_shift_bits / 2u - 1u;
    out_shift -= (int32_t)left_shift_bit_pairs;
    input = (int32_t)((uint32_t)input << (2u * left_shift_bit_pairs));
    /* Q3.28 */
    const int32_t fixed_input = input >> 1;
    const int32_t half_input = tc_divide_by_power_of_two(fixed_input, 1);
    const int32_t half_three = (1 << 28) + (1 << 27);
    int32_t x = 1 << 28; /* 1.0 */
    for (int i = 0; i < 5; ++i) {
        /* x * x * x is Q9 (Q3 x Q3 x Q3); Rescale<3> multiplies it by 2^6, saturating */
        const int32_t x3 =
            tc_l2_saturating_shl(tc_doubling_high_mult(tc_doubling_high_mult(x, x), x), 6);
        /* Rescale<3>(half_three * x - half_input * x3): both products are Q6 */
        const uint32_t diff = (uint32_t)tc_doubling_high_mult(half_three, x) -
                              (uint32_t)tc_doubling_high_mult(half_input, x3);
        x = tc_l2_saturating_shl((int32_t)diff, 3);
    }
    const int32_t half_sqrt_2 = 1518500250; /* sqrt(2) / 2 in Q0.31 */
    x = tc_doubling_high_mult(x, half_sqrt_2); /* Q3 x Q0 -> Q3 */
    if (out_shift < 0) {
        x = (int32_t)((uint32_t)x << -out_shift);
        out_shift = 0;
    }
    *multiplier = x;
    *shift = -out_shift;
}

tc_status tc_l2_normalization_s8(int32_t input_offset, int32_t rows, int32_t depth,
                                 const int8_t *input, int8_t *output)
{
    if (input == NULL || output == NULL || rows < 0 || depth < 1) {
        TC_RETURN_ARG_ERROR();
    }
    for (int32_t r = 0; r < rows; ++r, input += depth, output += depth) {
        int32_t acc = 0;
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t v = input[c] + input_offset;
            acc += v * v;
        }
        int32_t multiplier, shift;
        tc_l2_inv_sqrt(acc, &multiplier, &shift);
        for (int32_t c = 0; c < depth; ++c) {
            const int32_t y = tc_requantize(input[c] + input_offset, multiplier, shift + 7);
            output[c] = (int8_t)TC_CLAMP(y, INT8_MIN, INT8_MAX);
        }
    }
    return TC_OK;
}
