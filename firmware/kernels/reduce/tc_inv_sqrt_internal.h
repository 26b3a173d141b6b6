/*
 * tinyconv kernels: TFLite's GetInvSqrtQuantizedMultiplierExp(input, reverse_shift = -1),
 * 1/sqrt(input) as a Q0.31 multiplier and a left shift, by gemmlowp's Newton-Raphson in
 * Q3.28. Shared by L2_NORMALIZATION and the LSTM's integer layer normalization.
 */
#ifndef TC_INV_SQRT_INTERNAL_H
#define TC_INV_SQRT_INTERNAL_H

#include <stdint.h>

#include "tc_nn_support.h"

/* gemmlowp SaturatingRoundingMultiplyByPOT for a positive exponent (saturating shift). */
static inline int32_t tc_saturating_shl_s32(int32_t x, int32_t exponent)
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

/* input <= 1 (0 is invalid, 1 would overflow) gives INT32_MAX and shift 0, as in TFLite. */
static inline void tc_inv_sqrt_multiplier(int32_t input, int32_t *multiplier, int32_t *shift)
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
            tc_saturating_shl_s32(tc_doubling_high_mult(tc_doubling_high_mult(x, x), x), 6);
        /* Rescale<3>(half_three * x - half_input * x3): both products are Q6 */
        const uint32_t diff = (uint32_t)tc_doubling_high_mult(half_three, x) -
                              (uint32_t)tc_doubling_high_mult(half_input, x3);
        x = tc_saturating_shl_s32((int32_t)diff, 3);
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

#endif /* TC_INV_SQRT_INTERNAL_H */
